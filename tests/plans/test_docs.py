"""The docs: the generated configuration reference and component pages are fresh and cover every key
and component, the contract's README every stack output, the README is a front door whose
commands are what CI and make run, and every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

from config.project import read_declarations
from config.settings import KEYS, SECTIONS
from offline.mocks import Plan
from scripts.component_docs import DOCS, pages
from scripts.config_docs import PAGE
from scripts.config_docs import page as configuration_page

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
MAX_README_LINES = 200
DOC_FILES = sorted(
    [
        ROOT / "README.md",
        ROOT / "UPGRADING.md",
        ROOT / "contract" / "README.md",
        *(ROOT / "docs").rglob("*.md"),
        *(ROOT / "examples").rglob("README.md"),
    ]
)


def tables(text: str) -> list[dict[str, list[str]]]:
    """Every table of `text`: first cell (without backticks) -> cells, header row included."""
    found: list[dict[str, list[str]]] = []
    rows: dict[str, list[str]] = {}
    for line in [*text.splitlines(), ""]:
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            rows[cells[0].strip("`")] = cells
        elif rows and not line.startswith("|"):
            found.append(rows)
            rows = {}
    return found


def table_after(text: str, heading: str) -> dict[str, list[str]]:
    """Rows of the first table after `heading`."""
    return tables(text.split(heading, 1)[1])[0]


def test_the_configuration_reference_is_generated_from_pulumi_yaml() -> None:
    """docs/configuration.md is what scripts/config_docs.py writes now (run it after a change)."""
    assert PAGE.read_text() == configuration_page(), (
        "docs/configuration.md is stale: run `python scripts/config_docs.py`"
    )


def test_every_config_key_is_documented() -> None:
    _, decls = read_declarations()
    text = PAGE.read_text()
    sections = re.findall(r"^## (.+)$", text, flags=re.M)
    titles = {section.SECTION: section.TITLE for section in SECTIONS}  # type: ignore[attr-defined]
    assert sections == [titles[s] for s in titles if any(k.section == s for k in KEYS.values())]
    rows: dict[str, list[str]] = {}
    for title in sections:
        table = table_after(text, f"\n## {title}\n")
        assert table.pop("key")[:7] == ["key", "type", "default", "dev", "prod", "applies", "description"]
        assert {KEYS[key].section for key in table} == {s for s, t in titles.items() if t == title}, title
        assert not rows.keys() & table.keys()
        rows |= table
    # Pulumi.yaml declares, the settings' fields declare, the reference documents: the same keys.
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
        assert len(rows[key][6]) > 10, f"{key} has no description"  # object keys: the comment above them


def test_every_output_is_documented_with_its_secrecy(dev: Plan, prod: Plan) -> None:
    rows = table_after((ROOT / "contract" / "README.md").read_text(), "## Stack outputs")
    rows.pop("output")
    assert set(rows) == set(dev.outputs) == set(prod.outputs)
    for name, cells in rows.items():
        assert cells[2] == ("yes" if name in prod.secret_outputs else "no"), name
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", name) for name in rows)  # resource-prefixed snake_case


def test_the_readme_is_a_front_door() -> None:
    """Short, and every page of docs/ is reachable from it."""
    assert len(README.splitlines()) <= MAX_README_LINES
    linked = {target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", README)}
    for page in (ROOT / "docs").glob("*.md"):
        assert str(page.relative_to(ROOT)) in linked, f"the README does not link {page.name}"
    assert "docs/components/README.md" in linked and "contract/README.md" in linked


def test_readme_commands_are_what_ci_and_make_run() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
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
    assert len(expected) == 25  # twenty-four components and the index


def test_every_arg_and_output_of_a_component_is_described() -> None:
    for name, text in pages().items():
        for line in text.splitlines():
            if line.startswith("| `"):
                assert line.split("|")[-2].strip(), f"{name}: {line}"


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation but `-` and `_` dropped, spaces to `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def broken_links(path: Path, text: str) -> list[str]:
    """Relative links of a Markdown file (outside code) whose file or heading does not exist."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            broken.append(target)
        elif anchor:
            body = resolved.read_text() if file else text
            body = re.sub(r"^```.*?^```", "", body, flags=re.M | re.S)
            if anchor not in {slug(h) for h in re.findall(r"^#+ (.+)$", body, flags=re.M)}:
                broken.append(target)
    return broken


def test_relative_links_resolve() -> None:
    assert len(DOC_FILES) > 10
    for path in DOC_FILES:
        assert broken_links(path, path.read_text()) == [], path.relative_to(ROOT)


def test_the_link_check_can_fail() -> None:
    path = ROOT / "docs" / "security.md"
    text = "# Title\n\n[a](missing.md) [b](#title) [c](#nope) [d](operations.md#tearing-down) [e](runbook.md#nope)\n"
    assert broken_links(path, text) == ["missing.md", "#nope", "runbook.md#nope"]
    assert slug("Where `pulumi up` runs from?") == "where-pulumi-up-runs-from"
