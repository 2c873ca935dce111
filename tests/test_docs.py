"""The README documents every config key and every stack output, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from config.keys import KEYS
from config.project import read_declarations
from offline.mocks import Plan
from scripts.component_docs import DOCS, pages

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def table_after(heading: str) -> dict[str, list[str]]:
    """Rows of the first table after `heading`: first cell (without backticks) -> cells."""
    section = README.split(heading, 1)[1]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
        elif rows and not line.startswith("|"):
            break
    return rows


def test_every_config_key_is_documented() -> None:
    _, decls = read_declarations()
    rows = table_after("## Configuration reference")
    rows.pop("key")
    # Pulumi.yaml declares, config/keys.py places, the README documents: the same keys.
    assert set(rows) == set(decls) == set(KEYS)
    for key, decl in decls.items():
        documented_type = rows[key][1]
        expected: dict[str | None, str] = {
            "string": "string",
            "integer": "integer",
            "boolean": "boolean",
            "array": "list of strings",
            "object": "object",
        }
        assert documented_type.startswith(expected[decl.type]), key


def test_every_output_is_documented_with_its_secrecy(dev: Plan, prod: Plan) -> None:
    rows = table_after("## Stack outputs")
    rows.pop("output")
    assert set(rows) == set(dev.outputs) == set(prod.outputs)
    for name, cells in rows.items():
        assert cells[2] == ("yes" if name in prod.secret_outputs else "no"), name
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", name) for name in rows)  # resource-prefixed snake_case


def test_readme_commands_are_what_ci_and_make_run() -> None:
    quick = README.split("## Quick start", 1)[1].split("## ", 1)[0]
    commands = re.findall(r"^(make \w+)", quick, flags=re.M)
    assert commands == ["make plan", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test && make integration$", ci, flags=re.M)  # the optional third command too
    assert "`make integration`" in quick
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^plan: ", makefile, flags=re.M) and re.search(r"^test: ", makefile, flags=re.M)
    assert re.search(r"^integration:", makefile, flags=re.M)


def test_component_pages_are_generated_from_the_source() -> None:
    """docs/components/ is what scripts/component_docs.py writes now (run it after a change)."""
    expected = pages()
    assert sorted(p.name for p in DOCS.glob("*.md")) == sorted(expected)
    for name, text in expected.items():
        assert (DOCS / name).read_text() == text, f"docs/components/{name} is stale"
    assert len(expected) == 18  # seventeen components and the index


def test_every_arg_and_output_of_a_component_is_described() -> None:
    for name, text in pages().items():
        for line in text.splitlines():
            if line.startswith("| `"):
                assert line.split("|")[-2].strip(), f"{name}: {line}"
