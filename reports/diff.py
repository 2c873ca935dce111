"""What `pulumi up` would do to a deployed stack: the plan of the working tree against a saved one.

Both plans are documents of `scripts/diff_plan.py` (`make plan`'s format, each resource with its
`aliases`, `retainOnDelete` and `secretDigests` besides), or a plain `build/plan-<stack>.json`.
Each resource is matched by URN, or through an alias of the new plan to an URN of the old one (a
moved resource is updated, not replaced), then classified as `pulumi preview` would:

- create / delete: in one plan only;
- update: inputs changed, none that the provider replaces the resource for;
- replace: an input changed that the provider declares replace-on-change
  (`reports/replacement.py`), or an input carries the ID of a resource that is replaced
  (the engine sees an unknown value there: the dependent is replaced too when that input
  forces replacement, as `pulumi preview` shows it), or its provider is replaced.

Secrets are never shown: a `[secret]` input is reported as changed or not from the keyed digests
the two plan documents carry (the same key: the same checkout's `build/plan-digest.key`, or the one
key of a `make diff BASE=<revision>` run), else as "cannot tell".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from reports.replacement import Rule, covered, rule_for

Plan = Mapping[str, Any]
Path = tuple[str | int, ...]
SECRET = "[secret]"
K8S_PROVIDER = "pulumi:providers:kubernetes"


class Action(Enum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    SAME = "same"


SYMBOL = {Action.CREATE: "+ ", Action.UPDATE: "~ ", Action.REPLACE: "+-", Action.DELETE: "- ", Action.SAME: "  "}


@dataclass
class Change:
    """One resource's fate."""

    urn: str
    type: str
    name: str
    action: Action
    changed: list[str] = field(default_factory=list)
    """Input paths that change (updates and replacements), a secret one marked so."""
    replaced_by: list[str] = field(default_factory=list)
    """Why it is replaced: the replace-on-change paths that change, or the replaced resource it
    takes an ID from, or its replaced provider."""
    unknown_secrets: list[str] = field(default_factory=list)
    """Secret inputs whose change cannot be told (a plan without digests)."""
    stateful: str = ""
    """What is lost when it is replaced or deleted ("" when nothing is)."""
    protected: bool = False
    retained: bool = False
    """Kept in the cloud when the stack deletes it (`retainOnDelete`)."""
    moved_from: str = ""
    note: str = ""

    @property
    def loud(self) -> bool:
        """A stateful resource replaced or deleted, or a protected one (`pulumi up` refuses)."""
        gone = self.action in (Action.REPLACE, Action.DELETE)
        return gone and (bool(self.stateful) or self.protected)


@dataclass
class PlanDiff:
    stack: str
    changes: list[Change]
    notes: list[str] = field(default_factory=list)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    @property
    def loud(self) -> list[Change]:
        return [c for c in self.changes if c.loud]

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action is action]

    def by_name(self, name: str) -> Change:
        found = [c for c in self.changes if c.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} changes named {name}")
        return found[0]

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "summary": {a.value: self.count(a) for a in Action},
            "stateful": [c.urn for c in self.loud],
            "changes": [
                {
                    "urn": c.urn,
                    "type": c.type,
                    "action": c.action.value,
                    "changed": c.changed,
                    "replacedBy": c.replaced_by,
                    "stateful": c.stateful,
                    "protected": c.protected,
                    **({"movedFrom": c.moved_from} if c.moved_from else {}),
                }
                for c in self.changes
                if c.action is not Action.SAME
            ],
            "notes": self.notes,
        }


