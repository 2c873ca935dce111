"""The fake cloud the offline plan runs against: AWS and pulumi-eks as tables of fake outputs.

Every resource gets a deterministic ID with the real shape (`vpc-…`, `subnet-…`), its inputs
echoed back, and the outputs the program reads, from `FAKE_OUTPUTS` by type token. Every invoke
the program makes (a read of the account at deploy time) is answered from `FAKE_INVOKES`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks

# The SDK's wire markers (private names of pulumi/runtime/rpc.py): a map holding SIG_KEY is a
# special value, a secret or a resource reference by the signature it holds.
from pulumi.runtime.rpc import _special_resource_sig as RESOURCE_REF_SIG
from pulumi.runtime.rpc import _special_secret_sig as SECRET_SIG
from pulumi.runtime.rpc import _special_sig_key as SIG_KEY

from lib.network.zones import zone_id_prefix

if TYPE_CHECKING:
    from offline.mocks import PlanMonitor

__all__ = [
    "RESOURCE_REF_SIG",
    "SECRET_SIG",
    "SIG_KEY",
    "FakeCloud",
    "StackOutputs",
    "fake_id",
    "fake_secret",
    "fake_zones",
]

ACCOUNT_ID = "123456789012"
ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/instance:Instance": "i",
    "aws:ec2/networkInterface:NetworkInterface": "eni",
    "aws:kms/key:Key": "key",
    "aws:efs/fileSystem:FileSystem": "fs",
    "aws:efs/accessPoint:AccessPoint": "fsap",
    "aws:efs/mountTarget:MountTarget": "fsmt",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
}
"""Physical ID prefixes, so that IDs in the plan read like the real ones."""


def fake_id(type_: str, name: str) -> str:
    digest = hashlib.sha256(f"{type_}/{name}".encode()).hexdigest()[:17]
    return f"{ID_PREFIX.get(type_, 'id')}-{digest}"


def fake_secret(name: str) -> str:
    """The value a mocked random resource returns; tests search the plan for it."""
    return "MOCKSECRET" + hashlib.sha256(name.encode()).hexdigest()[:24]


def fake_zones(region: str) -> dict[str, str]:
    """Zone ID -> zone name of a fake account, in name order as AWS lists them: six zones whose
    names are shifted from their IDs, as each real account maps them its own way."""
    zones = {f"{zone_id_prefix(region)}-az{i}": f"{region}{'abcdef'[(i - 2) % 6]}" for i in range(1, 7)}
    return dict(sorted(zones.items(), key=lambda item: item[1]))


StackOutputs = tuple[Mapping[str, Any], frozenset[str]]
"""A stack's outputs and the names of those that are secret."""


class FakeCloud(pulumi_mocks.Mocks):
    """Plays AWS and pulumi-eks: deterministic IDs, and the outputs the program reads; and the
    Pulumi service for `StackReference`s, answered from `stacks` (name -> outputs)."""

    def __init__(self, region: str, stacks: Mapping[str, StackOutputs] | None = None) -> None:
        self.region = region
        self.stacks = dict(stacks or {})
        self.monitor: PlanMonitor | None = None
        self.calls: list[str] = []

    def stack_reference(self, name: str) -> dict[str, Any]:
        """The state of a `StackReference` as the engine gives it: secrets wrapped as secrets."""
        if name not in self.stacks:
            raise KeyError(f"unknown stack '{name}'; known: {sorted(self.stacks)}")
        outputs, secret = self.stacks[name]
        wrapped = {k: {SIG_KEY: SECRET_SIG, "value": v} if k in secret else v for k, v in outputs.items()}
        return {"name": name, "outputs": wrapped, "secretOutputNames": sorted(secret)}

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def reference(self, owner: str, type_: str, name: str, state: dict[str, Any]) -> dict[str, Any]:
        """A resource reference output, whose state the SDK reads back through getResource. Its
        URN names it as a child of `owner`, the remote component that creates it."""
        assert self.monitor is not None
        urn = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{owner}${type_}::{name}"
        rid = fake_id(type_, name)
        self.monitor.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, rid, state)
        return {SIG_KEY: RESOURCE_REF_SIG, "urn": urn, "id": rid}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            return str(args.resource_id), self.stack_reference(str(args.resource_id))
        rid = fake_id(args.typ, args.name)
        outputs: dict[str, Any] = dict(args.inputs)
        fake = FAKE_OUTPUTS.get(args.typ)
        if fake is not None:
            outputs.update(fake(self, args.name, dict(args.inputs), rid))
        if args.typ.startswith("aws:") and "arn" not in outputs:
            outputs["arn"] = self.arn(args.typ.split(":")[1].split("/")[0], args.name)
        return rid, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        # Each invoke is a read of the account at deploy time; the plan records them.
        self.calls.append(args.token)
        answer = FAKE_INVOKES.get(args.token)
        return (answer(self, dict(args.args)) if answer else {}), []


