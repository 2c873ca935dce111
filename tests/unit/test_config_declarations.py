"""Each config key is declared once, on the settings field it fills (config/keys.py `key`), and
what follows from it agrees: `Pulumi.yaml`'s `config:` block (scripts/project_config.py), the
loader's declarations, the field's type and default, and a reader of the field in the program.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.checks import Section
from config.errors import ConfigError
from config.keys import METADATA, Key, as_tuple, declared, key, key_of, pulumi_type
from config.network import NetworkSettings
from config.project import PROJECT_FILE, SECRET_KEYS, parse_value, read_declarations
from config.settings import DECLARATIONS, KEYS, SECTIONS, Settings
from lib.cluster.node_groups import NodeGroup
from lib.network.subnets import NatGatewayMode
from offline import go_yaml
from offline.cli_project import load_project
from scripts.project_config import project_text

ROOT = Path(__file__).resolve().parents[2]
READERS = (ROOT / "program.py", *sorted((ROOT / "config").glob("*.py")))
"""Where a setting is read: the program, and the settings' own properties and cross-section rules."""


# ----------------------------------------------------------------------------- Pulumi.yaml


def test_pulumi_yaml_config_block_is_generated_from_the_declarations() -> None:
    assert PROJECT_FILE.read_text() == project_text(PROJECT_FILE.read_text()), (
        "Pulumi.yaml's config: block is stale: run `python scripts/project_config.py`"
    )


def test_pulumi_yaml_declares_what_the_fields_declare() -> None:
    """Read back by PyYAML (the loader's reader), Go's yaml.v3 (the CLI's) and the CLI's project
    loader (with Pulumi's project schema): every key but the secret, its type, items, default and
    description exactly as declared."""
    name, from_file = read_declarations()
    assert name == "airflow-eks"
    assert from_file == DECLARATIONS
    config = go_yaml.load(PROJECT_FILE.read_text())["config"]
    assert config == yaml.safe_load(PROJECT_FILE.read_text())["config"]
    assert set(config) == {k.name for k in KEYS.values() if not k.secret}
    for k in KEYS.values():
        if k.secret:
            continue
        items = {"items": {"type": "string"}} if k.type == "array" else {}
        assert config[k.name] == {"type": k.type, **items, "description": k.description, "default": k.default}
    cli = load_project(PROJECT_FILE).config
    assert {name: spec.type for name, spec in cli.items()} == {
        n: d.type for n, d in DECLARATIONS.items() if not d.secret
    }


def test_the_secret_is_declared_by_config_project_only() -> None:
    secrets = sorted((k.name, k.section, k.field) for k in KEYS.values() if k.secret)
    assert secrets == [
        ("existingDbPassword", "database", "existing_password_set"),
        ("ssoClientSecret", "airflow", "sso_client_secret_set"),
    ]
    assert set(SECRET_KEYS) == {name for name, _, _ in secrets}
    for name, _, _ in secrets:
        assert DECLARATIONS[name] is SECRET_KEYS[name]
        assert f"\n  {name}:" not in PROJECT_FILE.read_text()


# ----------------------------------------------------------------------------- the declarations


def test_every_key_has_one_field_a_section_a_description_and_a_default() -> None:
    declared_keys = [k for section in SECTIONS for k in declared(section)]
    calls = [
        node
        for path in sorted((ROOT / "config").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("key", "secret_key")
    ]
    # Every key(...) of config/ is collected, and each name is declared once over the sections.
    assert len(declared_keys) == len(KEYS) == len(calls) > 0
    titles = [section.TITLE for section in SECTIONS]  # type: ignore[attr-defined]
    assert len(set(titles)) == len(titles)
    hints = typing.get_type_hints(Settings)
    sections = {name for name, hint in hints.items() if isinstance(hint, type) and issubclass(hint, Section)}
    assert {s.SECTION for s in SECTIONS} == sections | {"settings"}  # type: ignore[attr-defined]
    for name, k in KEYS.items():
        section = next(s for s in SECTIONS if k.section == s.SECTION)  # type: ignore[attr-defined]
        assert k.field in {f.name for f in dataclasses.fields(section)}, name
        assert key_of(section, k.field) == name
        assert len(k.description) > 10 and k.description == " ".join(k.description.split()), name
        assert k.type in {"string", "integer", "boolean", "array", "object"}, name
        for other in (k.only_with, k.only_without, k.required_with):
            assert other in {"", *KEYS} and other != name, name
        parse_value(name, DECLARATIONS[name], k.default)  # the default is of the declared type


def test_every_section_is_listed_and_every_section_field_is_a_key() -> None:
    """A new section must be in SECTIONS (or its keys would be neither loaded nor documented), and a
    section's every field is filled from a key: a field without `key(...)` would never be set."""
    program_sections = {s for s in Section.__subclasses__() if s.__module__.startswith("config.")}
    assert program_sections == set(SECTIONS) - {Settings}
    for section in set(SECTIONS) - {Settings}:
        assert all(METADATA in f.metadata for f in dataclasses.fields(section)), section.__name__


def test_each_field_default_is_its_key_default_converted_to_the_field_type() -> None:
    """The field's type and its key's conversion agree: the converted default is of that type."""
    for section in SECTIONS:
        hints = typing.get_type_hints(section)
        for f in dataclasses.fields(section):
            if METADATA not in f.metadata:
                continue
            value = f.default_factory()  # type: ignore[operator]
            assert _is_instance(value, hints[f.name]), f"{f.name}: {value!r} is not {hints[f.name]}"


def _is_instance(value: Any, annotation: Any) -> bool:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple:
        return isinstance(value, tuple) and all(isinstance(v, args[0]) for v in value)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return isinstance(value, Mapping)
    if args:  # X | None
        return any(_is_instance(value, a) for a in args)
    return isinstance(value, annotation) and (annotation is bool or not isinstance(value, bool))


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, "string"),
        (int, "integer"),
        (bool, "boolean"),
        (NatGatewayMode, "string"),
        (NatGatewayMode | None, "string"),
        (tuple[str, ...], "array"),
        (Mapping[str, Any], "object"),
        (dict[str, str], "object"),
    ],
)
def test_the_pulumi_type_follows_from_the_annotation(annotation: Any, expected: str) -> None:
    assert pulumi_type(annotation) == expected


