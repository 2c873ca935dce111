"""Requests and limits of every Airflow pod, by resource profile (small, medium, large).

Plain data: the Helm values and the git-sync Deployment read their pods' resources here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class ResourceProfile(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class Resources(NamedTuple):
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def values(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


R = Resources
RESOURCE_PROFILES: dict[ResourceProfile, dict[str, Resources]] = {
    ResourceProfile.SMALL: {
        "scheduler": R("250m", "1Gi", "1", "2Gi"),
        "apiServer": R("250m", "1Gi", "1", "2Gi"),
        "triggerer": R("100m", "512Mi", "500m", "1Gi"),
        "dagProcessor": R("250m", "1Gi", "1", "2Gi"),
        "workers": R("250m", "512Mi", "1", "1Gi"),
        "pgbouncer": R("50m", "64Mi", "250m", "128Mi"),
        "pgbouncerExporter": R("10m", "32Mi", "100m", "64Mi"),
        "statsd": R("25m", "64Mi", "100m", "128Mi"),
        "jobs": R("100m", "512Mi", "500m", "1Gi"),
        "gitSync": R("25m", "64Mi", "100m", "128Mi"),
    },
    ResourceProfile.MEDIUM: {
        "scheduler": R("500m", "2Gi", "2", "4Gi"),
        "apiServer": R("500m", "1536Mi", "2", "3Gi"),
        "triggerer": R("250m", "1Gi", "1", "2Gi"),
        "dagProcessor": R("500m", "2Gi", "2", "4Gi"),
        "workers": R("500m", "1Gi", "2", "2Gi"),
        "pgbouncer": R("100m", "128Mi", "500m", "256Mi"),
        "pgbouncerExporter": R("25m", "64Mi", "200m", "128Mi"),
        "statsd": R("50m", "128Mi", "200m", "256Mi"),
        "jobs": R("250m", "1Gi", "1", "2Gi"),
        "gitSync": R("50m", "128Mi", "200m", "256Mi"),
    },
    ResourceProfile.LARGE: {
        "scheduler": R("1", "3Gi", "2", "6Gi"),
        "apiServer": R("1", "2Gi", "2", "4Gi"),
        "triggerer": R("500m", "1536Mi", "1", "3Gi"),
        "dagProcessor": R("1", "3Gi", "2", "6Gi"),
        "workers": R("1", "2Gi", "2", "4Gi"),
        "pgbouncer": R("200m", "256Mi", "1", "512Mi"),
        "pgbouncerExporter": R("50m", "128Mi", "200m", "256Mi"),
        "statsd": R("100m", "256Mi", "500m", "512Mi"),
        "jobs": R("500m", "2Gi", "1", "4Gi"),
        "gitSync": R("100m", "256Mi", "500m", "512Mi"),
    },
}
