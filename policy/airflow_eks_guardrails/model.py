"""What every policy reads: the stack's resources, as the offline plan or the Pulumi engine gives them.

Both sources become the same plain `Resource`s, so one function per policy serves both:
- the offline plan (`build/plan-<stack>.json`) carries each resource's inputs, its fake ID, and
  secrets and unknowns as the sentinels `[secret]` and `[unknown]`;
- `pulumi preview --policy-pack` hands pulumi-policy's resources, whose unknown values become
  `[unknown]` here (a check skips what it cannot know yet, instead of failing the whole policy);
  pulumi-policy 1.21 unwraps secrets before a policy sees them (`policy.py`, `AnalyzeStack` calls
  `deserialize_properties` without `proxy_secrets`), so the secret checks that need to know
  whether a value was marked secret run on the offline plan only (`Stack.marks_secrets`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .declaration import TAG_PREFIX, declared

SECRET = "[secret]"
UNKNOWN = "[unknown]"

# Resource types the policies read.
KMS_KEY = "aws:kms/key:Key"
DB = "aws:rds/instance:Instance"
EFS = "aws:efs/fileSystem:FileSystem"
EFS_BACKUP = "aws:efs/backupPolicy:BackupPolicy"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"
EKS_COMPONENT = "eks:index:Cluster"  # pulumi-eks' component: the offline plan's view
EKS_CLUSTER = "aws:eks/cluster:Cluster"  # its child, which the engine shows `pulumi preview`
NODE_GROUPS = ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
INSTANCE = "aws:ec2/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_SECRET = "kubernetes:core/v1:Secret"
K8S_PROVIDER = "pulumi:providers:kubernetes"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE = "aws:iam/role:Role"
INLINE_POLICIES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@dataclass(frozen=True)
class Resource:
    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False
    id: str = ""
    """The resource's ID when known (the offline plan's fake IDs), else ""."""

    def get(self, *path: str, default: Any = None) -> Any:
        """The value at `path` (keys of nested maps) in the props, `default` where it is absent."""
        value: Any = self.props
        for step in path:
            if not isinstance(value, Mapping) or step not in value:
                return default
            value = value[step]
        return value

    @property
    def tags(self) -> Mapping[str, str]:
        tags = self.props.get("tags")
        return tags if isinstance(tags, Mapping) else {}


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str
    """What is wrong and what to change."""


@dataclass(frozen=True)
class Stack:
    resources: tuple[Resource, ...]
    marks_secrets: bool = False
    """Secret values appear as `[secret]` (the offline plan), so a plain string is known to be plain."""
    name: str = ""

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def by_id(self, *types: str) -> dict[str, Resource]:
        return {r.id: r for r in self.of_type(*types) if r.id}

    @cached_property
    def declaration(self) -> tuple[bool, dict[str, str]]:
        """(production, waivers) from the program's tags, which every AWS resource it tags carries
        alike (merged, so that one resource is enough); a stack without them is production."""
        merged = {k: v for r in self.resources for k, v in r.tags.items() if k.startswith(TAG_PREFIX)}
        return declared(merged)

    @property
    def production(self) -> bool:
        return self.declaration[0]

    @property
    def waivers(self) -> dict[str, str]:
        return self.declaration[1]


def nat_instances(stack: Stack) -> list[Resource]:
    """The stack's NAT instances: the EC2 instances that forward (source/destination check off)."""
    return [i for i in stack.of_type(INSTANCE) if i.props.get("sourceDestCheck") is False]


def violation(policy: str, resource: Resource, message: str) -> Violation:
    return Violation(policy, resource.urn, message)


def known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def plan_stack(plan: Mapping[str, Any]) -> Stack:
    """A stack from an offline plan's data."""
    resources = tuple(
        Resource(r["urn"], r["type"], r["name"], r["inputs"], bool(r.get("protect")), r.get("id", ""))
        for r in plan["resources"]
    )
    return Stack(resources, marks_secrets=True, name=plan.get("stack", ""))


def walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, leaf value) under `value`."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, str(index)))
    else:
        yield path, value
