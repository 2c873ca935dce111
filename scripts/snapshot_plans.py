"""Write the plan snapshots `tests/plans/test_plan_snapshot.py` compares the program against.

A snapshot is what the offline plan registers for one configuration: every resource (URN, type,
name, parent, dependencies, inputs, protect, retain-on-delete) and the outputs, secrets shown
as "[secret]". The test passes while the program registers the same resources with the same
inputs, a resource that moved counting as unchanged when it carries an alias to its old URN.
Regenerate after a deliberate change to what the program creates, and review the diff:

    python scripts/snapshot_plans.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.cluster.versions import DEFAULT_VERSION, EKS_VERSIONS  # noqa: E402
from offline.mocks import Plan, run_program  # noqa: E402

SNAPSHOT_DIR = ROOT / "tests" / "snapshots"
# name -> (stack, config overrides): the committed stacks, and every optional branch.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev": ("dev", {}),
    "prod": ("prod", {}),
    "dev-options": (
        "dev",
        {
            "gitSyncRepo": "https://github.com/example/dags.git",
            "gitSyncCredentialsSecret": "git-credentials",
            "clusterPrivateAccessCidrs": ["10.99.0.0/24"],
            "clusterAdminRoleArns": ["arn:aws:iam::123456789012:role/platform", "arn:aws:iam::123456789012:role/sre"],
            "nlbCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666",
            "nodeAmiReleaseVersion": EKS_VERSIONS[DEFAULT_VERSION].ami_release,
            "airflowCreateAdminUser": False,
            "dbFinalSnapshot": False,
        },
    ),
    "prod-existing": (
        "prod",
        {
            "vpcCidr": "10.0.0.0/16",
            "existingVpcId": "vpc-0123456789abcdef0",
            "existingPublicSubnetIds": [f"subnet-00000000000000{i}fa" for i in range(3)],
            "existingNodeSubnetIds": [f"subnet-00000000000000{i}aa" for i in range(3)],
            "existingDataSubnetIds": [f"subnet-00000000000000{i}da" for i in range(3)],
            "nlbAllowedCidrs": ["10.0.0.0/16"],
            "existingDbHost": "db.example.internal",
            "existingDbPassword": "brought-password",
            "existingDbSecurityGroupId": "sg-0123456789abcdef0",
            "gitSyncRepo": "git@github.com:example/dags.git",
            "gitSyncCredentialsSecret": "git-ssh",
        },
    ),
}


def snapshot(plan: Plan) -> dict[str, Any]:
    doc = plan.as_json()
    retained = {r.urn for r in plan.resources if r.retain_on_delete}
    for resource in doc["resources"]:
        resource["retainOnDelete"] = resource["urn"] in retained
    return {"resources": doc["resources"], "outputs": doc["outputs"]}


def main(argv: list[str] | None = None) -> int:
    # --help (argparse) prints the docstring and exits before anything is written.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for name, (stack, overrides) in VARIANTS.items():
        path = SNAPSHOT_DIR / f"{name}.json"
        path.write_text(json.dumps(snapshot(run_program(stack, overrides)), indent=1, sort_keys=True) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
