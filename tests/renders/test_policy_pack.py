"""The pack as `pulumi preview --policy-pack policy` runs it: served over gRPC by pulumi-policy.

The engine starts `policy/__main__.py` with `runpy.run_path` (pulumi/policy/__main__.py in the
SDK), reads the port it prints, and calls the Analyzer service. These tests do the same, so the
adapter (`policy/pack.py`: proxies, unknown values, waivers as advisory policies) runs for real.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import proxy

from offline.mocks import Plan
from policy.airflow_eks_guardrails.declaration import IMDSV2, POLICY_NAMES, PRODUCTION_HA, WAIVER_TAG_PREFIX
from tests.support.policy import MUTATIONS, find

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN_STRING = proxy.UNKNOWN_STRING_VALUE
MANDATORY, ADVISORY = analyzer_pb2.MANDATORY, analyzer_pb2.ADVISORY


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    serve = "import runpy; runpy.run_path('policy', run_name='__main__')"
    process = subprocess.Popen([sys.executable, "-c", serve], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait()


def request(plan: dict[str, Any]) -> analyzer_pb2.AnalyzeStackRequest:
    resources = []
    for r in plan["resources"]:
        properties = struct_pb2.Struct()
        properties.update(r["inputs"])
        options = analyzer_pb2.AnalyzerResourceOptions(protect=r["protect"])
        resources.append(
            analyzer_pb2.AnalyzerResource(
                type=r["type"], urn=r["urn"], name=r["name"], properties=properties, options=options
            )
        )
    return analyzer_pb2.AnalyzeStackRequest(resources=resources)


def test_the_engine_sees_each_policy_mandatory_and_its_waived_twin(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels == {**dict.fromkeys(POLICY_NAMES, MANDATORY), **{f"{n}-waived": ADVISORY for n in POLICY_NAMES}}


def test_the_served_pack_passes_prod_and_reports_a_break_with_its_urn(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, prod: Plan
) -> None:
    assert list(analyzer.AnalyzeStack(request(prod.as_json())).diagnostics) == []
    plan = copy.deepcopy(prod.as_json())
    broken = MUTATIONS["hop-limit-2"][1](plan)
    # A value the preview cannot know yet is skipped, not a reason to give up the whole policy.
    find(plan, "Instance", "airflow-prod-db")["inputs"]["kmsKeyId"] = UNKNOWN_STRING
    diagnostics = analyzer.AnalyzeStack(request(plan)).diagnostics
    assert [(d.policyName, d.urn, d.enforcementLevel) for d in diagnostics] == [(IMDSV2, broken["urn"], MANDATORY)]
    assert "set metadataOptions.httpPutResponseHopLimit: 1" in diagnostics[0].message


def test_a_waiver_tag_moves_the_violation_to_the_advisory_twin(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, prod: Plan
) -> None:
    plan = copy.deepcopy(prod.as_json())
    broken = MUTATIONS["single-az-db"][1](plan)
    broken["inputs"]["tags"][f"{WAIVER_TAG_PREFIX}{PRODUCTION_HA}"] = "standby replaced by hourly snapshots"
    diagnostics = analyzer.AnalyzeStack(request(plan)).diagnostics
    assert [(d.policyName, d.urn, d.enforcementLevel) for d in diagnostics] == [
        (f"{PRODUCTION_HA}-waived", broken["urn"], ADVISORY)
    ]
    assert "[waived: standby replaced by hourly snapshots]" in diagnostics[0].message
