"""A stack's config as the Pulumi CLI would hand it to the program, read from its stack file.

Offline only (the plan and the tests): under `pulumi up` the CLI does this itself. The CLI's own
rules (offline/pulumi_cli.py) come first: `Pulumi.yaml` is loaded and checked against Pulumi's
project schema, the stack file is read as the CLI reads it, the project's defaults are applied, and
a missing required key, a secret key in plain text or a value of the wrong type is refused with the
CLI's message, before the program runs. Then this program's rules: only its own keys and
`aws:region`, which is required.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError, each, raise_all
from config.project import PROJECT_FILE, SECRET_KEYS
from config.settings import load_settings
from offline import go_yaml
from offline.cli_project import Project, load_project
from offline.cli_values import CliConfigError, ConfigValue, plaintext, stack_value
from offline.pulumi_cli import LOADING, Key, apply_project_config, parse_stack_file, project_key

CONFIG_DIR = PROJECT_FILE.parent / "config"  # Pulumi.yaml's stackConfigDir


@dataclass(frozen=True)
class ResolvedStack:
    config: dict[str, str]
    """The project's keys (without prefix) as the engine hands them to the program: text."""
    region: str
    secret_keys: frozenset[str]
    """Keys of `config` whose values are secrets (encrypted in the stack file, or set with --secret)."""


def available_stacks(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in config_dir.glob("Pulumi.*.yaml"))


def set_value(project_name: str, key: str, value: Any, secret: bool) -> tuple[Key, ConfigValue]:
    """What `pulumi config set [--secret] key value` writes: a string is a plain string value, other
    JSON-able data a structured one (as `--path` or the YAML would hold it); `secret` encrypts it."""
    full = project_key(project_name, key)
    stored = stack_value(value)
    return full, ConfigValue(stored.text, secure=True, object=stored.object) if secret else stored


def resolve_stack(
    stack: str,
    config_dir: Path = CONFIG_DIR,
    overrides: Mapping[str, Any] | None = None,
    project_file: Path = PROJECT_FILE,
) -> ResolvedStack:
    """The config `stack` runs with: its stack file in `config_dir`, then `overrides` as
    `pulumi config set` would add them (keys declared secret, and `SECRET_KEYS`, set with --secret),
    through the CLI's rules."""
    project = load_project(project_file)
    path = config_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise ConfigError("stack", f"no config file {path.name}; stacks: {', '.join(available_stacks(config_dir))}")
    text = read_stack_file(path)
    values = _stack_file_values(text, project, str(path))
    secret_names = set(SECRET_KEYS) | {name for name, spec in project.config.items() if spec.secret}
    for key, value in (overrides or {}).items():
        full, stored = set_value(project.name, key, value, key in secret_names)
        values[full] = stored
    apply_project_config(stack, project, values, lambda _key, value: plaintext(value))
    config: dict[str, str] = {}
    secret: set[str] = set()
    region = ""
    for (namespace, key), value in sorted(values.items()):
        if (namespace, key) == ("aws", "region"):
            region = plaintext(value)
        elif namespace == project.name:
            config[key] = plaintext(value)
            if value.secure:
                secret.add(key)
        elif namespace != "aws":
            raise ConfigError(
                f"{namespace}:{key}",
                f"has namespace '{namespace}'; this program reads '{project.name}:' and 'aws:region'",
            )
    if not region:
        raise ConfigError("aws:region", "is required in the stack's config file")
    raise_all(changed_meaning(text, project))
    return ResolvedStack(config, region, frozenset(secret))


CACHED_FILES = 256
"""Stack files a process keeps read: a test session plans the same few hundreds of times, and
PyYAML's pure-Python reader (go_yaml) takes a few milliseconds a file, twice (values and nodes)."""
_PARSED: dict[tuple[str, str, str], dict[Key, ConfigValue]] = {}


