"""Which input changes make a provider replace a resource instead of updating it, per resource type.

Nothing installable offline carries these rules: the Python wheels of pulumi-aws 7.51.1,
pulumi-kubernetes 4.34.2, pulumi-eks 4.4.0 and pulumi-random 4.21.4 hold only the SDK and a
`pulumi-plugin.json`, the npm packages (@pulumi/random 4.21.2, @pulumi/kubernetes 4.34.2; @pulumi/aws
7.51 is not published there) only the SDK too, and the bridged schemas hold no `replaceOnChanges`:
the providers decide at `pulumi preview` (a bridged provider from the Terraform schema's `ForceNew`
and `RequiresReplace`, pulumi-kubernetes from its `forceNew` table, Helm releases and the provider's
own config in code). So each rule below is read from the provider's source, cited per row:
repository, version or commit, file. Paths are the Pulumi inputs as the plan holds them
(camelCase; a Terraform block of one item is an object), `[*]` any list element; a change at, below
or above a path (the whole object added or removed) replaces the resource.

pulumi-aws 7.x bridges terraform-provider-aws 6.x; the rows marked `read at` were read in
hashicorp/terraform-provider-aws at that commit (a 6.x one); the others name the file whose schema
holds the rule, which the repository's size kept from being brought here whole (a 500 MB limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TF_AWS = "hashicorp/terraform-provider-aws 6.x (bridged by pulumi-aws 7.51.1)"
TF_RANDOM = "hashicorp/terraform-provider-random f8d869dc98d9 (bridged by pulumi-random 4.21, provider/go.mod)"
K8S = "pulumi/pulumi-kubernetes 94977969 (v4.32.0+27; pinned 4.34.2)"
EKS = "pulumi/pulumi-eks 7bf0c1b1 (after v4.3.0; pinned 4.4.0)"


@dataclass(frozen=True)
class Rule:
    source: str
    """Where the rule is declared: repository, version or commit, file."""
    replace_on: tuple[str, ...] = ()
    every_input: bool = False
    """Every input replaces it (a generated value: pulumi-random)."""
    conditional: Mapping[str, str] = field(default_factory=dict)
    """Paths whose change replaces it, or fails, depending on the values: what happens."""
    ignored: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """An input flag -> the paths the provider ignores when the flag is true."""
    stateful: str = ""
    """What is lost with it when replaced or deleted."""
    child: str = ""
    """For a remote component (pulumi-eks): the child that the replacement applies to."""
    update_outputs: bool = False
    """An update gives it new outputs that dependents take (a launch template's new version)."""


def _tf(path: str, read_at: str = "") -> str:
    return f"{TF_AWS}: {path}" + (f" (read at {read_at})" if read_at else "")


_NAME = ("name", "namePrefix")

RULES: dict[str, Rule] = {
    # --- stateful ---
    "aws:rds/instance:Instance": Rule(
        _tf(
            "internal/service/rds/instance.go",
            "00e4b238 and 552c0468, 4.x versions, the only ones the search index holds: 6.x not read",
        ),
        (
            "availabilityZone",
            "characterSetName",
            "customIamInstanceProfile",
            "dbName",
            "engine",
            "identifier",
            "identifierPrefix",
            "kmsKeyId",
            "ncharCharacterSetName",
            "restoreToPointInTime",
            "s3Import",
            "snapshotIdentifier",
            "storageEncrypted",
            "timezone",
            "username",
        ),
        conditional={"engineVersion": "a major version needs allowMajorVersionUpgrade, then upgrades in place"},
        stateful="the metadata database (every DAG run, connection and variable): restore it from a snapshot",
    ),
    "aws:efs/fileSystem:FileSystem": Rule(
        _tf("internal/service/efs/file_system.go", "0389f467"),
        ("availabilityZoneName", "creationToken", "encrypted", "kmsKeyId", "performanceMode"),
        stateful="the shared file system (the DAGs and logs volumes)",
    ),
    "aws:kms/key:Key": Rule(
        _tf("internal/service/kms/key.go", "00a35305"),
        ("customKeyStoreId", "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"),
        stateful="a KMS key: what it encrypted is unreadable once the old key's deletion window ends",
    ),
    "aws:s3/bucket:Bucket": Rule(
        _tf("internal/service/s3/bucket.go"),
        ("bucket", "bucketPrefix", "objectLockEnabled"),
        stateful="the bucket's objects (the task logs)",
    ),
    "aws:cloudwatch/logGroup:LogGroup": Rule(
        _tf("internal/service/logs/group.go", "0073593e"),
        ("name", "namePrefix", "logGroupClass"),
        stateful="the log group's events (an audit trail kept for its retention)",
    ),
    "eks:index:Cluster": Rule(
        f"{EKS}: nodejs/eks/cluster/cluster.ts (what each input becomes on the aws.eks.Cluster child, "
        "which ignores changes to bootstrapSelfManagedAddons and "
        "accessConfig.bootstrapClusterCreatorAdminPermissions); " + _tf("internal/service/eks/cluster.go", "00555dc5"),
        ("name", "serviceRole", "kubernetesServiceIpAddressRange", "ipFamily"),
        conditional={
            "encryptionConfigKeyArn": "removing it replaces the cluster (CustomizeDiff); EKS cannot change "
            "the key of an encrypted cluster, so a new key fails the update",
            "vpcId": "subnets of another VPC fail the update: EKS keeps a cluster in its VPC",
        },
        stateful="the EKS cluster and everything running in it",
        child="aws:eks/cluster:Cluster",
    ),
    "eks:index:ManagedNodeGroup": Rule(
        f"{EKS}: nodejs/eks/nodes/nodegroup.ts (its args go to the aws.eks.NodeGroup child, `cluster` as "
        "clusterName, `nodeRole` as nodeRoleArn; ignoreScalingChanges ignores scalingConfig.desiredSize); "
        + _tf("internal/service/eks/node_group.go", "012e0a32"),
        (
            "amiType",
            "capacityType",
            "cluster",
            "clusterName",
            "diskSize",
            "instanceTypes",
            "launchTemplate.id",
            "launchTemplate.name",
            "nodeGroupName",
            "nodeGroupNamePrefix",
            "nodeRole",
            "nodeRoleArn",
            "remoteAccess",
            "subnetIds",
        ),
        ignored={"ignoreScalingChanges": ("scalingConfig.desiredSize",)},
        stateful="the group's nodes (their pods are evicted and rescheduled)",
        child="aws:eks/nodeGroup:NodeGroup",
    ),
    "random:index/randomPassword:RandomPassword": Rule(
        f"{TF_RANDOM}: internal/provider/resource_password.go (read at 0117aa60: RequiresReplace on every attribute)",
        every_input=True,
        stateful="a generated password: a new one is generated",
    ),
    "random:index/randomBytes:RandomBytes": Rule(
        f"{TF_RANDOM}: internal/provider/resource_bytes.go (length and keepers RequiresReplace)",
        every_input=True,
        stateful="a generated key (the Fernet or a signing key): a new one is generated, what the old one "
        "encrypted or signed is unreadable",
    ),
    "random:index/randomId:RandomId": Rule(
        f"{TF_RANDOM}: internal/provider/resource_id.go (byte_length, prefix and keepers RequiresReplace)",
        every_input=True,
        stateful="a generated identifier (a name suffix): what is named after it is renamed",
    ),
    "tls:index/privateKey:PrivateKey": Rule(
        "hashicorp/terraform-provider-tls 0fc92433 (bridged by pulumi-tls 5.6): internal/provider/"
        "resource_private_key.go (algorithm, rsa_bits, ecdsa_curve, openssh_comment RequiresReplace; Update a no-op)",
        every_input=True,
        stateful="a generated key pair (the JWT signing key): a new one is generated, tokens signed with the "
        "old one are refused",
    ),
    # --- network ---
    "aws:ec2/vpc:Vpc": Rule(_tf("internal/service/ec2/vpc_.go"), ("cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength")),
    "aws:ec2/subnet:Subnet": Rule(
        _tf("internal/service/ec2/vpc_subnet.go"),
        ("availabilityZone", "availabilityZoneId", "cidrBlock", "ipv6Native", "outpostArn", "vpcId"),
    ),
    "aws:ec2/internetGateway:InternetGateway": Rule(_tf("internal/service/ec2/vpc_internet_gateway.go")),
    "aws:ec2/eip:Eip": Rule(
        _tf("internal/service/ec2/ec2_eip.go"),
        ("address", "customerOwnedIpv4Pool", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool"),
    ),
    "aws:ec2/natGateway:NatGateway": Rule(
        _tf("internal/service/ec2/vpc_nat_gateway.go"),
        ("allocationId", "connectivityType", "privateIp", "subnetId"),
    ),
    # The NAT instance: no data of its own; a replacement cuts the nodes' egress until the new one
    # has booted (the routes follow its new interface in the same update).
    "aws:ec2/instance:Instance": Rule(
        _tf("internal/service/ec2/ec2_instance.go (the launch_template block is ForceNew, its version included)"),
        (
            "ami",
            "associatePublicIpAddress",
            "availabilityZone",
            "ebsOptimized",
            "hibernation",
            "hostId",
            "instanceMarketOptions",
            "ipv6Addresses",
            "keyName",
            "launchTemplate",
            "placementGroup",
            "privateIp",
            "subnetId",
            "tenancy",
        ),
    ),
    "aws:ec2/routeTable:RouteTable": Rule(_tf("internal/service/ec2/vpc_route_table.go"), ("vpcId",)),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": Rule(
        _tf("internal/service/ec2/vpc_route_table_association.go"), ("gatewayId", "subnetId")
    ),
    # ForceNew as read in internal/service/ecr/pull_through_cache_rule.go (resource schema, not at the
    # pinned provider's tag); a repository creation template is keyed by its prefix.
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": Rule(
        _tf("internal/service/ecr/pull_through_cache_rule.go"), ("ecrRepositoryPrefix", "upstreamRegistryUrl")
    ),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": Rule(
        _tf("internal/service/ecr/repository_creation_template.go"), ("prefix",)
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": Rule(
        _tf("internal/service/ec2/vpc_endpoint.go"), ("serviceName", "vpcEndpointType", "vpcId")
    ),
    "aws:ec2/flowLog:FlowLog": Rule(
        _tf("internal/service/ec2/vpc_flow_log.go"),
        (
            "deliverCrossAccountRole",
            "destinationOptions",
            "eniId",
            "iamRoleArn",
            "logDestination",
            "logDestinationType",
            "logFormat",
            "maxAggregationInterval",
            "subnetId",
            "trafficType",
            "transitGatewayAttachmentId",
            "transitGatewayId",
            "vpcId",
        ),
    ),
    "aws:ec2/securityGroup:SecurityGroup": Rule(
        _tf("internal/service/ec2/vpc_security_group.go"), ("description", "name", "namePrefix", "vpcId")
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": Rule(
        _tf("internal/service/ec2/vpc_default_security_group.go"), ("vpcId",)
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": Rule(
        _tf("internal/service/ec2/vpc_security_group_ingress_rule.go (RequiresReplace)"), ("securityGroupId",)
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": Rule(
        _tf("internal/service/ec2/vpc_security_group_egress_rule.go (shares the ingress rule's schema)"),
        ("securityGroupId",),
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": Rule(
        _tf("internal/service/ec2/ec2_launch_template.go (any other change makes a new version: latest_version)"),
        _NAME,
        update_outputs=True,
    ),
    "aws:autoscaling/tag:Tag": Rule(
        _tf("internal/service/autoscaling/group_tag.go", "050ac111"), ("autoscalingGroupName", "tag.key")
    ),
    # --- EKS, IAM, KMS ---
    "aws:eks/addon:Addon": Rule(_tf("internal/service/eks/addon.go", "00a35305"), ("addonName", "clusterName")),
    "aws:iam/role:Role": Rule(_tf("internal/service/iam/role.go"), ("name", "namePrefix", "path")),
    "aws:iam/policy:Policy": Rule(_tf("internal/service/iam/policy.go"), ("description", "name", "namePrefix", "path")),
    "aws:iam/rolePolicy:RolePolicy": Rule(_tf("internal/service/iam/role_policy.go"), ("name", "namePrefix", "role")),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Rule(
        _tf("internal/service/iam/role_policy_attachment.go"), ("policyArn", "role")
    ),
    "aws:kms/alias:Alias": Rule(_tf("internal/service/kms/alias.go"), _NAME),
    "aws:secretsmanager/secret:Secret": Rule(_tf("internal/service/secretsmanager/secret.go"), _NAME),
    # A new value is a new version (ForceNew): AWSCURRENT moves to it, the old one becomes AWSPREVIOUS.
    "aws:secretsmanager/secretVersion:SecretVersion": Rule(
        _tf("internal/service/secretsmanager/secret_version.go"), ("secretBinary", "secretId", "secretString")
    ),
    # --- database ---
    "aws:rds/subnetGroup:SubnetGroup": Rule(_tf("internal/service/rds/subnet_group.go"), _NAME),
    "aws:rds/parameterGroup:ParameterGroup": Rule(
        _tf("internal/service/rds/parameter_group.go"),
        ("description", "family", "name", "namePrefix"),
        conditional={"parameters": "a static parameter (apply_method pending-reboot) waits for a reboot"},
    ),
    "aws:rds/instanceDesiredState:InstanceDesiredState": Rule(
        _tf("internal/service/rds/instance_state.go (RequiresReplace)"), ("identifier",)
    ),
    "aws:rds/eventSubscription:EventSubscription": Rule(_tf("internal/service/rds/event_subscription.go"), _NAME),
    # --- storage ---
    "aws:efs/accessPoint:AccessPoint": Rule(
        _tf("internal/service/efs/access_point.go"), ("fileSystemId", "posixUser", "rootDirectory")
    ),
    "aws:efs/backupPolicy:BackupPolicy": Rule(_tf("internal/service/efs/backup_policy.go"), ("fileSystemId",)),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": Rule(
        _tf("internal/service/efs/file_system_policy.go"), ("fileSystemId",)
    ),
    "aws:efs/mountTarget:MountTarget": Rule(
        _tf("internal/service/efs/mount_target.go"),
        ("fileSystemId", "ipAddress", "ipAddressType", "ipv6Address", "subnetId"),
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": Rule(
        _tf("internal/service/s3/bucket_lifecycle_configuration.go (RequiresReplace)"),
        ("bucket", "expectedBucketOwner"),
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": Rule(
        _tf("internal/service/s3/bucket_ownership_controls.go"), ("bucket",)
    ),
    "aws:s3/bucketPolicy:BucketPolicy": Rule(_tf("internal/service/s3/bucket_policy.go"), ("bucket",)),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Rule(
        _tf("internal/service/s3/bucket_public_access_block.go"), ("bucket", "expectedBucketOwner")
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": Rule(
        _tf("internal/service/s3/bucket_server_side_encryption_configuration.go"), ("bucket", "expectedBucketOwner")
    ),
    # --- load balancer ---
    "aws:ec2/subnetCidrReservation:SubnetCidrReservation": Rule(
        _tf("internal/service/ec2/vpc_subnet_cidr_reservation.go", "15f63f00"),
        ("cidrBlock", "description", "reservationType", "subnetId"),  # no update: every argument ForceNew
    ),
    "aws:lb/loadBalancer:LoadBalancer": Rule(
        _tf("internal/service/elbv2/load_balancer.go (customizeDiffLoadBalancerNLB read; schema not)"),
        ("internal", "loadBalancerType", "name", "namePrefix", "subnetMappings"),
        conditional={
            "subnets": "a network load balancer is replaced when a subnet is removed (CustomizeDiff)",
            "securityGroups": "a network load balancer is replaced when its security groups are all removed "
            "or first added (CustomizeDiff)",
        },
    ),
    "aws:lb/targetGroup:TargetGroup": Rule(
        _tf("internal/service/elbv2/target_group.go"),
        (
            "ipAddressType",
            "name",
            "namePrefix",
            "port",
            "protocol",
            "protocolVersion",
            "targetType",
            "vpcId",
        ),
    ),
    "aws:lb/listener:Listener": Rule(_tf("internal/service/elbv2/listener.go"), ("loadBalancerArn",)),
    # --- observability ---
    "aws:cloudwatch/metricAlarm:MetricAlarm": Rule(
        _tf("internal/service/cloudwatch/metric_alarm.go (alarm_name)", "055611a6"), ("name",)
    ),
    "aws:cloudwatch/dashboard:Dashboard": Rule(_tf("internal/service/cloudwatch/dashboard.go"), ("dashboardName",)),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": Rule(
        _tf("internal/service/logs/metric_filter.go"), ("logGroupName", "name")
    ),
    "aws:sns/topic:Topic": Rule(_tf("internal/service/sns/topic.go"), ("fifoTopic", "name", "namePrefix")),
    "aws:sns/topicPolicy:TopicPolicy": Rule(_tf("internal/service/sns/topic_policy.go"), ("arn",)),
    # --- Kubernetes (the provider's diff, not a schema) ---
    "pulumi:providers:kubernetes": Rule(
        f"{K8S}: provider/pkg/provider/provider.go DiffConfig (a new active cluster in the kubeconfig, "
        "another context or cluster, clusterIdentifier, renderYamlToDirectory); the engine then replaces "
        "every resource the provider manages",
        ("clusterIdentifier", "cluster", "context", "kubeconfig", "renderYamlToDirectory"),
    ),
    "kubernetes:helm.sh/v3:Release": Rule(
        f"{K8S}: provider/pkg/provider/helm_release.go Diff (forceNewFields .name and .namespace; values, "
        "version and the rest upgrade the release in place)",
        ("name", "namespace"),
    ),
}

