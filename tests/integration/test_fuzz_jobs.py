"""Property tests: no input of any kind makes the jobs routes answer 5xx or a foreign shape."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import World, periodic_job

BASE = "/service/zementis"
FUZZ = settings(
    max_examples=int(os.environ.get("BATCHSCORE_FUZZ_EXAMPLES", "150")),
    derandomize=os.environ.get("BATCHSCORE_FUZZ_EXAMPLES") is None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
schedule_keys = st.sampled_from(
    [
        "frequency",
        "cronExpression",
        "timeZone",
        "dataFromPreviousNSeconds",
        "scheduleAt",
        "dataFrom",
        "dataTo",
        "misfirePolicy",
        "dstPolicy",
    ]
)
job_keys = st.sampled_from(
    [
        "jobName",
        "jobDescription",
        "associatedGroupOrDeviceId",
        "associatedModel",
        "modelToDeviceMappings",
        "jobSchedule",
    ]
)
interesting = st.sampled_from(
    [
        "periodic",
        "once",
        "0 0 5 1/1 * ? *",
        "0 0 5 L-3 * ? 2030",
        "0 0 12 ? * 6#3",
        "Asia/Kolkata",
        "../../etc/passwd",
        "2026-01-01T00:00:00Z",
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59Z",
        "fireOnceNow",
        "quartz",
        "'; DROP TABLE jobs; --",
        "\x00\x1f",
    ]
)


def assert_error_shape(status: int, body: Any) -> None:
    assert status < 500
    if status >= 400:
        assert isinstance(body, dict)
        assert set(body) == {"errors"} or set(body) == {"error", "message", "info"}


@FUZZ
@given(body=json_values)
def test_arbitrary_json_bodies(client: TestClient, admin: dict[str, str], body: Any) -> None:
    r = client.post(f"{BASE}/job", content=json.dumps(body), headers=admin)
    assert_error_shape(r.status_code, r.json())
    assert r.status_code != 201


@FUZZ
@given(
    job_edits=st.dictionaries(job_keys, json_values | interesting, max_size=3),
    schedule_edits=st.dictionaries(schedule_keys, json_values | interesting, max_size=4),
)
def test_mutated_valid_bodies(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    job_edits: dict[str, Any],
    schedule_edits: dict[str, Any],
) -> None:
    body = periodic_job(world)
    body.update(job_edits)
    if isinstance(body.get("jobSchedule"), dict):
        body["jobSchedule"] = {**body["jobSchedule"], **schedule_edits}
    r = client.post(f"{BASE}/job", content=json.dumps(body), headers=admin)
    assert_error_shape(r.status_code, r.json())
    if r.status_code == 201:
        got = client.get(f"{BASE}/job/{r.json()['jobId']}", headers=admin)
        assert got.json() == r.json()


@FUZZ
@given(
    job_id=st.text(min_size=1, max_size=25).filter(lambda s: "/" not in s and s not in (".", "..")),
    execution=st.text(min_size=1, max_size=25).filter(
        lambda s: "/" not in s and s not in (".", "..")
    ),
    page=st.text(max_size=12),
)
def test_arbitrary_path_and_query_values(
    client: TestClient, reader: dict[str, str], job_id: str, execution: str, page: str
) -> None:
    job_id, execution = quote(job_id, safe=""), quote(execution, safe="")
    for path in (
        f"{BASE}/job/{job_id}",
        f"{BASE}/job/{job_id}/history",
        f"{BASE}/job/{job_id}/history/{execution}",
    ):
        r = client.get(path, headers=reader)
        assert_error_shape(r.status_code, r.json())
    r = client.get(
        f"{BASE}/job/{job_id}/history/{execution}/inferences",
        params={"currentPage": page},
        headers=reader,
    )
    assert_error_shape(r.status_code, r.json())
