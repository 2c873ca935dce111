"""Run the program offline under Pulumi mocks and record what `pulumi up` would register.

Shared by the offline plan (`scripts/plan.py`) and the tests. `run_program(stack)` resolves the
stack's config as the Pulumi CLI does (offline/stack_config.py: what the CLI refuses raises its
`CliConfigError` before the program runs), runs `program.main` against `PlanMonitor`, and returns a
`Plan`: every registration in order (type, name, parent, dependencies, camelCase inputs with
secrets redacted to "[secret]"), the outputs each component registered, and the stack outputs.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop

from config.project import PROJECT_FILE, read_declarations
from offline.fakes import RESOURCE_REF_SIG, SECRET_SIG, SIG_KEY, FakeCloud, StackOutputs
from offline.sdk_shortcuts import run_to_completion, sdk_shortcuts
from offline.stack_config import CONFIG_DIR, resolve_stack

SECRET = "[secret]"
UNKNOWN = "[unknown]"
# Features the stock mock monitor advertises that this one declines: resource references (the
# SDK then rebuilds referenced resources on a throw-away event loop, and hangs under pytest:
# shared/notes/offline-pulumi.md), output values, and alias specs (so that the SDK sends the
# alias URNs it computes, which the plan records).
DECLINED_FEATURES = ("resourceReferences", "outputValues", "aliasSpecs")


def _clean(value: Any) -> Any:
    """Plain JSON of a registered input: secrets redacted, unknowns marked, 2.0 -> 2."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return SECRET
        if value.get(SIG_KEY) == RESOURCE_REF_SIG:
            return value.get("urn")
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == rpc.UNKNOWN:
        return UNKNOWN
    return value


def _secret_values(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    """Each secret of a registered input with its path: never written anywhere, only digested
    by `make diff` (scripts/diff_plan.py) to tell a changed secret from an unchanged one."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return [(path, value.get("value"))]
        return [found for key, item in value.items() for found in _secret_values(item, (*path, key))]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _secret_values(item, (*path, i))]
    return []


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]
    protect: bool = False
    aliases: tuple[str, ...] = ()
    retain_on_delete: bool = False
    id: str = ""
    """The fake cloud's ID of a custom resource (what other resources' inputs carry), "" for components."""
    secrets: tuple[tuple[tuple[str | int, ...], Any], ...] = field(default=(), compare=False, repr=False)
    """The secret inputs' paths and values (`inputs` shows them as "[secret]"), kept in memory only."""
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    """Each input's dependencies: the resources whose outputs it takes (an unknown value, to the
    engine, while they are replaced)."""
    delete_before_replace: bool = False
    import_id: str = ""
    """The ID of a cloud resource the engine adopts (`import_`) instead of creating one."""
    ignore_changes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "id": self.id,
            "custom": self.custom,
            "parent": self.parent,
            "dependencies": list(self.dependencies),
            "inputs": self.inputs,
            "protect": self.protect,
            # Only when set: the engine adopts the cloud resource of that ID instead of creating one.
            **({"import": self.import_id} if self.import_id else {}),
        }


class PlanMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor without the declined features, recording every RegisterResource request.
    `in_loop`: the SDK calls it in the event loop's thread (offline/sdk_shortcuts.py)."""

    def __init__(self, mocks: FakeCloud, in_loop: bool = False) -> None:
        super().__init__(mocks)
        mocks.monitor = self
        self.in_loop = in_loop
        self.registrations: list[Registration] = []
        self.component_outputs: dict[str, dict[str, Any]] = {}

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """The stock methods serialize what they return with `_sync_await`, which in the loop's
        own thread would run the loop again from inside one of its tasks: there, the serialization
        (of plain data, which never waits) runs to its end at once instead."""
        if not self.in_loop:
            yield
            return
        stock = pulumi_mocks._sync_await
        pulumi_mocks._sync_await = run_to_completion
        try:
            yield
        finally:
            pulumi_mocks._sync_await = stock

    def Invoke(self, request: Any) -> Any:
        with self._answering():
            return super().Invoke(request)

    def ReadResource(self, request: Any) -> Any:
        with self._answering():
            return super().ReadResource(request)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives: the parent's whole qualified type before the type, none under
        the root stack (pulumi/pulumi pkg/resource/deploy/deployment.go `generateURN`). The stock
        mock monitor (pulumi 3.272 runtime/mocks.py) keeps the root stack's type and only the
        parent's last type, so its URNs differ at the top level and two components deep."""
        qualified = parent.split("::")[2] if parent else ""
        if qualified and qualified != "pulumi:pulumi:Stack":
            type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([settings.get_stack(), settings.get_project(), type_, name])

    def SupportsFeature(self, request: Any) -> Any:
        return type("SupportsFeatureResponse", (object,), {"hasSupport": request.id not in DECLINED_FEATURES})

    def GetDeploymentInfo(self, request: Any) -> Any:
        info = super().GetDeploymentInfo(request)
        declined = (
            resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
            resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
        )
        return resource_pb2.DeploymentInfo(supportedFeatures=[f for f in info.supportedFeatures if f not in declined])

    def RegisterResource(self, request: Any) -> Any:
        with self._answering():
            response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = json_format.MessageToDict(request.object)
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    custom=bool(request.custom),
                    parent=request.parent,
                    dependencies=tuple(sorted(request.dependencies)),
                    inputs=_clean(inputs),
                    protect=bool(request.protect),
                    aliases=tuple(sorted(request.aliasURNs)),  # a set to the engine; the SDK sends it in hash order
                    retain_on_delete=bool(request.retainOnDelete),
                    id=response.id if request.custom else "",
                    secrets=tuple(_secret_values(inputs)),
                    property_dependencies={
                        key: tuple(sorted(deps.urns)) for key, deps in request.propertyDependencies.items() if deps.urns
                    },
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    import_id=request.importId,
                    ignore_changes=tuple(request.ignoreChanges),
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.component_outputs[request.urn] = _clean(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)