_K8S_DIFF = f"{K8S}: provider/pkg/provider/diff.go forceNew"
_METADATA = ("metadata.name", "metadata.namespace")
_SELECTOR = ("spec.selector",)
_K8S_KINDS: dict[str, tuple[str, ...]] = {
    # The program's provider sets neither enableSecretMutable nor enableConfigMapMutable, so their
    # data are replace-on-change (diff.go: `!k.enableSecretMutable || clients.IsImmutable(obj)`).
    "kubernetes:core/v1:Secret": ("type", "data", "stringData"),
    "kubernetes:core/v1:ConfigMap": ("data", "binaryData"),
    "kubernetes:core/v1:Namespace": (),
    "kubernetes:core/v1:ServiceAccount": (),
    # A Job's template is immutable: a change replaces the Job, which runs again (the roles Job).
    "kubernetes:batch/v1:Job": ("spec.selector", "spec.template"),
    "kubernetes:core/v1:PersistentVolume": tuple(
        f"spec.{source}"
        for source in (
            "awsElasticBlockStore",
            "azureDisk",
            "azureFile",
            "cephfs",
            "cinder",
            "csi",
            "fc",
            "flexVolume",
            "flocker",
            "gcePersistentDisk",
            "glusterfs",
            "hostPath",
            "iscsi",
            "local",
            "nfs",
            "photonPersistentDisk",
            "portworxVolume",
            "quobyte",
            "rbd",
            "scaleIO",
            "storageos",
            "vsphereVolume",
        )
    ),
    "kubernetes:core/v1:PersistentVolumeClaim": (
        "spec.accessModes",
        "spec.selector",
        "spec.storageClassName",
        "spec.volumeName",
    ),
    "kubernetes:apps/v1:Deployment": _SELECTOR,
    "kubernetes:apps/v1:StatefulSet": (
        "spec.podManagementPolicy",
        "spec.revisionHistoryLimit",
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
    ),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": (),
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": (),
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": (),
    "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding": (),
}
for _type, _paths in _K8S_KINDS.items():
    RULES[_type] = Rule(_K8S_DIFF + " (every kind: metadata.name, metadata.namespace)", (*_METADATA, *_paths))


def rule_for(type_: str) -> Rule | None:
    """The type's rule; None for a type nothing here covers (a component of this program has no
    state of its own, so it needs none: `covered`)."""
    return RULES.get(type_)


def covered(type_: str) -> bool:
    """The diff can classify it: a rule, or a component of this program (`airflow:index:...`),
    which holds no state and is never replaced on its own."""
    return type_ in RULES or type_.startswith("airflow:")
