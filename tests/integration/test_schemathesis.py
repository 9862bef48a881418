"""Schemathesis over the published OpenAPI document: every route, as an admin, as a read-only user
and as another tenant's admin. No 5xx, every error in a documented shape, every response valid
against its documented schema (design §2.2, issue 9).

The example count per operation is bounded (``BATCHSCORE_API_FUZZ_EXAMPLES``, default 12) and
generation is derandomized unless the variable is set, so CI runs are repeatable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
import schemathesis.specs.openapi.schemas  # imported at collection: see below
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation

from tests.integration.conftest import World, periodic_job

# schemathesis imports its OpenAPI modules lazily, on the first `from_dict`. Imported then, in
# the middle of the session, pytest compiles them while threads left by earlier tests may be
# compiling too, and CPython 3.11 before 3.11.8 can fail such a concurrent
# compile with "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905). They
# are imported above, at collection, when no other thread runs.

BASE = "/service/zementis"
EXAMPLES = int(os.environ.get("BATCHSCORE_API_FUZZ_EXAMPLES", "12"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("BATCHSCORE_API_FUZZ_EXAMPLES") is None,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# Built-in checks that judge the answer against the schema. The negative-data checks are left
# out on purpose: several routes accept more than the schema shows (both mapping orientations,
# extra Cumulocity fragments) and that leniency is part of the contract.
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
ZEMENTIS_ERROR_KEYS = {"errors"}
CUMULOCITY_ERROR_KEYS = {"error", "message", "info"}


def documented_error_shape(response: Any) -> None:
    """Every 4xx body is one of the two documented error shapes, with non-empty texts."""
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict), body
    if set(body) == ZEMENTIS_ERROR_KEYS:
        assert body["errors"], body
        assert all(isinstance(m, str) and m for m in body["errors"]), body
    else:
        assert set(body) == CUMULOCITY_ERROR_KEYS, body
        assert all(isinstance(v, str) and v for v in body.values()), body
    for text in body.get("errors", [body.get("message")]):
        assert "Traceback" not in text, text
        assert "sqlalchemy" not in text.lower(), text


def _checks() -> list[Callable[..., Any]]:
    wanted = {name: None for name in CHECK_NAMES}
    found = [check for check in CHECKS.get_all() if check.__name__ in wanted]
    assert {c.__name__ for c in found} == set(CHECK_NAMES)
    return found


def _order(op: APIOperation) -> tuple[int, str]:
    # Destructive operations last, so the other routes see the seeded job, model and devices.
    return (1 if op.method.upper() == "DELETE" else 0, op.path)


@pytest.fixture
def seeded(client: TestClient, admin: dict[str, str], world: World) -> dict[str, str]:
    """Path values that exist for tenant t1: a job with a finished execution and inferences, a
    measurement, an alarm, an event."""
    for second in range(3):
        r = client.post(
            "/measurement/measurements",
            json={
                "source": {"id": str(world.device)},
                "time": f"2026-01-14T11:00:0{second}Z",
                "type": "c8y_Acceleration",
                **{
                    fragment: {series: {"value": float(second)}}
                    for fragment, series in (
                        ("c8y_Acceleration", "accelerationX"),
                        ("c8y_Acceleration", "accelerationY"),
                        ("c8y_Acceleration", "accelerationZ"),
                    )
                },
                "c8y_Gyroscope": {"gyroX": {"value": 1.0}, "gyroY": {"value": 2.0}, "gyroZ": {}},
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
    measurement_id = r.json()["id"]
    common = {"source": {"id": str(world.device)}, "time": "2026-01-14T11:00:00Z", "text": "t"}
    alarm = client.post(
        "/alarm/alarms", json={**common, "type": "c8y_A", "severity": "MAJOR"}, headers=admin
    )
    event = client.post("/event/events", json={**common, "type": "c8y_E"}, headers=admin)
    job = client.post(f"{BASE}/job", json=periodic_job(world), headers=admin)
    assert job.status_code == 201, job.text
    job_id = job.json()["jobId"]
    assert client.post(f"{BASE}/job/{job_id}/run", headers=admin).status_code == 201
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run = client.get(f"{BASE}/job/{job_id}/history/1", headers=admin).json()
        if run["jobExecutionStatus"] != "Running":
            break
        time.sleep(0.02)  # waiting for the executor thread, bounded by the deadline
    return {
        "jobId": str(job_id),
        "executionId": "1",
        "name": world.model,
        "objectId": str(world.group),
        "childId": str(world.device),
        "measurementId": measurement_id,
        "alarmId": alarm.json()["id"],
        "eventId": event.json()["id"],
    }


def fuzz_operation(
    op: APIOperation,
    auth: dict[str, str],
    seeded: dict[str, str],
    checks: list[Callable[..., Any]],
    seen: set[int],
) -> Callable[[], None]:
    """A bounded Hypothesis test of one operation as one principal; half the cases use path
    values that exist, so the success answers are checked as well as the 404s."""

    @FUZZ
    @given(case=op.as_strategy(), real=st.booleans())
    def run(case: Case, real: bool) -> None:
        if real and case.path_parameters:
            case.path_parameters = {k: seeded.get(k, v) for k, v in case.path_parameters.items()}
        response = case.call(headers=auth)
        seen.add(response.status_code // 100)
        case.validate_response(response, checks=checks, headers=auth)
        documented_error_shape(response)

    return run  # type: ignore[no-any-return]


@pytest.mark.slow
def test_every_operation_as_every_principal(
    client: TestClient,
    admin: dict[str, str],
    reader: dict[str, str],
    other_admin: dict[str, str],
    seeded: dict[str, str],
) -> None:
    # The document as served (behind the login), not the in-process object.
    spec = client.get("/openapi.json", headers=reader).json()
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = client.app
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=_order)
    assert len(operations) >= 25
    checks = _checks()
    failures: list[str] = []
    seen: set[int] = set()  # status classes answered, to show the run reached real objects
    # Admin last: it is the one whose DELETEs empty the tenant.
    for label, auth in (("reader", reader), ("other tenant", other_admin), ("admin", admin)):
        for op in operations:
            try:
                fuzz_operation(op, auth, seeded, checks, seen)()
            except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
                failures.append(f"{label} {op.method.upper()} {op.path}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
    assert seen == {2, 4}, seen