# Paths: ("spec", "containers", 0, "image") is written spec.containers[0].image; a key that is not an
# identifier (a tag or label such as k8s.io/cluster-autoscaler/enabled) is written ["k8s.io/..."].
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def show(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def parse(text: str) -> Path:
    """A rule's path: dotted names, `[n]` or `[*]` for list elements."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[([^\]]+)\]", text):
        if name:
            parts.append(name)
        else:
            parts.append("*" if index == "*" else int(index) if index.isdigit() else json.loads(index))
    return tuple(parts)


def differences(old: Any, new: Any, path: Path = ()) -> Iterator[Path]:
    """Paths where `new` differs from `old`: into maps on both sides, into lists of the same length."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key not in old or key not in new:
                yield (*path, key)
            else:
                yield from differences(old[key], new[key], (*path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from differences(a, b, (*path, i))
    elif old != new:
        yield path


def secret_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    if value == SECRET:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from secret_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from secret_paths(item, (*path, i))


def _matches(path: Path, rule: Path) -> bool:
    """`path` changes what `rule` names: it is the rule's path, below it, or above it (the whole
    object or list that holds it was added, removed or replaced)."""
    for got, want in zip(path, rule, strict=False):
        if want == "*" and isinstance(got, int):
            continue
        if got != want:
            return False
    return True


def forcing(paths: Sequence[Path], rule: Rule) -> list[Path]:
    """The changed paths the rule replaces the resource for."""
    if rule.every_input:
        return list(paths)
    rules = [parse(p) for p in rule.replace_on]
    return [p for p in paths if any(_matches(p, r) for r in rules)]


@dataclass
class _Pair:
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    change: Change


def _digests(plan: Plan) -> tuple[str, dict[str, dict[str, str]]]:
    """(key id, URN -> secret path -> digest) of a plan document; ("", {}) for a plain plan."""
    found = {r["urn"]: r["secretDigests"] for r in plan["resources"] if "secretDigests" in r}
    return str(plan.get("secretDigestKey", "")), found


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    """What applying `new` to a stack deployed as `old` does, resource by resource."""
    old_by_urn = {r["urn"]: r for r in old["resources"]}
    old_key, old_digests = _digests(old)
    new_key, new_digests = _digests(new)
    digests_comparable = bool(old_key) and old_key == new_key
    notes: list[str] = []
    if old_key and new_key and old_key != new_key:
        notes.append(
            "the base plan's secrets were digested with another key (another checkout's build/plan-digest.key)"
        )
    pairs: list[_Pair] = []
    matched: set[str] = set()
    for res in new["resources"]:
        before = old_by_urn.get(res["urn"])
        moved_from = ""
        if before is None:
            for alias in res.get("aliases", ()):
                if alias in old_by_urn and alias not in matched:
                    before, moved_from = old_by_urn[alias], alias
                    break
        rule = rule_for(res["type"])
        change = Change(
            urn=res["urn"],
            type=res["type"],
            name=res["name"],
            action=Action.CREATE if before is None else Action.SAME,
            stateful=rule.stateful if rule else "",
            protected=bool(res.get("protect")) or bool(before and before.get("protect")),
            retained=bool(res.get("retainOnDelete")),
            moved_from=moved_from,
        )
        if before is not None:
            matched.add(before["urn"])
            _classify(before, res, change, rule, old_digests, new_digests, digests_comparable)
        pairs.append(_Pair(before, res, change))
    for res in old["resources"]:
        if res["urn"] not in matched:
            rule = rule_for(res["type"])
            change = Change(
                urn=res["urn"],
                type=res["type"],
                name=res["name"],
                action=Action.DELETE,
                stateful=rule.stateful if rule else "",
                protected=bool(res.get("protect")),
                retained=bool(res.get("retainOnDelete")),
            )
            pairs.append(_Pair(res, None, change))
    _cascade(pairs)
    unread = sorted(p.change.name for p in pairs if p.change.unknown_secrets)
    if unread:
        notes.append(
            f"secret inputs of {', '.join(unread)} could not be compared (no digests of this key in the base plan)"
        )
    uncovered = sorted({c.change.type for c in pairs if c.change.note.startswith("no replacement rule")})
    if uncovered:
        notes.append(f"no replacement rule for {', '.join(uncovered)}: their updates may be replacements")
    order = {Action.DELETE: 0, Action.REPLACE: 1, Action.UPDATE: 2, Action.CREATE: 3, Action.SAME: 4}
    changes = sorted((p.change for p in pairs), key=lambda c: (not c.loud, order[c.action], c.type, c.name))
    return PlanDiff(str(new.get("stack", old.get("stack", ""))), changes, notes)


def _classify(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    change: Change,
    rule: Rule | None,
    old_digests: Mapping[str, Mapping[str, str]],
    new_digests: Mapping[str, Mapping[str, str]],
    comparable: bool,
) -> None:
    paths = list(differences(old["inputs"], new["inputs"]))
    old_secrets = set(secret_paths(old["inputs"]))
    secrets = set(secret_paths(new["inputs"])) | old_secrets
    for path in sorted(old_secrets & set(secret_paths(new["inputs"])), key=show):
        before = _under(old_digests.get(old["urn"], {}), path)
        after = _under(new_digests.get(new["urn"], {}), path)
        if comparable and before and after:
            paths.extend(parse(key) for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key))
        else:
            change.unknown_secrets.append(show(path))
    if rule is not None:
        for flag, ignored in rule.ignored.items():
            if new["inputs"].get(flag):
                skip = [parse(i) for i in ignored]
                paths = [p for p in paths if not any(p[: len(i)] == i for i in skip)]
    if not paths:
        return
    change.changed = [show(p) + (" (secret)" if any(p[: len(s)] == s for s in secrets) else "") for p in paths]
    change.action = Action.UPDATE
    if rule is None:
        if not covered(change.type):
            change.note = "no replacement rule for this type: an update here may be a replacement"
        return
    forced = forcing(paths, rule)
    if forced:
        change.action = Action.REPLACE
        change.replaced_by = [show(p) for p in forced]
    _note_conditions(change, rule, paths)


def _note_conditions(change: Change, rule: Rule, paths: Sequence[Path]) -> None:
    """What a changed input does when it depends on the values: replaces or fails (a note)."""
    for path, what in rule.conditional.items():
        text = f"{path}: {what}"
        if forcing(paths, Rule("", (path,))) and text not in change.note:
            change.note = f"{change.note}; {text}" if change.note else text


def _under(digests: Mapping[str, str], path: Path) -> dict[str, str]:
    """The digests of a secret input: its own, or its leaves' (a Secret's stringData, key by key)."""
    return {key: value for key, value in digests.items() if parse(key)[: len(path)] == path}


def _cascade(pairs: list[_Pair]) -> None:
    """What the engine sees unknown: an input that takes outputs of a replaced resource (its
    `propertyDependencies`), or the new version a launch template's update makes; a dependent whose
    unknown input is replace-on-change is replaced too. Every Kubernetes resource goes with a
    replaced Kubernetes provider. Repeated until nothing more changes."""
    done: set[tuple[str, Action]] = set()  # an update seen, then a replacement: both spread
    while True:
        moved = [
            p
            for p in pairs
            if (p.change.urn, p.change.action) not in done
            and (p.change.action is Action.REPLACE or (p.change.action is Action.UPDATE and _new_outputs(p)))
        ]
        if not moved:
            return
        for gone in moved:
            done.add((gone.change.urn, gone.change.action))
            replaced = gone.change.action is Action.REPLACE
            for pair in pairs:
                if pair.old is None or pair.new is None or pair is gone:
                    continue
                if replaced and gone.change.type == K8S_PROVIDER and pair.change.type.startswith("kubernetes:"):
                    _replace(pair.change, f"its provider {gone.change.name} is replaced", ())
                    continue
                keys = [k for k, urns in pair.new.get("propertyDependencies", {}).items() if gone.change.urn in urns]
                if not keys:
                    continue
                hits: list[Path] = [(k,) for k in sorted(keys)]
                why = f"from {'replaced' if replaced else 'updated'} {gone.change.name}"
                rule = rule_for(pair.change.type)
                forced = forcing(hits, rule) if rule is not None and replaced else []
                if forced:
                    _replace(pair.change, f"{', '.join(show(p) for p in forced)} ({why})", hits, why)
                else:
                    if pair.change.action is Action.SAME:
                        pair.change.action = Action.UPDATE
                    for path in hits:
                        _add(pair.change, f"{show(path)} ({why})")
                    if rule is not None and replaced:
                        _note_conditions(pair.change, rule, hits)


def _new_outputs(pair: _Pair) -> bool:
    rule = rule_for(pair.change.type)
    return rule is not None and rule.update_outputs


def _add(change: Change, text: str) -> None:
    if text not in change.changed:
        change.changed.append(text)


def _replace(change: Change, reason: str, hits: Sequence[Path], why: str = "") -> None:
    change.action = Action.REPLACE
    if reason not in change.replaced_by:
        change.replaced_by.append(reason)
    for path in hits:
        _add(change, f"{show(path)} ({why})" if why else show(path))


def render(diff: PlanDiff, base: str, allow_stateful: bool = False) -> str:
    """The report: stateful losses first and loudly, then every change, then the summary."""
    out: list[str] = [f"Stack {diff.stack}: the working tree against {base}", ""]
    loud = diff.loud
    if loud:
        out.append("!!! STATEFUL RESOURCES REPLACED OR DELETED (their data goes with them) !!!")
        for c in loud:
            out.extend(_lines(c, stateful=True))
        if allow_stateful:
            out.append("(accepted: --allow-stateful)")
        else:
            out.append("`make diff` exits 3 for these; accept them with ALLOW_STATEFUL=1 (--allow-stateful)")
        out.append("")
    shown = [c for c in diff.changes if c.action is not Action.SAME and not c.loud]
    if shown:
        out.append("Changes:")
        for c in shown:
            out.extend(_lines(c))
        out.append("")
    out.append("Resources:")
    out.append(f"    + {diff.count(Action.CREATE)} to create")
    out.append(f"    ~ {diff.count(Action.UPDATE)} to update")
    out.append(f"    +-{diff.count(Action.REPLACE)} to replace")
    out.append(f"    - {diff.count(Action.DELETE)} to delete")
    out.append(f"    {diff.count(Action.SAME)} unchanged")
    for note in diff.notes:
        out.append(f"note: {note}")
    return "\n".join(out)


def _lines(c: Change, stateful: bool = False) -> list[str]:
    marks = []
    if c.protected:
        marks.append("protected: `pulumi up` refuses until unprotected")
    if c.retained and c.action in (Action.DELETE, Action.REPLACE):
        marks.append("kept in the cloud (retainOnDelete): delete it yourself or import it")
    if c.moved_from:
        marks.append("moved: matched through its alias")
    head = f"  {SYMBOL[c.action]} {c.action.value:8} {c.type}  {c.name}" + "".join(f"  [{m}]" for m in marks)
    lines = [head]
    if stateful and c.stateful:
        lines.append(f"        loses: {c.stateful}")
    if c.replaced_by:
        lines.append(f"        replaced because: {'; '.join(c.replaced_by)}")
    for path in c.changed:
        lines.append(f"        {path}")
    for path in c.unknown_secrets:
        lines.append(f"        {path} (secret: cannot tell)")
    if c.note:
        lines.append(f"        note: {c.note}")
    return lines
