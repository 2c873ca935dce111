"""DatabaseRoles: Airflow's own database role, made and kept in step by a Job inside the cluster.

Creates (`airflow:index:DatabaseRoles`), with the cluster's provider:
- the namespace `<airflow namespace>-db-admin` (Restricted pod security), apart from Airflow's: who
  may create pods in Airflow's namespace cannot run one as the Job's service account;
- an IAM role for the Job's service account (IRSA) that may read the master's Secrets Manager
  secret and decrypt it through Secrets Manager, and nothing else; the service account;
- the application role's password (`pulumi_random`, one per generation, no keepers: generated once)
  in the Job's Secret, and the Job's script and the RDS CA bundle in a ConfigMap;
- the Job (`lib/database/roles_job.py`) that runs `lib/database/roles.py` as the master: the owner
  role, the login role of the current generation, Airflow's schema. Pulumi waits for it to
  complete (pulumi-kubernetes' Job await), and the Airflow release waits for it, so the roles are
  in step before the chart's migration Job runs. A keyed checksum of what it applies sits on its
  pod template: when the password, the generation, the script or the database itself (a restore)
  changes, the Job is replaced, so it runs again.

Why a Job and not a PostgreSQL provider in the program: the database is private (data subnets, no
route out, reachable from PgBouncer's nodes only), so `pulumi up` cannot reach it; and a provider
would hold the master password in the stack's state, which RDS's managed secret keeps out of it.

`connection_uri` is Airflow's metadata connection as the login role (a secret), for PgBouncer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.parts.outputs import register_public_outputs
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from lib.cluster.node_groups import NodeGroup
from lib.database import roles_job
from lib.database.pgbouncer.tls import config_checksum
from lib.database.postgres import connection_uri as postgres_uri
from lib.database.roles import RolePlan
from lib.naming import child_name

PASSWORD_LENGTH = 40
CHECKSUM_KEY_LENGTH = 64
JOB_TIMEOUT = "15m"  # the Job's own deadline (10 min) and an image pull


@dataclass(frozen=True)
class DatabaseRolesArgs:
    host: pulumi.Input[str]
    """The database's host name."""
    port: pulumi.Input[int]
    """Its port."""
    db_name: str
    """The metadata database."""
    master_username: str
    """The master user (a brought database's administrator), whom the Job connects as."""
    master_secret_arn: pulumi.Input[str]
    """The Secrets Manager secret of the master's credentials (`Database.master_secret_arn`)."""
    master_secret_key_arn: pulumi.Input[str]
    """Its KMS key."""
    database_id: pulumi.Input[str]
    """What tells this database from another at the same address (`Database.resource_id`): the Job
    runs again on a new one."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider (the Job's IRSA role)."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    region: str
    """The stack's region (Secrets Manager's endpoint in the role's policy)."""
    node_group: NodeGroup
    """Where the Job runs: the group whose nodes the database admits (PgBouncer's)."""
    image: pulumi.Input[str]
    """The Airflow image (its Python has boto3 and psycopg)."""
    provider: k8s.Provider | None
    """Kubernetes provider of the cluster; None while the stack sleeps: only the generated password
    and checksum key are kept (same URNs), no namespace, IRSA role or Job."""
    airflow_namespace: str = "airflow"
    """Airflow's namespace: the Job's is `<it>-db-admin`."""
    generation: int = 0
    """The application role's password generation (a new one rotates it without an outage)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the Job's pod needs first (the node groups)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the IAM role."""

    def __post_init__(self) -> None:
        RolePlan(self.master_username, self.db_name, self.generation)  # raises on a bad name or generation


