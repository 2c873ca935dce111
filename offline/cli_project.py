"""`Pulumi.yaml` as the Pulumi CLI loads it (pulumi/pulumi v3.259.0, sdk/go/common/workspace).

loaders.go `LoadProjectBytes`: decode (yaml.v3), `ValidateProject` (a non-empty string `name`, then
Pulumi's project schema, project.json, kept with its digest in offline/schemas/), the rewrites
(`RewriteConfigPathIntoStackConfigDir`, `RewriteShorthandConfigValues`) and `Project.Validate`
(all in project.go). Sources and scope: offline/pulumi_cli.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in requirements-offline.txt

from offline import go_yaml
from offline.cli_values import (
    INT64_MAX,
    INT64_MIN,
    CliConfigError,
    ItemsType,
    full_type_name,
    project_data,
    simplified,
    valid_config_value,
)

PULUMI_TAG = "v3.259.0"
PULUMI_COMMIT = "0ac56e876614aedf12771d73ef7e80959b8a6fd4"
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "pulumi-project.json"
SCHEMA_SHA256 = "55b50752803a9b595675fa3119e710f91e907821deef1674e9e25e7b5ebc5daf"
"""sha256 of sdk/go/common/workspace/project.json at PULUMI_TAG (offline/schemas/README.md)."""


@dataclass(frozen=True)
class ConfigType:
    """workspace.ProjectConfigType: one entry of `config:` in `Pulumi.yaml` after the rewrites."""

    type: str | None
    items: ItemsType | None
    default: Any
    value: Any
    secret: bool

    @property
    def has_default(self) -> bool:  # `projectConfigType.Default != nil`: `default: null` is no default
        return self.default is not None

    @property
    def has_value(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Project:
    name: str
    config: Mapping[str, ConfigType]
    stack_config_dir: str


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def closest_key(needle: str, haystack: Mapping[str, Any], max_distance: int = 2) -> str:
    """project.go `findClosestKey` (case-insensitive edit distance, at most 2, first alphabetically)."""
    match, closest = "", max_distance + 1
    for key in sorted(haystack):
        distance = levenshtein(needle.lower(), key.lower())
        if distance == 0:
            return key
        if distance < closest:
            match, closest = key, distance
    return match


def multierror(errors: list[str]) -> str:
    """hashicorp/go-multierror's ListFormatFunc."""
    if len(errors) == 1:
        return f"1 error occurred:\n\t* {errors[0]}\n\n"
    return f"{len(errors)} errors occurred:\n\t" + "\n\t".join(f"* {e}" for e in errors) + "\n\n"


@cache
def project_schema() -> dict[str, Any]:
    """Pulumi's project schema (project.json at PULUMI_TAG), after checking the copy's digest."""
    data = SCHEMA_FILE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SCHEMA_SHA256:
        raise RuntimeError(f"{SCHEMA_FILE} has sha256 {digest}, not {SCHEMA_SHA256} (offline/schemas/README.md)")
    schema: dict[str, Any] = json.loads(data)
    return schema


def schema_errors(doc: Any) -> list[tuple[str, str]]:
    """(instance location, message) of each failure of `doc` against the project schema, causes
    after the failure they explain, as project.go `ValidateProject` lists them. The locations are the
    CLI's; the messages are the Python jsonschema library's words, not santhosh-tekuri/jsonschema's."""
    validator = jsonschema.Draft202012Validator(project_schema())
    found: list[tuple[str, str]] = []

    def add(error: Any) -> None:
        found.append(("/" + "/".join(str(p) for p in error.absolute_path), error.message))
        for cause in sorted(error.context or (), key=lambda e: [str(p) for p in e.absolute_path]):
            add(cause)

    for error in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        add(error)
    return found


def _key_of_location(location: str) -> str:
    parts = location.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "config" else "Pulumi.yaml"


def validate_project(raw: Any, path: str) -> None:
    """project.go `ValidateProject`, wrapped as loaders.go does: "could not validate '%s': %w"."""
    project = simplified(raw, "Pulumi.yaml")
    if "name" not in project:
        closest = closest_key("name", project)
        # Go: "project is missing a 'name' attribute; found '%s' instead" / "project is missing a 'name' attribute"
        detail = f"; found '{closest}' instead" if closest else ""
        raise CliConfigError("name", f"could not validate '{path}': project is missing a 'name' attribute{detail}")
    if not isinstance(project["name"], str) or not project["name"]:
        # Go: "project is missing a non-empty string 'name' attribute"
        message = "project is missing a non-empty string 'name' attribute"
        raise CliConfigError("name", f"could not validate '{path}': {message}")
    errors = schema_errors(project_data(project))
    if errors:
        # Go: errorf("#"+err.InstanceLocation, "%v", msg) for each failure and cause with a location
        listed = [f"#{location}: {message}" for location, message in errors if location != "/" and message]
        listed = listed or [f"#/: {errors[0][1]}"]
        key = next((_key_of_location(loc) for loc, _ in errors if loc.startswith("/config/")), "Pulumi.yaml")
        raise CliConfigError(key, f"could not validate '{path}': {multierror(listed)}")


