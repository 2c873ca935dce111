"""Fernet key rotation as a config operation (issue 25): step 1 adds a new key first and keeps the
old one, step 2 (after `airflow rotate-fernet-key`) drops the old one; the Secret and the control
plane's rollout checksum follow, and the first key keeps its URN throughout."""

from __future__ import annotations

from typing import Any

import pytest

from config.errors import ConfigError
from lib.airflow.secrets import ROLLOUT_ANNOTATION, SECRET_NAMES, fernet_generations
from offline.fakes import fake_secret
from offline.mocks import Plan, ProgramError, run_program
from tests.support.plans import recorded_once

RANDOM_BYTES = "random:index/randomBytes:RandomBytes"
RELEASE = "kubernetes:helm.sh/v3:Release"
STEP_1 = {"fernetKeyGeneration": 1, "fernetKeyPreviousGeneration": 0}
STEP_2 = {"fernetKeyGeneration": 1}


def fernet_state(overrides: dict[str, Any]) -> tuple[Plan, list[str], str]:
    """The plan, the Fernet Secret's keys as the cluster receives them, and the scheduler's checksum."""
    plan, secrets = recorded_once("dev", overrides=overrides)
    keys = secrets[SECRET_NAMES.fernet_key]["fernet-key"].split(",")
    values = plan.one(RELEASE, "airflow-dev-release").inputs["values"]
    return plan, keys, values["scheduler"]["podAnnotations"][ROLLOUT_ANNOTATION]


def test_a_rotation_adds_the_new_key_first_then_drops_the_old() -> None:
    before, keys0, checksum0 = fernet_state({})
    step1, keys1, checksum1 = fernet_state(STEP_1)
    step2, keys2, checksum2 = fernet_state(STEP_2)
    old, new = fake_secret("airflow-dev-fernet-key"), fake_secret("airflow-dev-fernet-key-gen1")
    assert keys0 == [old]
    assert keys1 == [new, old]  # Airflow encrypts with the first, decrypts with either
    assert keys2 == [new]
    # Generation 0 is the key every stack has had: its URN is kept through step 1, gone at step 2.
    urn0 = before.one(RANDOM_BYTES, "airflow-dev-fernet-key").urn
    assert sorted(r.urn for r in step1.of_type(RANDOM_BYTES)) == [urn0, f"{urn0}-gen1"]
    assert [r.name for r in step2.of_type(RANDOM_BYTES)] == ["airflow-dev-fernet-key-gen1"]
    assert step1.one(RANDOM_BYTES, "airflow-dev-fernet-key-gen1").inputs == {"length": 32}
    # Each step rolls the pods that read the key.
    assert len({checksum0, checksum1, checksum2}) == 3


def test_routine_updates_keep_the_generated_keys() -> None:
    _, keys_a, checksum_a = fernet_state(STEP_1)
    _, keys_b, checksum_b = fernet_state({**STEP_1, "airflowParallelism": 16})
    assert (keys_a, checksum_a) == (keys_b, checksum_b)


@pytest.mark.parametrize(
    ("overrides", "key", "message"),
    [
        ({"fernetKeyPreviousGeneration": 0}, "fernetKeyPreviousGeneration", "not a generation below"),
        ({"fernetKeyGeneration": 2, "fernetKeyPreviousGeneration": 2}, "fernetKeyPreviousGeneration", "(0 to 1)"),
        ({"fernetKeyGeneration": 1, "fernetKeyPreviousGeneration": -2}, "fernetKeyPreviousGeneration", "-1 (none)"),
        ({"fernetKeyGeneration": -1}, "fernetKeyGeneration", "range 0 to 999"),
    ],
)
def test_a_previous_generation_not_below_the_current_is_refused(
    overrides: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", overrides)
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == key, cause
    assert message in str(cause) and failure.value.registrations == []


def test_generations_newest_first() -> None:
    assert fernet_generations(0, None) == (0,)
    assert fernet_generations(3, 1) == (3, 1)
    for bad in ((1, 1), (1, 2), (-1, None), (2, -1)):
        with pytest.raises(ValueError, match="below the current"):
            fernet_generations(*bad)
