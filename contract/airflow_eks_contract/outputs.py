"""The platform's stack outputs, defined once: names, types, descriptions and which are secret.

The platform program builds a `PlatformOutputs` and exports exactly its fields; consuming stacks
read them back, typed, with `airflow_eks_contract.read_platform`. The contract is versioned
(`CONTRACT_VERSION`, semantic): adding an output is a minor change; removing or renaming one,
changing its type or making a secret plain is a major one (`compatibility`).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

CONTRACT_VERSION = "2.0.0"

TYPE_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    list[str]: "list of strings",
    dict[str, str]: "map of strings",
}
"""The value types an output may have, by the name the contract and its README give them."""


def _output(description: str, *, secret: bool = False, since: str = "1.0.0") -> Any:
    return dataclasses.field(metadata={"description": description, "secret": secret, "since": since})


@dataclass(frozen=True)
class PlatformOutputs:
    """Every stack output of the airflow-eks platform. Each is exported whatever the stack's
    config: `""` (or an empty list) where it does not apply, so that readers always find it."""

    vpc_id: pulumi.Output[str] = _output("VPC ID.")
    vpc_availability_zones: pulumi.Output[list[str]] = _output(
        "The zones' names in this account, in the order of every per-AZ list."
    )
    vpc_availability_zone_ids: pulumi.Output[list[str]] = _output("The zone IDs, in the same order.")
    vpc_public_subnet_ids: pulumi.Output[list[str]] = _output("Public subnets, one per AZ.")
    vpc_node_subnet_ids: pulumi.Output[list[str]] = _output("Private node (and NLB) subnets, one per AZ.")
    vpc_data_subnet_ids: pulumi.Output[list[str]] = _output("Private data subnets (RDS, EFS), one per AZ.")
    vpc_nat_gateway_ids: pulumi.Output[list[str]] = _output(
        "NAT gateways created (empty with a brought VPC or a NAT instance)."
    )
    vpc_flow_log_group_name: pulumi.Output[str] = _output(
        "CloudWatch log group of the VPC's flow logs (all traffic, `auditLogRetentionDays`), a brought VPC's too.",
        since="1.3.0",
    )
    cluster_name: pulumi.Output[str] = _output("EKS cluster name.")
    cluster_endpoint: pulumi.Output[str] = _output("Kubernetes API server URL.")
    cluster_kubernetes_version: pulumi.Output[str] = _output("Kubernetes version.")
    cluster_oidc_provider_arn: pulumi.Output[str] = _output("IAM OIDC provider, for IRSA roles of other stacks.")
    cluster_security_group_id: pulumi.Output[str] = _output("The security group EKS created for the cluster and nodes.")
    cluster_node_security_group_id: pulumi.Output[str] = _output(
        "The `nodes` group every node carries; admit it to reach your own services from pods."
    )
    cluster_secrets_kms_key_arn: pulumi.Output[str] = _output("KMS key encrypting Kubernetes secrets.")
    cluster_log_group_name: pulumi.Output[str] = _output(
        "CloudWatch log group of the EKS control-plane logs (api, audit, authenticator; `auditLogRetentionDays`).",
        since="1.3.0",
    )
    cluster_kubeconfig: pulumi.Output[str] = _output(
        "Kubeconfig, as JSON (uses `aws eks get-token`): a `kubernetes.Provider(kubeconfig=...)`.", secret=True
    )
    node_group_names: pulumi.Output[dict[str, str]] = _output("Configured node group name → EKS node group name.")
    node_group_role_arn: pulumi.Output[str] = _output("IAM role of the nodes.")
    db_address: pulumi.Output[str] = _output("Host name of the metadata database.")
    db_port: pulumi.Output[int] = _output("Its port.")
    db_name: pulumi.Output[str] = _output("The Airflow metadata database.")
    db_security_group_id: pulumi.Output[str] = _output(
        "Security group of the created database (admits PgBouncer's nodes on 5432); with a brought database, "
        "`existingDbSecurityGroupId`."
    )
    db_kms_key_arn: pulumi.Output[str] = _output(
        'KMS key of the database storage and Performance Insights (`""` with a brought database).'
    )
    efs_file_system_id: pulumi.Output[str] = _output("EFS file system of DAGs and logs.")
    efs_dags_access_point_id: pulumi.Output[str] = _output("Access point of `/dags` (uid 50000, gid 0).")
    efs_logs_access_point_id: pulumi.Output[str] = _output("Access point of `/logs` (uid 50000, gid 0).")
    efs_dags_claim_name: pulumi.Output[str] = _output("PVC of the DAGs volume in `airflow_namespace`.")
    efs_logs_claim_name: pulumi.Output[str] = _output("PVC of the logs volume in `airflow_namespace`.")
    airflow_namespace: pulumi.Output[str] = _output(
        "Kubernetes namespace of Airflow, its task pods and their service account."
    )
    airflow_url: pulumi.Output[str] = _output("URL of the Airflow UI / API through the internal NLB.")
    airflow_release_name: pulumi.Output[str] = _output("Helm release name of Airflow.")
    airflow_chart_version: pulumi.Output[str] = _output("Version of the Airflow chart deployed.")
    airflow_admin_password: pulumi.Output[str] = _output(
        'Password of the `admin` user (`""` when `airflowCreateAdminUser` is false).', secret=True
    )
    airflow_worker_service_account: pulumi.Output[str] = _output(
        "Kubernetes service account every task pod runs as, in `airflow_namespace`.", since="1.1.0"
    )
    airflow_worker_role_arn: pulumi.Output[str] = _output(
        "IAM role the task pods assume (IRSA), with no policy from the platform: attach your team's.",
        since="1.1.0",
    )
    airflow_worker_role_name: pulumi.Output[str] = _output(
        "Name of that role, for `aws.iam.RolePolicyAttachment(role=...)`.", since="1.1.0"
    )
    nlb_dns_name: pulumi.Output[str] = _output("DNS name of the internal NLB.")
    nlb_arn: pulumi.Output[str] = _output("ARN of the internal NLB.")
    nlb_security_group_id: pulumi.Output[str] = _output("Security group of the NLB (admits `nlbAllowedCidrs`).")
    addon_load_balancer_controller_role_arn: pulumi.Output[str] = _output(
        "IRSA role of the AWS Load Balancer Controller."
    )
    addon_cluster_autoscaler_role_arn: pulumi.Output[str] = _output("IRSA role of the Cluster Autoscaler.")
    sns_alerts_topic_arn: pulumi.Output[str] = _output(
        'SNS topic every alarm notifies (`alarmTopicArn` when given; `""` when `alarms` is false): '
        "subscribe your own endpoints.",
        since="1.2.0",
    )
    cloudwatch_dashboard_url: pulumi.Output[str] = _output(
        'Console address of the stack\'s CloudWatch dashboard (`""` when `dashboard` is false).', since="1.2.0"
    )
    cloudwatch_metrics_namespace: pulumi.Output[str] = _output(
        'CloudWatch namespace of Airflow\'s StatsD metrics (`""` when `clusterMetrics` is false).', since="1.2.0"
    )
    cloudwatch_container_log_group: pulumi.Output[str] = _output(
        'Log group of the pods\' container logs (`""` when `clusterMetrics` is false).', since="1.2.0"
    )
    task_logs_bucket_name: pulumi.Output[str] = _output(
        'S3 bucket of Airflow\'s remote task logs (`""` when `remoteLogs` is false).', since="1.2.0"
    )
    task_logs_role_arn: pulumi.Output[str] = _output(
        'IAM role that reads and writes those logs (`""` when `remoteLogs` is false).', since="1.2.0"
    )
    secrets_backend_role_arn: pulumi.Output[str] = _output(
        "IAM role the API server, scheduler, DAG processor and triggerer read connections and variables from "
        'Secrets Manager with (`""` when `secretsManagerBackend` is false).',
        since="2.0.0",
    )
    secrets_kms_key_arn: pulumi.Output[str] = _output(
        'KMS key to create those secrets with, teams\' included (`""` when `secretsManagerBackend` is false).',
        since="2.0.0",
    )
    team_role_arns: pulumi.Output[dict[str, str]] = _output(
        "Team → its task pods' IAM role (IRSA), which only its own service account may assume.", since="2.0.0"
    )
    team_role_names: pulumi.Output[dict[str, str]] = _output(
        "Team → that role's name, for `aws.iam.RolePolicyAttachment(role=...)`.", since="2.0.0"
    )
    team_service_accounts: pulumi.Output[dict[str, str]] = _output(
        "Team → its service account in `airflow_namespace` (a DAG's `pod_override` serviceAccountName).",
        since="2.0.0",
    )
    team_secrets_prefixes: pulumi.Output[dict[str, str]] = _output(
        "Team → its Secrets Manager prefix (`/connections/<id>`, `/variables/<key>` under it), readable only "
        "by its role.",
        since="2.0.0",
    )
    team_deployer_role_arns: pulumi.Output[dict[str, str]] = _output(
        "Team → the IAM role its stack assumes to manage its `<team>-connections` Secret in `airflow_namespace` "
        "(a namespaced Kubernetes Role, no cluster-admin).",
        since="2.0.0",
    )
    team_kubeconfigs: pulumi.Output[dict[str, str]] = _output(
        "Team → a kubeconfig (JSON) that authenticates as its deployer role (`aws eks get-token --role-arn`); "
        "it holds no credential.",
        since="2.0.0",
    )
    task_image_repositories: pulumi.Output[list[str]] = _output(
        "Image repositories tasks may run in besides the platform's Airflow image (`taskImageRepositories`).",
        since="2.0.0",
    )
    contract_version: pulumi.Output[str] = _output(
        "Version of this contract the stack publishes (`CONTRACT_VERSION`).", since="1.1.0"
    )


@dataclass(frozen=True)
class OutputSpec:
    """What the contract says of one output."""

    name: str
    value_type: Any
    """`str`, `int`, `list[str]` or `dict[str, str]`."""
    description: str
    secret: bool
    since: str
    """Contract version that added it."""

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.value_type]


def output_specs() -> tuple[OutputSpec, ...]:
    """The contract's outputs, in declaration order."""
    hints = typing.get_type_hints(PlatformOutputs)
    specs = []
    for f in dataclasses.fields(PlatformOutputs):
        (value_type,) = typing.get_args(hints[f.name])  # Output[T] -> T
        specs.append(
            OutputSpec(f.name, value_type, f.metadata["description"], f.metadata["secret"], f.metadata["since"])
        )
    return tuple(specs)