def _rewrite(project: dict[str, Any]) -> dict[str, Any]:
    """project.go `RewriteConfigPathIntoStackConfigDir` and `RewriteShorthandConfigValues`."""
    config = project.get("config")
    if isinstance(config, str):
        if "stackConfigDir" in project:
            # Go: errors.New("Should not use both config and stackConfigDir to define the stack directory. " +
            #     "Use only stackConfigDir instead.")
            raise CliConfigError(
                "config",
                "Should not use both config and stackConfigDir to define the stack directory. "
                "Use only stackConfigDir instead.",
            )
        project = {**project, "stackConfigDir": config, "config": None}
    config = project.get("config")
    if isinstance(config, dict):
        name = project["name"]
        rewritten: dict[str, Any] = {}
        for key, spec in config.items():
            primitive = isinstance(spec, str | bool | list) or (
                isinstance(spec, int) and INT64_MIN <= spec <= INT64_MAX
            )
            if primitive:
                rewritten[key] = {"default": spec} if namespaced_by_project(name, key) else {"value": spec}
            else:
                rewritten[key] = spec
        project = {**project, "config": rewritten}
    return project


def namespaced_by_project(project: str, key: str) -> bool:
    """project.go `configKeyIsNamespacedByProject`."""
    return ":" not in key or key.startswith(project + ":")


def _items(spec: Any) -> ItemsType | None:
    if not isinstance(spec, dict):
        return None
    return ItemsType(str(spec.get("type", "")), _items(spec.get("items")))


def check_project(project: Project, path: str) -> None:
    """project.go `Project.Validate`, wrapped as loaders.go does: "could not unmarshal '%s': %w".
    The CLI walks a Go map (any order); keys are checked here in sorted order."""

    def refuse(key: str, message: str) -> CliConfigError:
        return CliConfigError(key, f"could not unmarshal '{path}': {message}")

    for key in sorted(project.config):
        spec = project.config[key]
        if spec.has_default and spec.has_value:
            # Go: "project config '%v' cannot have both a 'default' and 'value' attribute"
            raise refuse(key, f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if namespaced_by_project(project.name, key):
            if spec.type == "array" and spec.items is None:
                # Go: "The configuration key '%v' declares an array " +
                #     "but does not specify the underlying type via the 'items' attribute"
                raise refuse(
                    key,
                    f"The configuration key '{key}' declares an array "
                    "but does not specify the underlying type via the 'items' attribute",
                )
            if (
                spec.type is not None
                and spec.has_default
                and not valid_config_value(spec.type, spec.items, spec.default)
            ):
                # Go: "The default value specified for configuration key '%v' is not of the expected type '%v'"
                raise refuse(
                    key,
                    f"The default value specified for configuration key '{key}' is not of the expected type "
                    f"'{full_type_name(spec.type, spec.items)}'",
                )
        else:
            if spec.type is not None:
                # Go: "Configuration key '%v' is not namespaced by the project and should not define a type"
                raise refuse(
                    key, f"Configuration key '{key}' is not namespaced by the project and should not define a type"
                )
            if spec.has_default:
                # Go: "Configuration key '%v' is not namespaced by the project and " +
                #     "should not define a default value. " +
                #     "Did you mean to use the 'value' attribute instead of 'default'?"
                raise refuse(
                    key,
                    f"Configuration key '{key}' is not namespaced by the project and should not define a default "
                    "value. Did you mean to use the 'value' attribute instead of 'default'?",
                )
            if not spec.has_value:
                # Go: "Configuration key '%v' is namespaced and must provide an attribute 'value'"
                raise refuse(key, f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")


def parse_project(text: str, path: str) -> Project:
    """loaders.go `LoadProjectBytes`: decode, `ValidateProject`, the rewrites, `Project.Validate`."""
    try:
        raw = go_yaml.load(text)
    except go_yaml.GoYamlError as err:
        # Go: fmt.Errorf("could not unmarshal '%s': %w", path, err)
        raise CliConfigError("Pulumi.yaml", f"could not unmarshal '{path}': {err.as_marshaller_error()}") from None
    validate_project(raw, path)
    doc = _rewrite(raw)
    config: dict[str, ConfigType] = {}
    for key, spec in (doc.get("config") or {}).items():
        spec = spec or {}
        config[key] = ConfigType(
            type=spec.get("type"),
            items=_items(spec.get("items")),
            default=spec.get("default"),
            value=spec.get("value"),
            secret=bool(spec.get("secret", False)),
        )
    project = Project(doc["name"], config, doc.get("stackConfigDir") or "")
    check_project(project, path)
    return project


@cache
def _parse_project_cached(text: str, path: str) -> Project:
    return parse_project(text, path)


def load_project(path: Path) -> Project:
    """`Pulumi.yaml` at `path` as the CLI loads it (parsed once per content)."""
    return _parse_project_cached(path.read_text(), str(path))