class ProgramError(Exception):
    """The program failed under mocks: `cause` is what it raised, `registrations` what it had
    registered by then (the tests check that bad config registers nothing)."""

    def __init__(self, cause: Exception, registrations: list[Registration]) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause
        self.registrations = registrations


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: frozenset[str] = field(default_factory=frozenset)
    invokes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """What each component registered as its outputs (`register_outputs`), by URN."""

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_} {name or ''}, found {[r.name for r in found]}")
        return found[0]

    def published(self) -> StackOutputs:
        """The stack outputs and which are secret, as a `StackReference` to this stack reads them."""
        return self.outputs, self.secret_outputs

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.resources if r.urn == urn)

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources)

    def waits_for(self, urn: str) -> set[str]:
        """Every URN `urn` waits for, transitively: its dependencies and its parents' dependencies."""
        seen: set[str] = set()
        stack = [urn]
        urns = {r.urn: r for r in self.resources}
        while stack:
            reg = urns.get(stack.pop())
            if reg is None:
                continue
            for dep in (*reg.dependencies, reg.parent):
                if dep and dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        return seen

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": [r.as_json() for r in self.resources],
            "outputs": {k: SECRET if k in self.secret_outputs else v for k, v in self.outputs.items()},
        }


async def _resolve_outputs(exports: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in exports.items():
        out = pulumi.Output.from_input(value)
        values[key] = _clean(await out.future())
        if await out.is_secret():
            secret.add(key)
    return values, secret


class _WarningLog(logging.Handler):
    """Collects what the program logs as warnings (`pulumi.log.warn`), as the CLI would show them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.logger = logging.Logger("offline-plan", logging.WARNING)  # the SDK's debug lines stop here
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_program(
    stack: str,
    config_overrides: Mapping[str, Any] | None = None,
    main: Callable[[], Mapping[str, Any]] | None = None,
    config_dir: Path = CONFIG_DIR,
    project_file: Path = PROJECT_FILE,
    shortcuts: bool = True,
) -> Plan:
    """Run the program for `stack` (its stack file in `config_dir`, the project `project_file`)
    under mocks; `config_overrides`
    are set over the stack file as `pulumi config set` would (a string stays a string, other
    JSON-able data is a structured value; secret keys are set with --secret). `shortcuts`: as
    `run_mocked`'s."""
    resolved = resolve_stack(stack, config_dir, config_overrides, project_file)
    if main is None:
        from program import main as program_main

        main = program_main
    return run_mocked(
        main, stack, resolved.region, resolved.config, secret_keys=resolved.secret_keys, shortcuts=shortcuts
    )


def run_mocked(
    main: Callable[[], Mapping[str, Any]],
    stack: str,
    region: str,
    config: Mapping[str, str] | None = None,
    project: str | None = None,
    stacks: Mapping[str, StackOutputs] | None = None,
    secret_keys: Collection[str] = (),
    shortcuts: bool = True,
) -> Plan:
    """Run `main` (the program, a component alone, or another project's program) under mocks,
    with `config` keys of `project` (no prefix; this project by default) and the outputs of the
    stacks its `StackReference`s read, `secret_keys` of `config` handed over as secrets; return
    what it registered and the outputs `main` returns. `shortcuts=False` runs the SDK as it is
    (offline/sdk_shortcuts.py)."""
    project = project or read_declarations()[0]
    config = dict(config or {})
    cloud = FakeCloud(region, stacks)
    monitor = PlanMonitor(cloud, in_loop=shortcuts)
    warnings = _WarningLog()
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        cloud, project=project, stack=stack, preview=False, monitor=monitor, logger=warnings.logger
    )
    all_config = {f"{project}:{k}": v for k, v in config.items()}
    all_config["aws:region"] = region
    pulumi.runtime.set_all_config(all_config, [f"{project}:{k}" for k in sorted(secret_keys)])
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def _run() -> Any:
        exports = main()

        async def resolve() -> None:
            result["outputs"], result["secret"] = await _resolve_outputs(exports)

        return pulumi.Output.from_input(asyncio.ensure_future(resolve()))

    # A run allocates about a million objects, many in reference cycles that live as long as the
    # run (futures and their callbacks): the collector, left on, scans them again every few
    # registrations, a third of a run's CPU time. Off for the run, it frees them in one pass after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        # The loop `pulumi.runtime.test` runs the program in.
        with sdk_shortcuts(_ensure_event_loop()) if shortcuts else nullcontext():
            _run()
    except Exception as err:
        raise ProgramError(err, list(monitor.registrations)) from err
    finally:
        if collecting:
            gc.enable()
    return Plan(
        project=project,
        stack=stack,
        resources=sorted(monitor.registrations, key=lambda r: r.urn),  # registration order is not stable
        outputs=result["outputs"],
        secret_outputs=frozenset(result["secret"]),
        invokes=list(cloud.calls),
        warnings=warnings.messages,
        component_outputs=monitor.component_outputs,
    )
