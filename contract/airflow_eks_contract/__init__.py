"""The airflow-eks platform's stack outputs as a typed, versioned contract (needs only `pulumi`)."""

from .outputs import CONTRACT_VERSION, OutputSpec, PlatformOutputs, as_exports, compatibility, output_specs, published
from .reader import ContractError, read_platform

__all__ = [
    "CONTRACT_VERSION",
    "ContractError",
    "OutputSpec",
    "PlatformOutputs",
    "as_exports",
    "compatibility",
    "output_specs",
    "published",
    "read_platform",
]
