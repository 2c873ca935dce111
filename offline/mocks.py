"""Run the program offline under Pulumi mocks and record what `pulumi up` would register.

Shared by the offline plan (`scripts/plan.py`) and the tests. `run_program(stack)` resolves the
stack's config as the Pulumi CLI does, runs `program.main` against `PlanMonitor`, and returns a
`Plan`: every registration in order (type, name, parent, dependencies, camelCase inputs with
secrets redacted to "[secret]") and the stack outputs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2

from config.settings import read_declarations, resolve_stack_config
from lib.zones import zone_id_prefix

ACCOUNT_ID = "123456789012"
SECRET = "[secret]"
UNKNOWN = "[unknown]"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"

# Physical ID prefixes, so that IDs in the plan read like the real ones.
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:kms/key:Key": "key",
    "aws:efs/fileSystem:FileSystem": "fs",
    "aws:efs/accessPoint:AccessPoint": "fsap",
    "aws:efs/mountTarget:MountTarget": "fsmt",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
}


def fake_zones(region: str) -> dict[str, str]:
    """Zone ID -> zone name of a fake account, in name order as AWS lists them: six zones whose
    names are shifted from their IDs, as each real account maps them its own way."""
    zones = {f"{zone_id_prefix(region)}-az{i}": f"{region}{'abcdef'[(i - 2) % 6]}" for i in range(1, 7)}
    return dict(sorted(zones.items(), key=lambda item: item[1]))


def fake_id(type_: str, name: str) -> str:
    digest = hashlib.sha256(f"{type_}/{name}".encode()).hexdigest()[:17]
    return f"{_ID_PREFIX.get(type_, 'id')}-{digest}"


def fake_secret(name: str) -> str:
    """The value a mocked random resource returns; tests search the plan for it."""
    return "MOCKSECRET" + hashlib.sha256(name.encode()).hexdigest()[:24]


def _clean(value: Any) -> Any:
    """Plain JSON of a registered input: secrets redacted, unknowns marked, 2.0 -> 2."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return SECRET
        if value.get(_SIG_KEY) == _RESOURCE_REF_SIG:
            return value.get("urn")
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == rpc.UNKNOWN:
        return UNKNOWN
    return value


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

    def as_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "dependencies": list(self.dependencies),
            "inputs": self.inputs,
            "protect": self.protect,
        }


class PlanMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor without resource references (which hang under pytest, see
    shared/notes/offline-pulumi.md), recording every RegisterResource request."""

    def __init__(self, mocks: FakeCloud) -> None:
        super().__init__(mocks)
        mocks.monitor = self
        self.registrations: list[Registration] = []

    def SupportsFeature(self, request: Any) -> Any:
        has = request.id not in ("outputValues", "resourceReferences")
        return type("SupportsFeatureResponse", (object,), {"hasSupport": has})

    def GetDeploymentInfo(self, request: Any) -> Any:
        info = super().GetDeploymentInfo(request)
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    custom=bool(request.custom),
                    parent=request.parent,
                    dependencies=tuple(sorted(request.dependencies)),
                    inputs=_clean(json_format.MessageToDict(request.object)),
                    protect=bool(request.protect),
                    aliases=tuple(str(a) for a in request.aliases),
                    retain_on_delete=bool(request.retainOnDelete),
                )
            )
        return response


class FakeCloud(pulumi_mocks.Mocks):
    """Plays AWS and pulumi-eks: deterministic IDs, and the outputs the program reads."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.monitor: PlanMonitor | None = None
        self.calls: list[str] = []

    def _register_ref(self, owner: str, type_: str, name: str, state: dict[str, Any]) -> dict[str, Any]:
        """A resource reference output, whose state the SDK reads back through getResource.
        Its URN names it as a child of `owner`, the remote component that creates it."""
        assert self.monitor is not None
        urn = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{owner}${type_}::{name}"
        rid = fake_id(type_, name)
        self.monitor.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, rid, state)
        return {_SIG_KEY: _RESOURCE_REF_SIG, "urn": urn, "id": rid}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        t, name, inputs = args.typ, args.name, dict(args.inputs)
        rid = fake_id(t, name)
        out: dict[str, Any] = dict(inputs)
        arn_prefix = f"arn:aws:{{}}:{self.region}:{ACCOUNT_ID}"
        if t == "eks:index:Cluster":
            cluster = inputs.get("name", name)
            issuer = f"oidc.eks.{self.region}.amazonaws.com/id/{hashlib.md5(name.encode()).hexdigest().upper()}"
            kubeconfig = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": cluster}]}
            out.update(
                kubeconfig=kubeconfig,
                kubeconfigJson=json.dumps(kubeconfig),
                clusterSecurityGroupId=fake_id("aws:ec2/securityGroup:SecurityGroup", f"{name}-eks-cluster-sg"),
                nodeSecurityGroupId=fake_id("aws:ec2/securityGroup:SecurityGroup", f"{name}-eks-cluster-sg"),
                oidcProviderArn=f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{issuer}",
                oidcProviderUrl=f"https://{issuer}",
                oidcIssuer=issuer,
                eksCluster=self._register_ref(
                    t,
                    "aws:eks/cluster:Cluster",
                    f"{name}-eksCluster",
                    {
                        "name": cluster,
                        "version": inputs.get("version", ""),
                        "endpoint": f"https://{hashlib.md5(name.encode()).hexdigest().upper()}.gr7.{self.region}.eks.amazonaws.com",
                    },
                ),
            )
        elif t == "eks:index:ManagedNodeGroup":
            asg = f"eks-{name}-{rid[-8:]}"
            node_group_state = {
                "nodeGroupName": name,
                "resources": [{"autoscalingGroups": [{"name": asg}], "remoteAccessSecurityGroupId": ""}],
            }
            out["nodeGroup"] = self._register_ref(
                t, "aws:eks/nodeGroup:NodeGroup", f"{name}-nodegroup", node_group_state
            )
        elif t == "random:index/randomId:RandomId":
            out["hex"] = hashlib.sha256(name.encode()).hexdigest()[: 2 * int(inputs["byteLength"])]
        elif t.startswith("random:index/random"):
            out["result"] = fake_secret(name)
            out["base64"] = fake_secret(name)
            out["hex"] = fake_secret(name)
        elif t == "aws:ec2/subnet:Subnet":
            out["availabilityZone"] = fake_zones(self.region)[inputs["availabilityZoneId"]]
        elif t == "aws:ec2/launchTemplate:LaunchTemplate":
            out.update(latestVersion=1, defaultVersion=1)
        elif t == "aws:iam/role:Role":
            out.update(arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", name=name)
        elif t == "aws:iam/policy:Policy":
            out.update(arn=f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}")
        elif t == "aws:kms/key:Key":
            out.update(arn=f"{arn_prefix.format('kms')}:key/{rid}", keyId=rid)
        elif t == "aws:rds/instance:Instance":
            host = f"{inputs.get('identifier', name)}.abcdefghijkl.{self.region}.rds.amazonaws.com"
            out.update(address=host, endpoint=f"{host}:5432", port=5432, arn=f"{arn_prefix.format('rds')}:db:{name}")
        elif t == "aws:efs/fileSystem:FileSystem":
            out.update(
                arn=f"{arn_prefix.format('elasticfilesystem')}:file-system/{rid}",
                dnsName=f"{rid}.efs.{self.region}.amazonaws.com",
            )
        elif t in ("aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener"):
            kind = {"LoadBalancer": "loadbalancer/net", "TargetGroup": "targetgroup", "Listener": "listener/net"}[
                t.split(":")[-1]
            ]
            out["arn"] = f"{arn_prefix.format('elasticloadbalancing')}:{kind}/{name}/{rid[-16:]}"
            if t.endswith("LoadBalancer"):
                out["dnsName"] = f"{name}-{rid[-10:]}.elb.{self.region}.amazonaws.com"
        elif "arn" not in out and t.startswith("aws:"):
            out["arn"] = f"{arn_prefix.format(t.split(':')[1].split('/')[0])}:{name}"
        return rid, out

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        # Each invoke is a read of the account at deploy time; the plan records them.
        self.calls.append(args.token)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = fake_zones(self.region)
            for f in args.args.get("filters") or []:
                if f["name"] == "zone-id":
                    zones = {z: n for z, n in zones.items() if z in f["values"]}
            return {"id": self.region, "zoneIds": list(zones), "names": list(zones.values())}, []
        return {}, []


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

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_} {name or ''}, found {[r.name for r in found]}")
        return found[0]

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
        self.logger = logging.Logger("offline-plan")
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_program(
    stack: str,
    config_overrides: Mapping[str, Any] | None = None,
    main: Callable[[], Mapping[str, Any]] | None = None,
) -> Plan:
    """Run the program for `stack` under mocks; `config_overrides` replace stack config keys
    (values as the CLI gives them: strings, or JSON-able values that are encoded here)."""
    config, region = resolve_stack_config(stack)
    for key, value in (config_overrides or {}).items():
        config[key] = value if isinstance(value, str) else json.dumps(value)
    project, _ = read_declarations()

    cloud = FakeCloud(region)
    monitor = PlanMonitor(cloud)
    warnings = _WarningLog()
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        cloud, project=project, stack=stack, preview=False, monitor=monitor, logger=warnings.logger
    )
    all_config = {f"{project}:{k}": v for k, v in config.items()}
    all_config["aws:region"] = region
    secret_keys = [f"{project}:existingDbPassword"] if "existingDbPassword" in config else []
    pulumi.runtime.set_all_config(all_config, secret_keys)

    if main is None:
        from program import main as program_main

        main = program_main

    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def _run() -> Any:
        exports = main()

        async def resolve() -> None:
            result["outputs"], result["secret"] = await _resolve_outputs(exports)

        return pulumi.Output.from_input(asyncio.ensure_future(resolve()))

    try:
        _run()
    except Exception as err:
        raise ProgramError(err, list(monitor.registrations)) from err
    return Plan(
        project=project,
        stack=stack,
        resources=sorted(monitor.registrations, key=lambda r: r.urn),  # registration order is not stable
        outputs=result["outputs"],
        secret_outputs=frozenset(result["secret"]),
        invokes=list(cloud.calls),
        warnings=warnings.messages,
    )
