"""What every launch template of the program sets alike: IMDSv2 with one hop, a root volume
encrypted under a customer-managed key, and the tags its instances and volumes carry."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from lib.naming import with_name

ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023


def imdsv2_one_hop() -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    """IMDSv2 only, one hop: a pod cannot borrow its node's role, nor a process behind a NAT."""
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
    )


def encrypted_root_volume(size_gib: int, key_arn: pulumi.Input[str]) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    """A gp3 root volume of `size_gib`, encrypted under `key_arn`, deleted with its instance."""
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name=ROOT_DEVICE,
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=size_gib,
            volume_type="gp3",
            encrypted="true",
            kms_key_id=key_arn,
            delete_on_termination="true",
        ),
    )


def instance_and_volume_tags(tags: Mapping[str, str], name: str) -> list[aws.ec2.LaunchTemplateTagSpecificationArgs]:
    """`tags` and `Name: name` on the instances launched from the template and on their volumes."""
    return [
        aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=with_name(tags, name))
        for kind in ("instance", "volume")
    ]
