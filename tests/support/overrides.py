"""Config overrides of the committed stacks that several test modules use."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from config.project import PROJECT_FILE

STACK_GROUPS = yaml.safe_load((PROJECT_FILE.parent / "config" / "Pulumi.dev.yaml").read_text())["config"][
    "airflow-eks:nodeGroups"
]


def groups_with(**changes: Any) -> dict[str, Any]:
    """dev's node groups with `group__field=value` changes (value None deletes the field)."""
    groups = copy.deepcopy(STACK_GROUPS)
    for path, value in changes.items():
        group, field = path.split("__")
        if value is None:
            groups[group].pop(field, None)
        else:
            groups[group][field] = value
    return groups


BYO = {
    "vpcCidr": "10.0.0.0/16",
    "natGateways": "perAz",
    "existingVpcId": "vpc-0123456789abcdef0",
    "existingNodeSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"],
    "existingDataSubnetIds": ["subnet-0000000000000001a", "subnet-0000000000000001b", "subnet-0000000000000001c"],
    "nlbAllowedCidrs": ["10.0.0.0/16"],
}
