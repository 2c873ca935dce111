"""The Pulumi CLI's own rules for `Pulumi.yaml` and a stack's config, applied before a program runs.

Offline only: `pulumi preview` / `up` apply these themselves. Read in pulumi/pulumi at tag v3.259.0
(commit 0ac56e876614aedf12771d73ef7e80959b8a6fd4). requirements.txt pins the SDK at 3.272.x, whose
tag the snapshot available here lacks; v3.259.0 is the newest tag in it, and the files below are
unchanged from it to the snapshot's head (2026-08-21, 3.260.0-dev) except for tests. Where:

- loading `Pulumi.yaml`: sdk/go/common/workspace/loaders.go `LoadProjectBytes`, which runs
  `ValidateProject` (a non-empty string `name`, then the JSON schema project.json, kept in
  offline/schemas/), `RewriteConfigPathIntoStackConfigDir`, `RewriteShorthandConfigValues` and
  `Project.Validate` (all in sdk/go/common/workspace/project.go);
- loading a stack file: loaders.go `LoadProjectStackBytes` (`stackConfigNamespacedWithProject`
  prefixes keys without a namespace with the project's name), config.Map `UnmarshalYAML` and
  `ParseKey` (sdk/go/common/resource/config/map.go, key.go), values as config.Value
  (value.go, object.go: `unmarshalObject`, `MarshalString`, `isSecureValue`);
- before every preview, up, refresh, destroy, import and watch (pkg/cmd/pulumi/operations/*.go,
  "validating stack config: %w"): pkg/workspace/config.go `ValidateStackConfigAndApplyProjectConfig`
  -> `mergeConfig` (project defaults and `value`s onto the stack, then the missing required keys),
  `validateStackConfigValues` -> `validateStackConfigValue` (secret keys must be encrypted, then
  `workspace.ValidateConfigValue` against the declared type).

Each refusal carries the CLI's own text; the Go format string is quoted beside it. Not reproduced:
ESC environments (this project uses none) and property paths in project keys (`a.b`: none here).
A stack file's `secure:` ciphertext cannot be decrypted here; its ciphertext stands in for the
plaintext (enough for a string-typed secret, the only kind this project has).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from offline import go_yaml
from offline.cli_project import ConfigType, Project
from offline.cli_values import (
    CliConfigError,
    ConfigValue,
    default_value,
    full_type_name,
    go_percent_s,
    go_type,
    non_string_key,
    simplified,
    stack_value,
    valid_config_value,
)

# ----------------------------------------------------------------------------- stack files

Key = tuple[str, str]
"""A config key: (namespace, name)."""


def parse_key(text: str) -> Key:
    """key.go `ParseKey`: `<namespace>:<name>`, or the old `<namespace>:config:<name>`."""
    parts = text.split(":")
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 3 and parts[1] == "config" and all(parts):
        return parts[0], parts[2]
    # Go: fmt.Errorf("could not parse %s as a configuration key "+
    #     "(configuration keys should be of the form `<namespace>:<name>`)", s)
    raise CliConfigError(
        text,
        f"could not parse {text} as a configuration key "
        "(configuration keys should be of the form `<namespace>:<name>`)",
    )


def project_key(project: str, key: str) -> Key:
    """pkg/workspace/config.go `parseConfigKey`: a key without a namespace is the project's."""
    return parse_key(key) if ":" in key else (project, key)


LOADING = "getting stack configuration: "
"""How `pulumi preview` / `up` wrap an error loading the stack file (operations/preview.go, up.go)."""
MAP = "invalid YAML file: could not unmarshal map: "
"""config.Map `UnmarshalYAML`'s wrap ("could not unmarshal map: %w"), under the YAML marshaller's."""