def test_an_annotation_without_a_pulumi_type_must_declare_one() -> None:
    with pytest.raises(TypeError, match=r"declare it with key\(\.\.\., type=\.\.\.\)"):
        pulumi_type(tuple[NodeGroup, ...])
    assert KEYS["nodeGroups"].type == "object"


def test_key_builds_the_field_and_its_declaration() -> None:
    @dataclasses.dataclass(frozen=True)
    class Demo(Section):
        SECTION = "demo"
        TITLE = "Demo"
        zones: tuple[str, ...] = key("demoZones", [], "Zones of the demo,  in order.", convert=as_tuple)

    (k,) = declared(Demo)
    assert k == Key(
        "demoZones", [], "Zones of the demo, in order.", as_tuple, type="array", section="demo", field="zones"
    )
    assert Demo().zones == () and Demo(zones=("a",)).zones == ("a",)
    assert Demo().invalid("zones", "is wrong").key == "demoZones"


# ----------------------------------------------------------------------------- read by the program


def unread(keys: Mapping[str, Key], readers: dict[str, str]) -> list[str]:
    """Keys whose field no reader reads: an attribute read of the field (not a method call) outside
    the sections' own checks (`__post_init__`, `_check*`); a secret key, its name read as a string
    (the program reads it itself)."""
    fields_read: set[str] = set()
    strings: set[str] = set()
    for text in readers.values():
        tree = ast.parse(text)
        checks = {
            id(node)
            for fn in ast.walk(tree)
            if isinstance(fn, ast.FunctionDef) and (fn.name == "__post_init__" or fn.name.startswith("_check"))
            for node in ast.walk(fn)
        }
        called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and id(node) not in checks | called:
                fields_read.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    return [name for name, k in keys.items() if (name not in strings if k.secret else k.field not in fields_read)]


def test_every_declared_key_is_read() -> None:
    """A key declared but read by nothing (only checked) would be accepted and ignored."""
    assert unread(KEYS, {p.name: p.read_text() for p in READERS}) == []


def test_a_key_only_checked_is_reported_unread() -> None:
    program = "def network_of(settings):\n    return settings.network.vpc_cidr\n"
    section = (
        "class NetworkSettings:\n"
        "    def __post_init__(self):\n"
        "        self.check('nat_gateways', one_of, self.nat_gateways)\n"
        "    def _check_existing(self):\n"
        "        self.existing_vpc_id.startswith('vpc-')\n"
    )
    keys = {name: k for name, k in KEYS.items() if k.section == "network" and name in ("vpcCidr", "natGateways")}
    keys["existingVpcId"] = KEYS["existingVpcId"]
    keys["existingDbPassword"] = KEYS["existingDbPassword"]
    assert unread(keys, {"program.py": program, "network.py": section}) == [
        "natGateways",
        "existingVpcId",
        "existingDbPassword",
    ]
    reads_secret = program + "password = config.require_secret('existingDbPassword')\n"
    assert unread(keys, {"program.py": reads_secret, "network.py": section}) == ["natGateways", "existingVpcId"]


def test_errors_name_the_key_the_field_declares() -> None:
    """A section's check names the key its field declares, with what it accepts."""
    with pytest.raises(ConfigError) as failure:
        NetworkSettings(vpc_cidr="10.0.0.0/8")
    assert (failure.value.key, str(failure.value)) == (
        "vpcCidr",
        "config key 'vpcCidr': '10.0.0.0/8' must have a prefix from /16 to /20 to fit 3 subnet tiers",
    )
    assert NetworkSettings().nat_gateways is NatGatewayMode.PER_AZ  # the declared default, converted