def _stack_file_values(text: str, project: Project, path: str) -> dict[Key, ConfigValue]:
    """`parse_stack_file` (which reads only the project's name), once per text, project name and
    path; a dict of one's own of values that cannot change (frozen)."""
    key = (text, project.name, path)
    if key not in _PARSED:
        if len(_PARSED) >= CACHED_FILES:
            _PARSED.clear()
        _PARSED[key] = parse_stack_file(text, project, path)
    return dict(_PARSED[key])


def read_stack_file(path: Path) -> str:
    """The stack file's text, read as the CLI reads it (UTF-8, a byte order mark dropped)."""
    try:
        return go_yaml.decode(path.read_bytes())
    except go_yaml.GoYamlError as err:
        raise CliConfigError("stack", LOADING + err.as_marshaller_error(), err.line, err.column) from None


# ----------------------------------------------------------------------------- values YAML reads otherwise

Position = tuple[int, int]
"""A line and column of the stack file, 1-based."""


@lru_cache(maxsize=CACHED_FILES)
def _composed(text: str) -> yaml.Node | None:
    """The stack file's YAML node tree (read, never changed), once per text; None if it does not compose."""
    try:
        return yaml.compose(text, Loader=go_yaml.GoYamlLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def _config_entries(text: str, project_name: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """Each entry of the stack file's `config:` map: its key without the project's namespace (others
    keep theirs: `aws:region`), and its key and value nodes; none for a file that does not compose."""
    root = _composed(text)
    config = next(
        (v for k, v in getattr(root, "value", []) if isinstance(root, yaml.MappingNode) and k.value == "config"), None
    )
    if not isinstance(config, yaml.MappingNode):
        return []
    prefix = f"{project_name}:"
    return [(str(k.value).removeprefix(prefix), k, v) for k, v in config.value]


def _plain_scalars(node: yaml.Node) -> list[yaml.ScalarNode]:
    todo, found = [node], []
    while todo:
        item = todo.pop()
        if isinstance(item, yaml.ScalarNode) and item.style is None:
            found.append(item)
        elif isinstance(item, yaml.SequenceNode):
            todo.extend(item.value)
        elif isinstance(item, yaml.MappingNode):
            todo.extend(v for _, v in item.value)
    return found


def _where(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def changed_meaning(text: str, project: Project) -> list[ConfigError]:
    """Values the stack file writes unquoted that YAML reads as something other than what they say:
    for a key of type string, a number or boolean whose text the program would receive changed
    (`1.30` arrives as "1.3", `16.10` as "16.1", `0x10` as "16"); a date anywhere, inside maps too
    (`2026-01-01` arrives as "2026-01-01 00:00:00 +0000 UTC"); for an integer key, a leading zero,
    which yaml.v3 reads as octal (`010` is 8). Each names its key and says how to write it.

    `pulumi up` cannot see these: the CLI hands the program the changed text only (1.3), which may
    be a valid value (dbEngineVersion 16.1), so the offline plan checks the stack file itself."""
    errors: list[ConfigError] = []
    for name, _, value_node in _config_entries(text, project.name):
        spec = project.config.get(name)
        for scalar in _plain_scalars(value_node):
            problem = _read_otherwise(scalar.value, spec.type if spec else None)
            if problem:
                line, column = _where(scalar)
                errors.append(CliConfigError(name, f"config key '{name}': {problem}", line, column))
    return errors


def _read_otherwise(written: str, kind: str | None) -> str:
    """What YAML makes of the plain scalar `written` in a value of type `kind`, when that is not what it says."""
    value = go_yaml.resolve_plain(written)
    received, quoted = stack_value(value).text, f'"{written}"'
    if isinstance(value, go_yaml.GoTime):
        return f"YAML reads the unquoted {written} as a date, which reaches the program as '{received}'; write {quoted}"
    if kind == "string" and isinstance(value, bool | int | float) and received != written:
        what = "boolean" if isinstance(value, bool) else "number"
        return f"YAML reads the unquoted {written} as the {what} {received}, not '{written}'; write {quoted}"
    digits = written.replace("_", "")
    if kind == "integer" and isinstance(value, int) and re.fullmatch(r"[+-]?0[0-7]+", digits):
        return (
            f"YAML reads {written} as an octal number, {value}; write {int(digits)} (or {value}) without the leading 0"
        )
    return ""


# ----------------------------------------------------------------------------- every problem, where it is

DUPLICATE = re.compile(r'line ([0-9]+): mapping key "(.*)" already defined at line ([0-9]+)')


def stack_problems(
    stack: str, config_dir: Path = CONFIG_DIR, project_file: Path = PROJECT_FILE
) -> list[tuple[str, ConfigError]]:
    """Every problem of `stack`'s stack file found at once, each with where it is
    (`<file>:<line>:<column>`, or the file alone for a key it does not set), for the offline plan:
    a file YAML cannot read stops there; otherwise each key defined twice, what the CLI refuses (it
    stops at the first; all are listed here), values YAML reads as something else
    (`changed_meaning`), then the program's own errors (config/settings.py `load_settings`) for the
    keys the CLI accepts."""
    project = load_project(project_file)
    path = config_dir / f"Pulumi.{stack}.yaml"
    text = ""
    errors: list[ConfigError] = []
    try:
        text = read_stack_file(path)
        duplicates: list[str] = []
        values = parse_stack_file(text, project, str(path), duplicates)
    except ConfigError as err:
        return [(_where_in(path, text, err, project.name), err)]
    entries = _config_entries(text, project.name)
    for duplicate in duplicates:
        line, key, first = DUPLICATE.fullmatch(duplicate).groups()  # type: ignore[union-attr]
        name = key.removeprefix(f"{project.name}:")
        # A key set twice inside a value (a map of `tags`, say) belongs to the config key holding it.
        holder = next((n for n, k, v in entries if k.start_mark.line < int(line) <= v.end_mark.line), None)
        what = f"config key '{name}'" if holder is None else f"'{key}' in config key '{holder}'"
        message = (
            f"{what} is set twice (first at line {first}); keep one. `pulumi up` refuses the file: "
            f"{LOADING}yaml: unmarshal errors: {duplicate}"
        )
        errors.append(CliConfigError(holder or name, message, int(line)))
    refused: list[CliConfigError] = []
    apply_project_config(stack, project, values, lambda _key, value: plaintext(value), refused)
    errors.extend(refused)
    errors.extend(changed_meaning(text, project))
    ours = {key: plaintext(value) for (namespace, key), value in values.items() if namespace == project.name}
    region = plaintext(values[("aws", "region")]) if ("aws", "region") in values else ""
    if not region:
        errors.append(ConfigError("aws:region", "is required in the stack's config file"))
    at_fault = {error.key for error in errors}
    try:
        load_settings({k: v for k, v in ours.items() if k not in at_fault}, stack, region, project_file)
    except ConfigError as err:
        errors.extend(e for e in each(err) if e.key.split(".")[0] not in at_fault)
    return [(_where_in(path, text, error, project.name), error) for error in errors]


def _where_in(path: Path, text: str, error: ConfigError, project_name: str) -> str:
    """`<file>:<line>:<column>` of `error`: its own position, else its key's in the file, else the file."""
    line, column = getattr(error, "line", 0), getattr(error, "column", 0)
    if not line:
        key = error.key.split(".")[0]
        found = [k for name, k, _ in _config_entries(text, project_name) if name == key]
        if found:
            line, column = _where(found[0])
    return (
        f"{shown_path(path)}:{line}:{column}" if column else f"{shown_path(path)}:{line}" if line else shown_path(path)
    )


def shown_path(path: Path) -> str:
    """`path` as a message shows it: relative to the working directory when within it (as compilers do)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def resolve_stack_config(stack: str, config_dir: Path = CONFIG_DIR) -> tuple[dict[str, str], str]:
    """The project's config values of `stack` (without prefix, as engine strings, the project's
    defaults applied) and `aws:region`."""
    resolved = resolve_stack(stack, config_dir)
    return resolved.config, resolved.region
