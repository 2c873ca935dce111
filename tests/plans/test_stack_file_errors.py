"""Errors a person can act on (issue 25, item 3): a stack file's problems shown all at once by the
offline plan, each with its file, line and column and what to do; never a Python traceback.

`pulumi up` stops at the first problem with the CLI's own words (pulumi/pulumi v3.259.0: a YAML
syntax error is `getting stack configuration: invalid YAML file: yaml: line <n>: <problem>`, a key
defined twice `getting stack configuration: yaml: unmarshal errors: line <n>: mapping key "..."
already defined at line <m>`); the offline plan (scripts/plan.py) reports them all.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.errors import ConfigError, ConfigErrors
from offline.cli_values import CliConfigError
from offline.stack_config import CONFIG_DIR, resolve_stack, shown_path, stack_problems
from scripts.plan import main as plan_main

DEV = (CONFIG_DIR / "Pulumi.dev.yaml").read_text()


def write_stack(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path / f"Pulumi.{name}.yaml"


def plan(tmp_path: Path, stack: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = plan_main(["--stack", stack, "--config-dir", str(tmp_path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.splitlines()


def test_a_typo_two_wrong_values_and_a_duplicate_key_are_reported_together_each_where_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shown_path(
        write_stack(
            tmp_path,
            "all",
            DEV
            + "  airflow-eks:dbNmae: airflow\n"  # a typo
            + "  airflow-eks:dbSlowStatementMs: -5\n"  # a wrong value
            + "  airflow-eks:kubernetesVersion: 1.30\n"  # a value YAML reads as 1.3
            + "  airflow-eks:efsTransitionToIaDays: 30\n"
            + "  airflow-eks:efsTransitionToIaDays: 3\n",  # defined twice, and wrong
        )
    )
    first = len(DEV.splitlines()) + 1
    code, lines = plan(tmp_path, "all", capsys)
    assert code == 2
    assert lines == [
        f"error: {path}:{first + 4}: config key 'efsTransitionToIaDays' is set twice (first at line {first + 3}); "
        "keep one. `pulumi up` refuses the file: getting stack configuration: yaml: unmarshal errors: "
        f'line {first + 4}: mapping key "airflow-eks:efsTransitionToIaDays" already defined at line {first + 3}',
        f"error: {path}:{first + 2}:34: config key 'kubernetesVersion': YAML reads the unquoted 1.30 as the number "
        "1.3, not '1.30'; write \"1.30\"",
        f"error: {path}:{first}:3: config key 'dbNmae': is not a config key of this project; did you mean 'dbName'?",
        f"error: {path}:{first + 1}:3: config key 'dbSlowStatementMs': -5 is outside the accepted range -1 to 3600000",
        "4 problems in the stack's config",
    ]
    assert not (tmp_path / "out").exists()


@pytest.fixture
def default_recursion_limit() -> Iterator[None]:
    """The interpreter's default recursion limit, which `make plan` runs with: celpy (the admission
    policies' CEL, which other tests import) raises it to 2,500 when imported."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(before)


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("config:\n  aws:region: us-east-1\n  airflow-eks:dbName: [x\n", "4:1", "yaml: line 4: while parsing a flow"),
        ("config:\n\taws:region: us-east-1\n", "2:1", "yaml: line 2: while scanning for the next token; found "),
        ("config:\n  aws:region: us-east-1\n  airflow-eks:dbName: caf\xe9\n", "3:26", "yaml: line 3: invalid UTF-8"),
        # 500 levels: past the ~370 PyYAML's composer reaches under the default recursion limit (which
        # `make plan` runs with: `default_recursion_limit`), far below yaml.v3's 10,000. PyYAML's scanner costs
        # the square of the depth reached: past celpy's limit, 3,000 levels took 2 s.
        ("config:\n  airflow-eks:tags: " + "[" * 500 + "]" * 500, "", "yaml: the file nests lists or maps too"),
    ],
    ids=["syntax", "tab", "not-utf8", "too-deep"],
)
@pytest.mark.usefixtures("default_recursion_limit")
def test_a_file_yaml_cannot_read_is_reported_with_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str, problem: str
) -> None:
    (tmp_path / "Pulumi.bad.yaml").write_bytes(text.encode("latin-1"))
    path = shown_path(tmp_path / "Pulumi.bad.yaml")
    code, lines = plan(tmp_path, "bad", capsys)
    assert code == 2
    assert len(lines) == 1
    prefix = f"error: {path}:{where}: " if where else f"error: {path}: "
    assert lines[0].startswith(prefix + "getting stack configuration: invalid YAML file: " + problem)
    with pytest.raises(CliConfigError) as failure:
        resolve_stack("bad", tmp_path)
    assert str(failure.value).startswith("getting stack configuration: invalid YAML file: " + problem)


def test_a_stack_file_read_again_gives_its_own_values(tmp_path: Path) -> None:
    """A file's text is parsed once per process (offline/stack_config.py): one resolution's overrides
    never reach the next, and a changed file is read anew."""
    assert resolve_stack("dev", overrides={"dbName": "other"}).config["dbName"] == "other"
    assert resolve_stack("dev").config["dbName"] == "airflow"
    (tmp_path / "Pulumi.s.yaml").write_text(DEV)
    assert resolve_stack("s", tmp_path).config == resolve_stack("dev").config
    (tmp_path / "Pulumi.s.yaml").write_text(DEV.replace("config:\n", "config:\n  airflow-eks:dbName: second\n", 1))
    assert resolve_stack("s", tmp_path).config["dbName"] == "second"


