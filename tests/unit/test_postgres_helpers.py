"""lib/database/postgres.py: RDS's default max_connections for PostgreSQL, from the class's memory."""

from __future__ import annotations

import pytest

from lib.database.postgres import (
    EXISTING_DATABASE_MAX_CONNECTIONS,
    instance_memory_gib,
    max_connections,
    running_max_connections,
)

GIB = 2**30


def rds_default(memory_gib: int) -> int:
    """RDS's documented default: LEAST({DBInstanceClassMemory/9531392}, 5000)."""
    return min(memory_gib * GIB // 9531392, 5000)


# Nominal memory from the RDS instance class tables (independent of lib/database/postgres.py's table).
@pytest.mark.parametrize(
    ("instance_class", "memory_gib"),
    [
        ("db.t3.micro", 1),
        ("db.t4g.small", 2),
        ("db.t4g.medium", 4),
        ("db.t3.2xlarge", 32),
        ("db.m5.large", 8),
        ("db.m6i.xlarge", 16),
        ("db.m7i.24xlarge", 384),  # db.m7g stops at 16xlarge
        ("db.r6g.large", 16),
        ("db.r5b.xlarge", 32),
        ("db.r6gd.2xlarge", 64),
        ("db.r7g.16xlarge", 512),
    ],
)
def test_memory_and_max_connections_of_known_classes(instance_class: str, memory_gib: int) -> None:
    assert instance_memory_gib(instance_class) == memory_gib
    assert max_connections(instance_class) == rds_default(memory_gib)


def test_values_of_the_stacks_classes() -> None:
    # dev and prod: 4 GiB and 16 GiB.
    assert max_connections("db.t4g.medium") == 450
    assert max_connections("db.r6g.large") == 1802


def test_large_classes_are_capped_at_5000() -> None:
    assert max_connections("db.m6i.8xlarge") == 5000
    assert max_connections("db.r6g.4xlarge") == 5000
    # 32 GiB is still below the cap: the cap is not applied to everything.
    assert max_connections("db.r6g.xlarge") == 3604


def test_max_connections_grows_with_size_within_a_family() -> None:
    sizes = ["large", "xlarge", "2xlarge", "4xlarge"]
    values = [max_connections(f"db.m6g.{size}") for size in sizes]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


@pytest.mark.parametrize(
    "instance_class",
    [
        "db.r6g.medium",  # no such size in the r family
        "db.t4g.4xlarge",  # burstable classes stop at 2xlarge
        "db.m4.large",  # previous generation
        "db.t2.micro",
        "db.x2g.large",  # memory-optimised x family: not in the table
        "r6g.large",  # not an RDS class name
        "db.r6g",
        "db.m99.large",  # only the shape of a class
        "db.m7g.24xlarge",  # Graviton3 stops at 16xlarge
    ],
)
def test_unknown_class_raises_naming_the_class(instance_class: str) -> None:
    with pytest.raises(ValueError, match="unknown") as info:
        max_connections(instance_class)
    assert instance_class in str(info.value)


def test_existing_database_default_is_postgres_default() -> None:
    # PostgreSQL's own default max_connections: a server we did not size accepts at least this.
    assert EXISTING_DATABASE_MAX_CONNECTIONS == 100


def test_pools_hold_whichever_class_runs() -> None:
    small, large = max_connections("db.t4g.medium"), max_connections("db.r6g.large")
    assert small < large
    # Upsize pending: the small class still runs. Downsize pending: the small class will run.
    assert running_max_connections("db.r6g.large", "db.t4g.medium") == small
    assert running_max_connections("db.t4g.medium", "db.r6g.large") == small
    assert running_max_connections("db.r6g.large", "db.r6g.large") == large
    assert running_max_connections("db.r6g.large", "db.x2iedn.large") == large  # a class changed by hand