Fake = Callable[[FakeCloud, str, dict[str, Any], str], dict[str, Any]]
"""(cloud, resource name, inputs, id) -> outputs besides the echoed inputs."""


def _eks_cluster(cloud: FakeCloud, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    cluster = inputs.get("name", name)
    digest = hashlib.md5(name.encode()).hexdigest().upper()  # an ID, not a secret
    issuer = f"oidc.eks.{cloud.region}.amazonaws.com/id/{digest}"
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": cluster}]}
    sg = fake_id("aws:ec2/securityGroup:SecurityGroup", f"{name}-eks-cluster-sg")
    state = {
        "name": cluster,
        "version": inputs.get("version", ""),
        "endpoint": f"https://{digest}.gr7.{cloud.region}.eks.amazonaws.com",
        # EKS's pick when none is given and the VPC is in 10.0.0.0/8 (both stacks' VPCs are).
        "kubernetesNetworkConfig": {"ipFamily": "ipv4", "serviceIpv4Cidr": "172.20.0.0/16"},
        # The cluster CA's certificate, base64 (a fake of the real shape: a PEM block).
        "certificateAuthority": {
            "data": base64.b64encode(f"-----BEGIN CERTIFICATE-----\n{digest}\n".encode()).decode()
        },
    }
    return {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "clusterSecurityGroupId": sg,
        "nodeSecurityGroupId": sg,
        "oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{issuer}",
        "oidcProviderUrl": f"https://{issuer}",
        "oidcIssuer": issuer,
        "eksCluster": cloud.reference("eks:index:Cluster", "aws:eks/cluster:Cluster", f"{name}-eksCluster", state),
    }


def _managed_node_group(cloud: FakeCloud, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    state = {"nodeGroupName": name, "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{rid[-8:]}"}]}]}
    owner = "eks:index:ManagedNodeGroup"
    return {"nodeGroup": cloud.reference(owner, "aws:eks/nodeGroup:NodeGroup", f"{name}-nodegroup", state)}


