"""Authentication, roles and tenant isolation across the routes."""

from __future__ import annotations

import base64
import logging
import re

import pytest
from fastapi.testclient import TestClient

from batchscore.testing import basic_auth
from tests.conftest import PASSWORD
from tests.integration.conftest import World, periodic_job

BASE = "/service/zementis"
NOT_AUTHORIZED = {
    "error": "general/internalError",
    "message": "Not authorized!",
    "info": "https://www.cumulocity.com/guides/reference-guide/#error_reporting",
}

READ_ROUTES = [
    ("GET", f"{BASE}/jobs"),
    ("GET", f"{BASE}/job/1"),
    ("GET", f"{BASE}/job/1/history"),
    ("GET", f"{BASE}/job/1/history/1"),
    ("GET", f"{BASE}/job/1/history/1/inferences"),
    ("GET", f"{BASE}/job/1/status"),
    ("GET", f"{BASE}/job/1/history/1/actions"),
    ("GET", f"{BASE}/models"),
    ("GET", f"{BASE}/model/x"),
    ("GET", f"{BASE}/model/x/source"),
    ("GET", "/inventory/managedObjects/1"),
    ("GET", "/inventory/managedObjects/1/childAssets"),
    ("GET", "/inventory/managedObjects"),
    ("GET", "/measurement/measurements"),
    ("GET", "/inventory/managedObjects/1/childDevices"),
    ("GET", "/inventory/managedObjects/1/supportedMeasurements"),
    ("GET", "/inventory/managedObjects/1/supportedSeries"),
    ("GET", "/measurement/measurements/1"),
    ("GET", "/measurement/measurements/series?source=1&dateFrom=2026-01-01&dateTo=2026-01-02"),
    ("GET", "/alarm/alarms"),
    ("GET", "/alarm/alarms/count"),
    ("GET", "/alarm/alarms/1"),
    ("GET", "/event/events"),
    ("GET", "/event/events/1"),
    ("GET", f"{BASE}/apply/x?record=%7B%7D"),
    ("POST", f"{BASE}/apply/x"),
    ("GET", f"{BASE}/job/1/history/1/inferences.csv"),
    ("GET", f"{BASE}/schedule/preview?cronExpression=0+0+5+%3F+*+*"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
]
WRITE_ROUTES = [
    ("POST", f"{BASE}/job"),
    ("DELETE", f"{BASE}/job/1"),
    ("DELETE", f"{BASE}/jobs"),
    ("POST", f"{BASE}/model"),
    ("PUT", f"{BASE}/model/x/activate"),
    ("PUT", f"{BASE}/model/x/deactivate"),
    ("DELETE", f"{BASE}/model/x"),
    ("DELETE", f"{BASE}/models"),
    ("POST", "/inventory/managedObjects"),
    ("POST", "/inventory/managedObjects/1/childAssets"),
    ("POST", "/measurement/measurements"),
    ("POST", f"{BASE}/job/1/run"),
    ("PUT", f"{BASE}/job/1"),
    ("POST", f"{BASE}/job/1/pause"),
    ("POST", f"{BASE}/job/1/resume"),
    ("POST", f"{BASE}/job/1/backfill"),
    ("DELETE", f"{BASE}/job/1/backfill"),
    ("DELETE", "/inventory/managedObjects/1/childAssets/2"),
    ("GET", "/metrics"),  # admin only (or the metrics token)
    ("DELETE", "/inventory/managedObjects/1/childAssets"),
    ("PUT", "/inventory/managedObjects/1"),
    ("DELETE", "/inventory/managedObjects/1"),
    ("POST", "/inventory/managedObjects/1/childDevices"),
    ("DELETE", "/inventory/managedObjects/1/childDevices/2"),
    ("DELETE", "/inventory/managedObjects/1/childDevices"),
    ("DELETE", "/measurement/measurements/1"),
    ("DELETE", "/measurement/measurements?source=1"),
    ("POST", "/alarm/alarms"),
    ("PUT", "/alarm/alarms/1"),
    ("PUT", "/alarm/alarms?source=1"),
    ("DELETE", "/alarm/alarms?source=1"),
    ("POST", "/event/events"),
    ("PUT", "/event/events/1"),
    ("DELETE", "/event/events/1"),
    ("DELETE", "/event/events?source=1"),
]
ALL_ROUTES = READ_ROUTES + WRITE_ROUTES


def test_the_route_lists_cover_every_documented_route(client: TestClient) -> None:
    """A new route cannot slip past the auth matrix: every method and path of the OpenAPI
    document (but the open probes /health and /health/ready) is in READ_ROUTES or
    WRITE_ROUTES."""
    listed = {(method, path.split("?")[0]) for method, path in ALL_ROUTES}
    schema = client.app.openapi()  # type: ignore[attr-defined]
    missing = []
    for template, operations in schema["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$")
        for method in operations:
            found = any(m == method.upper() and pattern.match(p) for m, p in listed)
            if not found and template not in ("/health", "/health/ready"):
                missing.append(f"{method.upper()} {template}")
    assert missing == []


def bad_headers() -> list[dict[str, str]]:
    return [
        {},
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic !!!notbase64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        basic_auth("admin", "wrong", tenant="t1"),
        basic_auth("admin", PASSWORD, tenant="nosuchtenant"),
        basic_auth("ghost", PASSWORD, tenant="t1"),
    ]


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_every_route_needs_credentials(client: TestClient, method: str, path: str) -> None:
    for headers in bad_headers():
        r = client.request(method, path, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json() == NOT_AUTHORIZED
        assert r.headers["www-authenticate"] == 'Basic realm="batchscore"'


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES)
def test_read_role_cannot_write(
    client: TestClient, reader: dict[str, str], method: str, path: str
) -> None:
    r = client.request(method, path, headers=reader, json={})
    assert r.status_code == 403
    body = r.json()
    assert set(body) == {"error", "message", "info"}
    assert "ROLE_" in body["message"]


@pytest.mark.parametrize(("method", "path"), READ_ROUTES)
def test_read_role_can_read(
    client: TestClient, reader: dict[str, str], method: str, path: str
) -> None:
    r = client.request(method, path, headers=reader)
    assert r.status_code in (200, 404), r.text


def test_health_needs_no_auth(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "UP"


def test_plain_user_logs_into_the_default_tenant(client: TestClient) -> None:
    r = client.get(f"{BASE}/jobs", headers=basic_auth("plain", PASSWORD))
    assert (r.status_code, r.json()) == (200, [])


def test_other_tenants_ids_are_404(
    client: TestClient, admin: dict[str, str], other_admin: dict[str, str], world: World
) -> None:
    job = client.post(f"{BASE}/job", json=periodic_job(world), headers=admin).json()
    job_id = job["jobId"]
    for path in (f"/job/{job_id}", f"/job/{job_id}/history", f"/job/{job_id}/status"):
        r = client.get(BASE + path, headers=other_admin)
        assert r.status_code == 404
        assert r.json() == {"errors": [f"Zementis job ID '{job_id}' not found."]}
    assert client.delete(f"{BASE}/job/{job_id}", headers=other_admin).status_code == 404
    assert client.get(f"{BASE}/jobs", headers=other_admin).json() == []
    assert client.delete(f"{BASE}/jobs", headers=other_admin).json() == []
    assert client.get(f"{BASE}/job/{job_id}", headers=admin).status_code == 200
    assert client.get(f"{BASE}/models", headers=other_admin).json() == {"models": []}
    assert client.get(f"{BASE}/model/{world.model}", headers=other_admin).status_code == 404
    r = client.get(f"/inventory/managedObjects/{world.device}", headers=other_admin)
    assert r.status_code == 404
    # Another tenant cannot point a job at our devices either.
    client.post(
        f"{BASE}/model",
        content=client.get(f"{BASE}/model/{world.model}/source", headers=admin).content,
        headers=other_admin,
    )
    r = client.post(f"{BASE}/job", json=periodic_job(world), headers=other_admin)
    assert r.status_code == 404
    assert r.json() == {
        "errors": [f"Device or group with id {world.group} does not exist or it is invalid"]
    }


def test_failed_logins_are_rate_limited_and_logged_without_password(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = basic_auth("admin", "not-the-password-xyz", tenant="t1")
    with caplog.at_level(logging.WARNING):
        codes = [client.get(f"{BASE}/jobs", headers=wrong).status_code for _ in range(5)]
    assert codes == [401] * 5
    r = client.get(f"{BASE}/jobs", headers=wrong)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert set(r.json()) == {"error", "message", "info"}
    # Even the right password waits until the window has passed.
    right = basic_auth("admin", PASSWORD, tenant="t1")
    assert client.get(f"{BASE}/jobs", headers=right).status_code == 429
    assert "not-the-password-xyz" not in caplog.text
    assert "login failed" in caplog.text
    # Another user from the same address is not affected.
    assert (
        client.get(f"{BASE}/jobs", headers=basic_auth("reader", PASSWORD, "t1")).status_code == 200
    )


def test_rate_limit_window_passes_with_the_clock(client: TestClient) -> None:
    from batchscore.clock import FakeClock

    clock: FakeClock = client.app.state.services.clock  # type: ignore[attr-defined]
    wrong = basic_auth("admin", "nope", tenant="t1")
    for _ in range(5):
        client.get(f"{BASE}/jobs", headers=wrong)
    assert client.get(f"{BASE}/jobs", headers=wrong).status_code == 429
    clock.advance(61)
    right = basic_auth("admin", PASSWORD, tenant="t1")
    assert client.get(f"{BASE}/jobs", headers=right).status_code == 200


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_every_route_answers_nosniff(
    client: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    """JSON, CSV, HTML and error answers alike, with and without credentials."""
    for headers in ({}, admin):
        r = client.request(method, path, headers=headers)
        assert r.headers["x-content-type-options"] == "nosniff", (method, path, r.status_code)


@pytest.mark.parametrize("path", ["/health", "/", "/login", "/static/console.css", "/nowhere"])
def test_open_and_console_answers_are_nosniff(client: TestClient, path: str) -> None:
    assert client.get(path).headers["x-content-type-options"] == "nosniff"


def test_responses_carry_a_request_id(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get(f"{BASE}/jobs", headers={**admin, "X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = client.get(f"{BASE}/jobs", headers={**admin, "X-Request-ID": "bad id\x01"})
    assert r.headers["x-request-id"] != "bad id\x01"
    assert len(r.headers["x-request-id"]) == 16


def test_every_request_gets_its_own_id_and_one_access_line(
    client: TestClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="batchscore.access"):
        ids = [client.get(f"{BASE}/jobs", headers=admin).headers["x-request-id"] for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    lines = [r for r in caplog.records if r.name == "batchscore.access"]
    assert [r.getMessage() for r in lines] == [f"GET {BASE}/jobs 200"] * 3
    assert all(r.durationMs >= 0 for r in lines)  # type: ignore[attr-defined]