class DatabaseRoles(pulumi.ComponentResource):
    connection_uri: pulumi.Output[str]
    """Airflow's metadata connection as its login role, `postgresql://...?sslmode=require` (secret)."""
    login_role: str
    """The role Airflow logs in as (`<db>_app_g<generation>`)."""
    owner_role: str
    """The role that owns Airflow's schema and objects (`<db>_app`)."""
    namespace: str
    """The Job's namespace."""
    job: k8s.batch.v1.Job | None
    """The Job: depend on it to run after the roles are in step."""
    role_arn: pulumi.Output[str]
    """The Job's IAM role."""

    def __init__(self, name: str, args: DatabaseRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:DatabaseRoles", name, None, opts)
        plan = RolePlan(args.master_username, args.db_name, args.generation)
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = roles_job.namespace_name(args.airflow_namespace)
        # Generation 0 keeps the name a rotation never changes; each later one is a new resource.
        suffix = () if args.generation == 0 else (f"gen{args.generation}",)
        password = random.RandomPassword(
            child_name(name, "db-app-password", *suffix), length=PASSWORD_LENGTH, special=False, opts=child
        ).result
        key = random.RandomPassword(
            child_name(name, "db-roles-checksum-key"), length=CHECKSUM_KEY_LENGTH, special=False, opts=child
        ).result
        self.login_role, self.owner_role = plan.login, plan.owner
        self.connection_uri = pulumi.Output.secret(
            pulumi.Output.all(password, args.host, args.port).apply(
                lambda v: postgres_uri(plan.login, str(v[0]), str(v[1]), int(v[2]), args.db_name)
            )
        )
        if args.provider is None:  # asleep: the generated values stay; the Job, its role and namespace go
            self.job = None
            self.role_arn = pulumi.Output.from_input("")
            register_public_outputs(self)
            return
        k8s_child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        namespace = k8s.core.v1.Namespace(
            child_name(name, "db-roles-namespace"),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=self.namespace, labels=roles_job.namespace_labels()),
            opts=k8s_child,
        )
        role = ServiceAccountRole(
            child_name(name, "db-roles"),
            ServiceAccountRoleArgs(
                namespace=self.namespace,
                service_account=roles_job.SERVICE_ACCOUNT,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                description="The database roles Job: reads the master's secret",
                tags=args.tags,
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            child_name(name, "db-roles-master-secret"),
            role=role.role_name,
            policy=pulumi.Output.all(args.master_secret_arn, args.master_secret_key_arn).apply(
                lambda v: json.dumps(roles_job.master_secret_policy(v[0], v[1], args.region))
            ),
            opts=child,
        )
        account = k8s.core.v1.ServiceAccount(
            child_name(name, "db-roles-sa"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=roles_job.SERVICE_ACCOUNT,
                namespace=namespace.metadata.name,
                labels=roles_job.LABELS,
                annotations={"eks.amazonaws.com/role-arn": role.role_arn},
            ),
            automount_service_account_token=False,
            opts=k8s_child,
        )
        secret = k8s.core.v1.Secret(
            child_name(name, "db-roles-secret"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=roles_job.SECRET, namespace=namespace.metadata.name, labels=roles_job.LABELS
            ),
            type="Opaque",
            string_data={roles_job.SECRET_KEY: pulumi.Output.secret(password)},  # type: ignore[arg-type]
            opts=k8s_child,
        )
        files = k8s.core.v1.ConfigMap(
            child_name(name, "db-roles-script"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=roles_job.CONFIG_MAP, namespace=namespace.metadata.name, labels=roles_job.LABELS
            ),
            data=pulumi.Output.from_input(args.host).apply(roles_job.config_map_data),
            opts=k8s_child,
        )
        # Keyed with a secret random value, the digest reveals nothing of the password: unsecreted.
        checksum = pulumi.Output.unsecret(
            pulumi.Output.all(key, password, args.host, args.database_id).apply(
                lambda v: config_checksum(
                    v[0],
                    {
                        "password": v[1],
                        "host": str(v[2]),
                        "database": str(v[3]),
                        "plan": roles_job.plan_env(plan),
                        "script": roles_job.script(),
                    },
                )
            )
        )
        spec = pulumi.Output.all(args.host, args.port, args.master_secret_arn, args.image, checksum).apply(
            lambda v: roles_job.job_spec(plan, v[0], int(v[1]), v[2], v[3], args.node_group, v[4])
        )
        self.job = k8s.batch.v1.Job(
            child_name(name, "db-roles"),
            # No name: each replacement is a new Job beside the old (create before delete).
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=namespace.metadata.name, labels=roles_job.LABELS),
            spec=spec,  # type: ignore[arg-type]  # the Job's spec as a plain dict (roles_job.job_spec)
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[account, secret, files, role, *args.depends_on],
                custom_timeouts=pulumi.CustomTimeouts(create=JOB_TIMEOUT, update=JOB_TIMEOUT),
            ),
        )
        self.role_arn = role.role_arn
        register_public_outputs(self)