def _random(cloud: FakeCloud, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    return {"result": fake_secret(name), "base64": fake_secret(name), "hex": fake_secret(name)}


def _private_key(cloud: FakeCloud, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    """pulumi-tls's PEMs, their body a `fake_secret` (scripts/airflow_render.py makes a real key)."""
    body = fake_secret(name)
    return {
        "privateKeyPem": f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n",
        "privateKeyPemPkcs8": f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n",
        "publicKeyPem": f"-----BEGIN PUBLIC KEY-----\n{name}\n-----END PUBLIC KEY-----\n",
    }


def _load_balancing(kind: str) -> Fake:
    def fake(cloud: FakeCloud, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
        resource = f"{kind}/{name}/{rid[-16:]}"
        # AWS's suffix drops `loadbalancer/` (net/<name>/<id>) and keeps `targetgroup/`.
        outputs = {
            "arn": cloud.arn("elasticloadbalancing", resource),
            "arnSuffix": resource.removeprefix("loadbalancer/"),
        }
        if kind == "loadbalancer/net":
            outputs["dnsName"] = f"{name}-{rid[-10:]}.elb.{cloud.region}.amazonaws.com"
        return outputs

    return fake


def _rds_instance(cloud: FakeCloud, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    host = f"{inputs.get('identifier', name)}.abcdefghijkl.{cloud.region}.rds.amazonaws.com"
    outputs: dict[str, Any] = {
        "address": host,
        "endpoint": f"{host}:5432",
        "port": 5432,
        "arn": cloud.arn("rds", f"db:{name}"),
        "resourceId": "db-" + hashlib.sha256(name.encode()).hexdigest()[:26].upper(),
    }
    if inputs.get("manageMasterUserPassword"):  # RDS names its managed secret rds!db-<uuid>
        secret = f"secret:rds!db-{hashlib.sha256(name.encode()).hexdigest()[:8]}-0000-4000-8000-000000000000-AbCdEf"
        key = inputs.get("masterUserSecretKmsKeyId", "")
        outputs["masterUserSecrets"] = [{"secretArn": cloud.arn("secretsmanager", secret), "kmsKeyId": key}]
    return outputs


def _s3_bucket(cloud: FakeCloud, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or f"{name}-{rid[-8:]}"  # auto-named, as Pulumi names it
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}


FAKE_OUTPUTS: dict[str, Fake] = {
    "eks:index:Cluster": _eks_cluster,
    "eks:index:ManagedNodeGroup": _managed_node_group,
    "random:index/randomBytes:RandomBytes": _random,
    "random:index/randomPassword:RandomPassword": _random,
    "tls:index/privateKey:PrivateKey": _private_key,
    "random:index/randomId:RandomId": lambda c, n, i, r: {
        "hex": hashlib.sha256(n.encode()).hexdigest()[: 2 * int(i["byteLength"])]
    },
    "aws:ec2/subnet:Subnet": lambda c, n, i, r: {"availabilityZone": fake_zones(c.region)[i["availabilityZoneId"]]},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda c, n, i, r: {"latestVersion": 1, "defaultVersion": 1},
    "aws:ec2/instance:Instance": lambda c, n, i, r: {
        "primaryNetworkInterfaceId": fake_id("aws:ec2/networkInterface:NetworkInterface", n)
    },
    "aws:iam/role:Role": lambda c, n, i, r: {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{n}", "name": n},
    "aws:iam/policy:Policy": lambda c, n, i, r: {"arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/{n}"},
    "aws:kms/key:Key": lambda c, n, i, r: {"arn": c.arn("kms", f"key/{r}"), "keyId": r},
    "aws:rds/instance:Instance": _rds_instance,
    # Secrets Manager appends six random characters to a secret's name in its ARN.
    "aws:secretsmanager/secret:Secret": lambda c, n, i, r: {"arn": c.arn("secretsmanager", f"secret:{n}-AbCdEf")},
    "aws:efs/fileSystem:FileSystem": lambda c, n, i, r: {
        "arn": c.arn("elasticfilesystem", f"file-system/{r}"),
        "dnsName": f"{r}.efs.{c.region}.amazonaws.com",
    },
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:cloudwatch/logGroup:LogGroup": lambda c, n, i, r: {"arn": c.arn("logs", f"log-group:{i.get('name', n)}")},
    # The rule's registry is the account's own (ECR's registryId).
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": lambda c, n, i, r: {"registryId": ACCOUNT_ID},
    "aws:lb/loadBalancer:LoadBalancer": _load_balancing("loadbalancer/net"),
    "aws:lb/targetGroup:TargetGroup": _load_balancing("targetgroup"),
    "aws:lb/listener:Listener": _load_balancing("listener/net"),
}


def _availability_zones(cloud: FakeCloud, args: dict[str, Any]) -> dict[str, Any]:
    zones = fake_zones(cloud.region)
    for f in args.get("filters") or []:
        if f["name"] == "zone-id":
            zones = {z: n for z, n in zones.items() if z in f["values"]}
    return {"id": cloud.region, "zoneIds": list(zones), "names": list(zones.values())}


def _subnet(cloud: FakeCloud, args: dict[str, Any]) -> dict[str, Any]:
    """A brought subnet: a /20 of 10.0.0.0/8 picked from its ID."""
    index = int(hashlib.md5(str(args.get("id")).encode()).hexdigest(), 16) % 4096
    return {"id": args.get("id"), "cidrBlock": f"10.{index // 16}.{(index % 16) * 16}.0/20"}


FAKE_INVOKES: dict[str, Callable[[FakeCloud, dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getSubnet:getSubnet": _subnet,
}
