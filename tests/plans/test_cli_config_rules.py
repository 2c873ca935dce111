"""The Pulumi CLI's own config rules, applied offline before the program runs (issue 20, item 3).

Read in pulumi/pulumi v3.259.0 (offline/pulumi_cli.py lists where): `Pulumi.yaml` against Pulumi's
project schema and `Project.Validate`; a stack file's keys namespaced and its values as config.Value;
`ValidateStackConfigAndApplyProjectConfig`: project defaults applied, missing required keys, secret
keys that must be encrypted, declared types. Each refusal is the CLI's own text, raised before the
program runs, naming the key.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.errors import ConfigError
from config.project import PROJECT_FILE, SECRET_KEYS
from config.settings import KEYS
from offline import go_yaml, mocks
from offline.cli_project import PULUMI_COMMIT, PULUMI_TAG, SCHEMA_FILE, SCHEMA_SHA256, load_project, schema_errors
from offline.cli_values import (
    CliConfigError,
    ConfigValue,
    default_value,
    go_float,
    go_g,
    go_json,
    go_percent_s,
    stack_value,
)
from offline.mocks import ProgramError, run_program
from offline.stack_config import CONFIG_DIR, resolve_stack, shown_path
from scripts.plan import main as plan_main

ROOT = PROJECT_FILE.parent
EXAMPLE_STACKS = ROOT / "examples" / "stacks"
COMMITTED = [(p.parent, p.name[len("Pulumi.") : -len(".yaml")]) for p in sorted(CONFIG_DIR.glob("Pulumi.*.yaml"))] + [
    (p.parent, p.name[len("Pulumi.") : -len(".yaml")]) for p in sorted(EXAMPLE_STACKS.glob("Pulumi.*.yaml"))
]
# What Pulumi.yaml declared until issue 20: a secret key with a plain default.
SECRET_WITH_DEFAULT = """  existingDbPassword:
    type: string
    secret: true
    description: Password of dbUsername on the existing database (set with `pulumi config set --secret`).
    default: ""
"""
CIPHERTEXT = "v1:8Jm1ohXzk1bmsY2B:Dg3tMl0R7pEH0qmbp6t6Q9Q3oZo="  # the form of a passphrase provider's


def project_with(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.yaml"
    path.write_text(text)
    return path


def declared(extra: str) -> str:
    """Today's Pulumi.yaml with `extra` declarations inserted at the top of `config:`."""
    text = PROJECT_FILE.read_text()
    return text.replace("\nconfig:\n", "\nconfig:\n" + extra, 1)


def stack_file(tmp_path: Path, name: str, lines: str, base: str = "prod") -> Path:
    """A stack file: the committed `base` stack's, with `lines` appended to its config."""
    folder = tmp_path / "stacks"
    folder.mkdir(exist_ok=True)
    (folder / f"Pulumi.{name}.yaml").write_text((CONFIG_DIR / f"Pulumi.{base}.yaml").read_text() + lines)
    return folder


