"""Kubernetes CPU and memory quantities as numbers, for the Airflow settings and the reports."""

from __future__ import annotations

import re

_CPU = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m?)\Z")
_MEMORY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?\Z")
_MEMORY_MI = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2, "k": 1000 / 1024**2, "M": 1e6 / 1024**2}
_MEMORY_MI |= {"G": 1e9 / 1024**2, "T": 1e12 / 1024**2}


def cpu_millicores(quantity: str | int | float) -> int:
    """A Kubernetes CPU quantity ("250m", "1", 2) in millicores."""
    match = _CPU.match(str(quantity))
    if match is None:
        raise ValueError(f"'{quantity}' is not a CPU quantity such as 250m or 1")
    value = float(match[1])
    return round(value if match[2] else value * 1000)


def memory_mebibytes(quantity: str | int) -> int:
    """A Kubernetes memory quantity ("512Mi", "2Gi", bytes) in MiB (rounded up)."""
    match = _MEMORY.match(str(quantity))
    if match is None:
        raise ValueError(f"'{quantity}' is not a memory quantity such as 512Mi or 2Gi")
    value = float(match[1])
    mib = value * _MEMORY_MI[match[2]] if match[2] else value / 1024**2
    return -(-int(mib * 1000) // 1000)