def test_a_byte_order_mark_is_dropped_as_the_cli_drops_it(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.bom.yaml").write_bytes(b"\xef\xbb\xbf" + DEV.encode())
    assert resolve_stack("bom", tmp_path).config == resolve_stack("dev").config


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        ("kubernetesVersion: 1.30", "kubernetesVersion", "YAML reads the unquoted 1.30 as the number 1.3, not '1.30'"),
        ("dbEngineVersion: 16.10", "dbEngineVersion", "YAML reads the unquoted 16.10 as the number 16.1, not '16.10'"),
        ("dbName: 0x10", "dbName", "YAML reads the unquoted 0x10 as the number 16, not '0x10'"),
        ("dbName: True", "dbName", "YAML reads the unquoted True as the boolean true, not 'True'"),
        ("dbName: 2026-01-01", "dbName", "YAML reads the unquoted 2026-01-01 as a date, which reaches the program"),
        ("imageRegistryMirrors: {quay.io: 2026-01-01}", "imageRegistryMirrors", "YAML reads the unquoted 2026-01-01"),
        ("dbSlowStatementMs: 0100", "dbSlowStatementMs", "YAML reads 0100 as an octal number, 64; write 100"),
    ],
)
def test_a_value_whose_yaml_type_changes_its_meaning_is_refused_naming_the_key(
    tmp_path: Path, line: str, key: str, message: str
) -> None:
    write_stack(tmp_path, "typed", DEV + f"  airflow-eks:{line}\n")
    with pytest.raises(ConfigError) as failure:
        resolve_stack("typed", tmp_path)
    assert failure.value.key == key
    assert str(failure.value).startswith(f"config key '{key}': {message}")
    assert isinstance(failure.value, CliConfigError)
    assert failure.value.line == len(DEV.splitlines()) + 1


@pytest.mark.parametrize(
    "line",
    [
        'kubernetesVersion: "1.35"',
        "dbEngineVersion: '16.10'",
        "dbSlowStatementMs: 100",
        "dbFinalSnapshot: true",
        "kubernetesVersion: 1.35",  # reads as 1.35: the text is unchanged
        'policyWaivers: {ha: "2026-01-01 waived until"}',
    ],
)
def test_values_yaml_reads_as_written_are_accepted(tmp_path: Path, line: str) -> None:
    write_stack(tmp_path, "typed", DEV + f"  airflow-eks:{line}\n")
    resolve_stack("typed", tmp_path)


def test_the_cli_refusals_are_all_listed_where_the_cli_stops_at_the_first(tmp_path: Path) -> None:
    lines = "  airflow-eks:dbFinalSnapshot: maybe\n  airflow-eks:dbRetainAutomatedBackups: often\n"
    write_stack(tmp_path, "types", DEV + lines)
    with pytest.raises(CliConfigError) as failure:
        resolve_stack("types", tmp_path)
    assert failure.value.key == "dbFinalSnapshot"  # the CLI's first, in sorted order
    found = stack_problems("types", tmp_path)
    assert [(where.rsplit(":", 2)[-2:], error.key, type(error)) for where, error in found] == [
        ([str(len(DEV.splitlines()) + 1), "3"], "dbFinalSnapshot", CliConfigError),
        ([str(len(DEV.splitlines()) + 2), "3"], "dbRetainAutomatedBackups", CliConfigError),
    ]
    assert str(found[1][1]) == (
        "validating stack config: Stack 'types' with configuration key 'dbRetainAutomatedBackups' must be of type "
        "'boolean'"
    )


def test_a_single_error_is_raised_alone_several_together() -> None:
    one = ConfigError("a", "wrong")
    with pytest.raises(ConfigError) as failure:
        from config.errors import raise_all

        raise_all([one])
    assert failure.value is one
    both = ConfigErrors([one, ConfigErrors([ConfigError("b", "x"), ConfigError("c", "y")])])
    assert [e.key for e in both.errors] == ["a", "b", "c"]
    assert str(both) == "3 config errors:\n  - config key 'a': wrong\n  - config key 'b': x\n  - config key 'c': y"


def test_pulumi_up_shows_config_errors_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """`__main__.py` turns them into a `pulumi.RunError`, whose message alone the language host prints."""
    import runpy

    import pulumi

    import program

    errors = ConfigErrors([ConfigError("dbNmae", "is not a config key"), ConfigError("dbName", "'-' is bad")])

    def fail() -> None:
        raise errors

    monkeypatch.setattr(program, "main", fail)
    with pytest.raises(pulumi.RunError) as failure:
        runpy.run_path(str(CONFIG_DIR.parent / "__main__.py"))
    assert str(failure.value) == str(errors)
    assert failure.value.__cause__ is None and failure.value.__suppress_context__


def test_a_key_set_twice_inside_a_value_names_the_config_key_holding_it(tmp_path: Path) -> None:
    write_stack(tmp_path, "nested", DEV + "  airflow-eks:policyWaivers:\n    ha: one reason\n    ha: another one\n")
    found = stack_problems("nested", tmp_path)
    line = len(DEV.splitlines()) + 3
    assert [(where.rsplit(":", 1)[-1], error.key, str(error)) for where, error in found] == [
        (
            str(line),
            "policyWaivers",
            f"'ha' in config key 'policyWaivers' is set twice (first at line {line - 1}); keep one. `pulumi up` "
            f'refuses the file: getting stack configuration: yaml: unmarshal errors: line {line}: mapping key "ha" '
            f"already defined at line {line - 1}",
        )
    ]