def as_exports(outputs: PlatformOutputs) -> dict[str, pulumi.Output[Any]]:
    """The stack outputs to export, by name; the contract's secrets made secret whatever their source."""
    return {
        spec.name: pulumi.Output.secret(value) if spec.secret else value
        for spec in output_specs()
        for value in [getattr(outputs, spec.name)]
    }


def published(version: str = CONTRACT_VERSION) -> dict[str, Any]:
    """The contract as committed in a snapshot: its version and each output's type and secrecy."""
    return {
        "version": version,
        "outputs": {s.name: {"type": s.type_name, "secret": s.secret} for s in output_specs()},
    }


def version_tuple(version: str) -> tuple[int, ...]:
    """`"1.10.0"` -> `(1, 10, 0)`, which orders versions as numbers."""
    return tuple(int(part) for part in version.split("."))


def compatibility(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Why `new` may not follow `old` (two `published()` snapshots); empty when it may. Removing,
    renaming or retyping an output, or making a secret plain, needs a new major version; adding
    one needs at least a new minor version; the version never goes back."""
    before, after = old["outputs"], new["outputs"]
    broken = [f"'{n}' was removed (or renamed)" for n in before if n not in after]
    broken += [
        f"'{n}' changed type from {before[n]['type']} to {after[n]['type']}"
        for n in before
        if n in after and before[n]["type"] != after[n]["type"]
    ]
    broken += [f"'{n}' is no longer secret" for n in before if n in after and before[n]["secret"] > after[n]["secret"]]
    added = [n for n in after if n not in before]
    old_version, new_version = version_tuple(old["version"]), version_tuple(new["version"])
    problems = []
    if broken and new_version[0] <= old_version[0]:
        problems.append(f"{'; '.join(broken)}: a breaking change, which needs a major version above {old['version']}")
    if added and new_version[:2] <= old_version[:2]:
        problems.append(f"{', '.join(added)} added: a minor change, which needs a version above {old['version']}")
    if new_version[:2] < old_version[:2]:
        problems.append(f"version {new['version']} is below {old['version']}")
    return problems