@pytest.fixture
def no_program(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fails the test if the program is started: the CLI refuses before it runs."""
    started: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        started.append(args[1])
        raise AssertionError("the program ran")

    monkeypatch.setattr(mocks, "run_mocked", refuse)
    return started


# ----------------------------------------------------------------------------- the fix in Pulumi.yaml


@pytest.mark.parametrize("stack", ["dev", "prod", "byo-db", "byo-vpc", "sso"])
def test_the_former_secret_default_is_refused_on_every_stack_with_the_cli_message(tmp_path: Path, stack: str) -> None:
    project = project_with(tmp_path, declared(SECRET_WITH_DEFAULT))
    folder = CONFIG_DIR if stack in ("dev", "prod") else EXAMPLE_STACKS
    with pytest.raises(CliConfigError) as failure:
        resolve_stack(stack, folder, project_file=project)
    assert str(failure.value) == (
        f"validating stack config: Stack '{stack}' with configuration key 'existingDbPassword' must be encrypted "
        "as it's secret"
    )
    assert failure.value.key == "existingDbPassword" and isinstance(failure.value, ConfigError)


def test_make_plan_refuses_the_former_pulumi_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = project_with(tmp_path, declared(SECRET_WITH_DEFAULT))
    assert plan_main(["--stack", "dev", "--out", str(tmp_path), "--project-file", str(project)]) == 2
    assert capsys.readouterr().err == (
        f"error: {shown_path(CONFIG_DIR / 'Pulumi.dev.yaml')}: validating stack config: Stack 'dev' with "
        "configuration key 'existingDbPassword' must be encrypted as it's secret\n"
    )
    assert not (tmp_path / "plan-dev.json").exists()


def test_a_declared_secret_without_default_would_be_required_on_every_stack(tmp_path: Path) -> None:
    """Why existingDbPassword is not declared: without a default the CLI requires it everywhere."""
    project = project_with(tmp_path, declared("  existingDbPassword:\n    type: string\n    secret: true\n"))
    with pytest.raises(CliConfigError) as failure:
        resolve_stack("dev", project_file=project)
    assert (
        str(failure.value) == "validating stack config: Stack 'dev' is missing configuration value 'existingDbPassword'"
    )
    assert "existingDbPassword" not in load_project(PROJECT_FILE).config
    assert SECRET_KEYS["existingDbPassword"].secret and SECRET_KEYS["existingDbPassword"].default == ""


@pytest.mark.parametrize(("folder", "stack"), COMMITTED, ids=[s for _, s in COMMITTED])
def test_every_committed_stack_file_passes_the_cli_rules(folder: Path, stack: str) -> None:
    project = load_project(PROJECT_FILE)
    raw = yaml.safe_load((folder / f"Pulumi.{stack}.yaml").read_text())["config"]
    resolved = resolve_stack(stack, folder)
    assert resolved.region == raw["aws:region"] == "us-east-1"
    assert set(resolved.config) == set(project.config)  # every declared key, defaults applied
    assert resolved.secret_keys == frozenset()
    for key, spec in project.config.items():
        if f"airflow-eks:{key}" not in raw:
            default = spec.default if spec.has_default else spec.value
            assert resolved.config[key] == default_value(default).text, key
    assert len(COMMITTED) == 8  # dev, prod and the examples byo-db, byo-vpc, karpenter, queues, sso, teams


def test_the_brought_database_password_is_a_secret_set_with_secret(tmp_path: Path) -> None:
    resolved = resolve_stack("byo-db", EXAMPLE_STACKS, {"existingDbPassword": "brought-p@ss"})
    assert resolved.secret_keys == {"existingDbPassword"}
    assert resolved.config["existingDbPassword"] == "brought-p@ss"
    plan = run_program("byo-db", {"existingDbPassword": "brought-p@ss"}, config_dir=EXAMPLE_STACKS)
    assert plan.counts()["aws:rds/instance:Instance"] == 0


def test_a_secure_value_in_a_stack_file_is_accepted(tmp_path: Path) -> None:
    folder = stack_file(
        tmp_path,
        "own-db",
        "  airflow-eks:existingDbHost: db.example.internal\n"
        f"  airflow-eks:existingDbPassword:\n    secure: {CIPHERTEXT}\n",
    )
    resolved = resolve_stack("own-db", folder)
    assert resolved.secret_keys == {"existingDbPassword"}
    plan = run_program("own-db", config_dir=folder)
    assert plan.counts()["aws:rds/instance:Instance"] == 0
    # No secrets provider here: the ciphertext stands in for the password, and stays a secret, in
    # the Secrets Manager secret the roles Job reads (no output holds it).
    (version,) = plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretString"] == "[secret]"
    assert json.loads(dict(version.secrets)[("secretString",)])["password"] == CIPHERTEXT
    assert CIPHERTEXT not in json.dumps(plan.outputs)


def test_the_brought_password_in_plain_text_in_a_stack_file_is_refused(tmp_path: Path) -> None:
    folder = stack_file(
        tmp_path,
        "own-db",
        "  airflow-eks:existingDbHost: db.example.internal\n  airflow-eks:existingDbPassword: hunter2\n",
    )
    with pytest.raises(ProgramError) as failure:
        run_program("own-db", config_dir=folder)
    assert isinstance(failure.value.cause, ConfigError) and failure.value.cause.key == "existingDbPassword"
    assert "`pulumi config set --secret existingDbPassword`" in str(failure.value.cause)
    assert failure.value.registrations == []


def test_a_declared_secret_in_plain_text_in_a_stack_file_is_refused(tmp_path: Path, no_program: list[str]) -> None:
    project = project_with(tmp_path, declared("  apiToken:\n    type: string\n    secret: true\n"))
    folder = stack_file(tmp_path, "tok", "  airflow-eks:apiToken: plain-token\n")
    with pytest.raises(CliConfigError) as failure:
        run_program("tok", config_dir=folder, project_file=project)
    assert str(failure.value) == (
        "validating stack config: Stack 'tok' with configuration key 'apiToken' must be encrypted as it's secret"
    )
    assert failure.value.key == "apiToken" and no_program == []
    (folder / "Pulumi.tok.yaml").write_text(
        (CONFIG_DIR / "Pulumi.prod.yaml").read_text() + f"  airflow-eks:apiToken:\n    secure: {CIPHERTEXT}\n"
    )
    resolved = resolve_stack("tok", folder, project_file=project)
    assert resolved.secret_keys == {"apiToken"} and resolved.config["apiToken"] == CIPHERTEXT


# ----------------------------------------------------------------------------- declared types


WRONG_TYPES = [
    ({"vpcCidr": ["10.0.0.0/16"]}, "vpcCidr", "string"),
    ({"dbMultiAz": "yes"}, "dbMultiAz", "boolean"),
    ({"dbAllocatedStorageGib": "lots"}, "dbAllocatedStorageGib", "integer"),
    ({"dbAllocatedStorageGib": 20.5}, "dbAllocatedStorageGib", "integer"),
    ({"availabilityZoneIds": '["use1-az1", "use1-az2"]'}, "availabilityZoneIds", "array<string>"),
    ({"alarmEmails": [1, 2]}, "alarmEmails", "array<string>"),
    ({"tags": ["environment", "dev"]}, "tags", "object"),
    ({"airflowValues": '{"workers": {"replicas": 1}}'}, "airflowValues", "object"),
]


@pytest.mark.parametrize(("overrides", "key", "type_name"), WRONG_TYPES, ids=[str(c[0]) for c in WRONG_TYPES])
def test_a_value_of_the_wrong_declared_type_is_refused_before_the_program_runs(
    overrides: dict[str, Any], key: str, type_name: str, no_program: list[str]
) -> None:
    with pytest.raises(CliConfigError) as failure:
        run_program("dev", config_overrides=overrides)
    assert str(failure.value) == (
        f"validating stack config: Stack 'dev' with configuration key '{key}' must be of type '{type_name}'"
    )
    assert failure.value.key == key and no_program == []


def test_values_the_cli_accepts_for_typed_keys_reach_the_program_as_text() -> None:
    resolved = resolve_stack("dev", overrides={"dbAllocatedStorageGib": "30", "dbMultiAz": "true", "vpcCidr": 5})
    assert (resolved.config["dbAllocatedStorageGib"], resolved.config["dbMultiAz"]) == ("30", "true")
    assert resolved.config["vpcCidr"] == "5"  # a YAML number is text to a string key


def test_a_yaml_1_1_boolean_in_a_stack_file_is_text_to_the_cli(tmp_path: Path, no_program: list[str]) -> None:
    folder = stack_file(tmp_path, "yes", "  airflow-eks:dbPerformanceInsights: yes\n")
    with pytest.raises(CliConfigError) as failure:
        run_program("yes", config_dir=folder)
    assert str(failure.value) == (
        "validating stack config: Stack 'yes' with configuration key 'dbPerformanceInsights' must be of type 'boolean'"
    )


def test_a_project_default_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    text = PROJECT_FILE.read_text().replace("    default: 10.0.0.0/16\n", "    default: 16\n", 1)
    project = project_with(tmp_path, text)
    with pytest.raises(CliConfigError) as failure:
        resolve_stack("dev", project_file=project)
    assert str(failure.value) == (
        f"could not unmarshal '{project}': The default value specified for configuration key 'vpcCidr' is not of "
        "the expected type 'string'"
    )
    assert failure.value.key == "vpcCidr"


def test_an_array_without_items_is_refused(tmp_path: Path) -> None:
    project = project_with(tmp_path, declared("  zones:\n    type: array\n    default: []\n"))
    with pytest.raises(CliConfigError) as failure:
        load_project(project)
    assert str(failure.value) == (
        f"could not unmarshal '{project}': The configuration key 'zones' declares an array but does not specify "
        "the underlying type via the 'items' attribute"
    )


# ----------------------------------------------------------------------------- required keys


@pytest.mark.parametrize(
    ("removed", "message"),
    [
        (["vpcCidr"], "value 'vpcCidr'"),
        (["vpcCidr", "natGateways"], "values 'natGateways' and 'vpcCidr'"),
        (["vpcCidr", "natGateways", "dbName"], "values 'dbName', 'natGateways' and 'vpcCidr'"),
    ],
)
def test_a_required_key_missing_from_the_stack_is_refused(
    tmp_path: Path, removed: list[str], message: str, no_program: list[str]
) -> None:
    doc = yaml.safe_load(PROJECT_FILE.read_text())
    for key in removed:
        del doc["config"][key]["default"]
    project = project_with(tmp_path, yaml.safe_dump(doc))
    folder = stack_file(tmp_path, "bare", "", base="dev")
    (folder / "Pulumi.bare.yaml").write_text("config:\n  aws:region: us-east-1\n")
    with pytest.raises(CliConfigError) as failure:
        run_program("bare", config_dir=folder, project_file=project)
    assert str(failure.value) == f"validating stack config: Stack 'bare' is missing configuration {message}"
    assert failure.value.key == sorted(removed)[0] and no_program == []
    resolved = resolve_stack("dev", project_file=project, overrides={"natGateways": "single", "dbName": "airflow"})
    assert resolved.config["vpcCidr"] == "10.20.0.0/16"  # set by dev's stack file: nothing missing


# ----------------------------------------------------------------------------- namespacing


def test_keys_without_the_project_prefix_and_the_old_config_form_are_the_projects(tmp_path: Path) -> None:
    folder = stack_file(tmp_path, "ns", "  dbName: plain_name\n  airflow-eks:config:dbUsername: old_form\n")
    resolved = resolve_stack("ns", folder)
    assert (resolved.config["dbName"], resolved.config["dbUsername"]) == ("plain_name", "old_form")


def test_a_key_the_cli_cannot_parse_or_sets_twice_is_refused(tmp_path: Path) -> None:
    folder = stack_file(tmp_path, "bad", "  airflow-eks:db:name: x\n")
    with pytest.raises(CliConfigError) as failure:
        resolve_stack("bad", folder)
    assert str(failure.value) == (
        "getting stack configuration: invalid YAML file: could not unmarshal map: could not parse "
        "airflow-eks:db:name as a configuration key (configuration keys should be of the form `<namespace>:<name>`)"
    )
    folder = stack_file(tmp_path, "twice", "  dbName: one\n  airflow-eks:dbName: two\n")
    with pytest.raises(CliConfigError, match="'dbName' and 'airflow-eks:dbName' set the same configuration key"):
        resolve_stack("twice", folder)


def test_a_duplicated_key_in_a_stack_file_is_refused_as_yaml_v3_does(tmp_path: Path) -> None:
    folder = stack_file(tmp_path, "dup", "  airflow-eks:dbName: again\n", base="dev")
    (folder / "Pulumi.dup.yaml").write_text("config:\n  aws:region: us-east-1\n  aws:region: eu-west-1\n")
    with pytest.raises(CliConfigError) as failure:
        resolve_stack("dup", folder)
    assert str(failure.value) == (
        'getting stack configuration: yaml: unmarshal errors:\n  line 3: mapping key "aws:region" already defined '
        "at line 2"
    )


# ----------------------------------------------------------------------------- Pulumi.yaml and its schema


def test_the_schema_copy_is_the_recorded_one() -> None:
    digest = hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest()
    assert digest == SCHEMA_SHA256
    readme = (SCHEMA_FILE.parent / "README.md").read_text()
    assert SCHEMA_SHA256 in readme and PULUMI_COMMIT in readme and f"/blob/{PULUMI_TAG}/" in readme


def test_pulumi_yaml_validates_against_the_project_schema() -> None:
    doc = go_yaml.load(PROJECT_FILE.read_text())
    assert schema_errors(doc) == []
    project = load_project(PROJECT_FILE)
    assert project.name == "airflow-eks" and project.stack_config_dir == "config"
    # Every key the program reads but the optional secrets; none declared secret.
    assert set(project.config) == set(KEYS) - set(SECRET_KEYS)
    assert not any(spec.secret for spec in project.config.values())


@pytest.mark.parametrize(
    ("old", "new", "location", "key"),
    [
        (
            "    type: string\n    description: Private IPv4",
            "    type: cidr\n    description: Private IPv4",
            "#/config/vpcCidr",
            "vpcCidr",
        ),
        ("    default: perAz\n", "    defualt: perAz\n", "#/config/natGateways", "natGateways"),
        ("runtime:\n  name: python\n", "runtime:\n  name: python\n  flavour: cpython\n", "#/runtime", "Pulumi.yaml"),
    ],
    ids=["unknown config type", "misspelt attribute", "unknown runtime attribute"],
)
def test_a_pulumi_yaml_outside_the_schema_is_refused(
    tmp_path: Path, old: str, new: str, location: str, key: str, no_program: list[str]
) -> None:
    text = PROJECT_FILE.read_text()
    assert old in text
    project = project_with(tmp_path, text.replace(old, new, 1))
    with pytest.raises(CliConfigError) as failure:
        run_program("dev", project_file=project)
    message = str(failure.value)
    assert message.startswith(f"could not validate '{project}': ") and f"\t* {location}: " in message
    assert re.search(r"\d+ errors? occurred:\n\t\* ", message)
    assert failure.value.key == key and no_program == []


def test_a_project_without_a_name_is_refused_as_the_cli_words_it(tmp_path: Path) -> None:
    project = project_with(tmp_path, PROJECT_FILE.read_text().replace("name: airflow-eks\n", "nmae: airflow-eks\n", 1))
    with pytest.raises(CliConfigError) as failure:
        load_project(project)
    assert (
        str(failure.value)
        == f"could not validate '{project}': project is missing a 'name' attribute; found 'nmae' instead"
    )


# ----------------------------------------------------------------------------- YAML and values as Go has them


@pytest.mark.parametrize(
    ("plain", "value"),
    [
        ("yes", "yes"), ("on", "on"), ("True", True), ("FALSE", False), ("tRUE", "tRUE"), ("~", None), ("", None),
        ("1e5", 100000.0), ("0x1F", 31), ("0o17", 15), ("017", 15), ("08", 8.0), ("1_000", 1000), ("+7", 7),
        ("1.30", 1.3), (".5", 0.5), ("9223372036854775808", 2**63), ("1.33.0-20250610", "1.33.0-20250610"),
    ],
)  # fmt: skip
def test_plain_scalars_resolve_as_yaml_v3_resolves_them(plain: str, value: Any) -> None:
    resolved = go_yaml.resolve_plain(plain)
    assert resolved == value and type(resolved) is type(value)


def test_timestamps_and_infinities() -> None:
    moment = go_yaml.resolve_plain("2025-06-10")
    assert isinstance(moment, go_yaml.GoTime) and moment.go_string() == "2025-06-10 00:00:00 +0000 UTC"
    assert stack_value(go_yaml.load("2025-06-10T08:30:00.25Z")).text == "2025-06-10 08:30:00.25 +0000 UTC"
    assert go_yaml.resolve_plain(".inf") == math.inf and go_yaml.resolve_plain("2025-13-01") == "2025-13-01"


def test_values_become_config_values_as_the_cli_stores_them() -> None:
    assert stack_value(5.0) == ConfigValue("5")  # encoding/json writes a whole float64 without a point
    assert stack_value(1e21) == ConfigValue("1e+21") and stack_value(1e-7) == ConfigValue("1e-7")
    assert stack_value(True) == ConfigValue("true") and stack_value("x") == ConfigValue("x")
    assert stack_value({"secure": "ct"}) == ConfigValue("ct", secure=True)
    assert stack_value({"b": [1, "<"], "a": {"secure": "ct"}}) == ConfigValue(
        '{"a":{"secure":"ct"},"b":[1,"\\u003c"]}', secure=True, object=True
    )
    assert stack_value(None) == ConfigValue("null", object=True)
    assert default_value(50) == ConfigValue("50") and default_value(False) == ConfigValue("false")
    assert default_value([]) == ConfigValue("[]", object=True) and default_value(2.5) == ConfigValue("2.5", object=True)
    assert go_json({"z": 1, "a": "&"}) == '{"a":"\\u0026","z":1}'
    assert [go_float(x) for x in (1e-10, 1.5e-7, -2.5e22, 1e20, -0.0)] == [
        "1e-10",
        "1.5e-7",
        "-2.5e+22",
        "100000000000000000000",
        "-0",
    ]
    assert [go_g(x) for x in (1e6, 123456.0, 1.5e-5, 0.0001, 2.0)] == ["1e+06", "123456", "1.5e-05", "0.0001", "2"]
    assert go_percent_s(1) == "%!s(int=1)" and go_percent_s(True) == "%!s(bool=true)"