def parse_stack_file(
    text: str, project: Project, path: str, duplicates: list[str] | None = None
) -> dict[Key, ConfigValue]:
    """loaders.go `LoadProjectStackBytes`: each key namespaced, each value a config.Value. With
    `duplicates`, a key defined twice is added there instead of refused (go_yaml.load)."""
    try:
        raw = go_yaml.load(text, duplicates)
    except go_yaml.GoYamlError as err:
        raise CliConfigError("stack", LOADING + err.as_marshaller_error(), err.line, err.column) from None
    if raw is None:
        return {}
    config = raw.get("config") if isinstance(raw, dict) else None
    for name, value in config.items() if isinstance(config, dict) and isinstance(raw, dict) else ():
        if isinstance(name, str) and non_string_key(value) is not None:  # name the key at fault
            message = f"expected only string keys, got '{go_percent_s(non_string_key(value))}'"
            raise CliConfigError(name.split(":")[-1], LOADING + message)
    try:
        doc = simplified(raw, "stack")
    except CliConfigError as err:
        raise CliConfigError(err.key, LOADING + str(err)) from None
    config = doc.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise CliConfigError("stack", f"{LOADING}{MAP}yaml: config is a {go_type(config)}, not a map")
    values: dict[Key, ConfigValue] = {}
    written: dict[Key, str] = {}
    for name, raw_value in config.items():
        try:
            key = parse_key(name if ":" in name else f"{project.name}:{name}")
        except CliConfigError as err:
            raise CliConfigError(err.key, LOADING + MAP + str(err)) from None
        if key in written:
            # The CLI keeps one of the two at random (a Go map); refused here, naming both spellings.
            raise CliConfigError(key[1], f"{path}: '{written[key]}' and '{name}' set the same configuration key")
        written[key] = name
        try:
            values[key] = stack_value(raw_value)
        except ValueError as err:  # json.Marshal of a NaN or an infinity, from config.Value's UnmarshalYAML
            raise CliConfigError(key[1], f"{LOADING}invalid YAML file: {err}") from None
    return values


# ----------------------------------------------------------------------------- before the program runs

Decrypt = Callable[[Key, ConfigValue], str]


def missing_keys_error(stack: str, missing: list[str]) -> str:
    """pkg/workspace/config.go `missingStackConfigurationKeysError` with `formatMissingKeys`."""
    if len(missing) == 1:
        listed = f"'{missing[0]}'"
    else:
        names = sorted(missing)
        listed = ", ".join(f"'{k}'" for k in names[:-1]) + f" and '{names[-1]}'"
    # Go: fmt.Errorf("Stack '%v' is missing configuration %v %v", stackName, valueOrValues, formatMissingKeys(...))
    return f"Stack '{stack}' is missing configuration {'values' if len(missing) > 1 else 'value'} {listed}"


def validate_stack_value(stack: str, key: str, spec: ConfigType, value: ConfigValue, decrypted: str) -> None:
    """pkg/workspace/config.go `validateStackConfigValue`."""
    if spec.secret and not value.secure:
        # Go: "Stack '%v' with configuration key '%v' must be encrypted as it's secret"
        raise CliConfigError(
            key,
            f"validating stack config: Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret",
        )
    content: Any = json.loads(decrypted) if value.object else decrypted
    assert spec.type is not None
    if not valid_config_value(spec.type, spec.items, content):
        # Go: "Stack '%v' with configuration key '%v' must be of type '%v'"
        raise CliConfigError(
            key,
            f"validating stack config: Stack '{stack}' with configuration key '{key}' must be of type "
            f"'{full_type_name(spec.type, spec.items)}'",
        )


def apply_project_config(
    stack: str,
    project: Project,
    config: dict[Key, ConfigValue],
    decrypt: Decrypt,
    errors: list[CliConfigError] | None = None,
) -> None:
    """pkg/workspace/config.go `ValidateStackConfigAndApplyProjectConfig` (`mergeConfig` with
    validate=true): applies the project's defaults and values to `config` in place, then refuses
    missing required keys, then checks each typed key in sorted order. The CLI stops at the first
    refusal; with `errors`, each is added there instead and the checks go on."""
    missing: list[str] = []
    for name in sorted(project.config):
        spec = project.config[name]
        key = project_key(project.name, name)
        if key in config:
            continue
        if not spec.has_value and not spec.has_default and key[0] == project.name:
            missing.append(name)
            continue
        if spec.has_value or spec.has_default:
            config[key] = default_value(spec.default if spec.has_default else spec.value)
    found = errors if errors is not None else []
    if missing:
        refusal = CliConfigError(sorted(missing)[0], f"validating stack config: {missing_keys_error(stack, missing)}")
        if errors is None:
            raise refusal
        found.append(refusal)
    for name in sorted(project.config):
        spec = project.config[name]
        key = project_key(project.name, name)
        if spec.type is not None and key in config:
            try:
                validate_stack_value(stack, name, spec, config[key], decrypt(key, config[key]))
            except CliConfigError as err:
                if errors is None:
                    raise
                found.append(err)
