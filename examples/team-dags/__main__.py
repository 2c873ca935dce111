"""A team's stack on the airflow-eks platform: its data bucket, its DAGs' permissions, and an
Airflow connection its tasks read.

Reads the platform through the typed contract (`airflow_eks_contract.read_platform`) and creates:
- an S3 bucket for the team's data: encrypted, versioned, public access blocked, TLS only;
- an IAM policy on that bucket, attached to the team's own task role when the platform declares
  the team (`teams`: `team_role_names`), else to the platform's shared task-pod role (IRSA), so the
  team's Airflow tasks get the permissions without a key;
- in the platform's Airflow namespace, a Secret holding an Airflow connection to the bucket's
  region that the team's tasks load as environment variables: through the team's kubeconfig when
  the platform declares the team (`team_kubeconfigs`: its deployer role, whose Kubernetes Role
  manages this Secret and nothing else), else through the platform's admin kubeconfig (a secret).
"""

import json
import re

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from airflow_eks_contract import read_platform

config = pulumi.Config()
team = config.require("team")
if not re.fullmatch(r"[a-z][a-z0-9-]{1,20}", team):
    raise ValueError(f"config 'team': '{team}' is not 2 to 21 lowercase letters, digits or hyphens")
platform = read_platform(config.require("platformStack"))
tags = {"team": team, "managed-by": "pulumi"}

bucket = aws.s3.Bucket(f"{team}-data", tags=tags)
aws.s3.BucketPublicAccessBlock(
    f"{team}-data",
    bucket=bucket.id,
    block_public_acls=True,
    block_public_policy=True,
    ignore_public_acls=True,
    restrict_public_buckets=True,
)
aws.s3.BucketServerSideEncryptionConfiguration(
    f"{team}-data",
    bucket=bucket.id,
    rules=[
        aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"
            )
        )
    ],
)
aws.s3.BucketVersioning(
    f"{team}-data",
    bucket=bucket.id,
    versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
)
aws.s3.BucketPolicy(
    f"{team}-data-tls-only",
    bucket=bucket.id,
    policy=bucket.arn.apply(
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyWithoutTls",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        )
    ),
)

# What the team's DAGs may do, attached to the role every task pod of the platform assumes.
policy = aws.iam.Policy(
    f"{team}-dags",
    description=f"Airflow tasks of team {team}: read and write its data bucket",
    policy=bucket.arn.apply(
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": arn},
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                        "Resource": f"{arn}/*",
                    },
                ],
            }
        )
    ),
    tags=tags,
)
# The team's own task role when the platform declares the team, else the role every task pod shares.
task_role = pulumi.Output.all(platform.team_role_names, platform.airflow_worker_role_name).apply(
    lambda v: v[0].get(team, v[1])
)
aws.iam.RolePolicyAttachment(f"{team}-dags", role=task_role, policy_arn=policy.arn)

# Objects in the platform's cluster: as the team's deployer role (no cluster-admin) when the platform
# declares the team, else through the platform's admin kubeconfig (secret, and it stays secret).
kubeconfig = pulumi.Output.all(platform.team_kubeconfigs, platform.cluster_kubeconfig).apply(
    lambda v: v[0].get(team) or v[1]
)
cluster = k8s.Provider("platform", kubeconfig=kubeconfig)
connection = k8s.core.v1.Secret(
    f"{team}-connections",
    metadata=k8s.meta.v1.ObjectMetaArgs(
        name=f"{team}-connections", namespace=platform.airflow_namespace, labels={"team": team}
    ),
    # Credentials come from the task pod's role (IRSA): the connection names only the region.
    string_data={
        f"AIRFLOW_CONN_{team.upper().replace('-', '_')}_AWS": json.dumps(
            {"conn_type": "aws", "extra": {"region_name": aws.config.region}}
        )
    },
    opts=pulumi.ResourceOptions(provider=cluster),
)

pulumi.export("data_bucket_name", bucket.bucket)
pulumi.export("dags_policy_arn", policy.arn)
pulumi.export("connections_secret_name", connection.metadata.name)
