"""Job actions end to end (design §2.9) on SQLite and PostgreSQL: an ``outlier`` rule raises one
alarm per anomalous device (counted up by later executions, cleared when the device is normal),
creates events, writes scores back as measurements readable through the measurement API and
calls a live webhook receiver whose signature check passes — each effect exactly once."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.service.container import Services
from batchscore.settings import Settings
from tests.integration.conftest import CANONICAL, World
from tests.integration.test_console_csrf import sign_in
from tests.integration.test_executions import corpus_rows, post_measurements, upload_iforest

BASE = "/service/zementis"
T0 = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
SECRET = "s3cret-for-tests"


class WebhookReceiver:
    """A live HTTP server on 127.0.0.1 that keeps every call and checks its signature."""

    def __init__(self, status: int = 200) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.status = status
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received(body)
                with receiver._lock:
                    receiver.calls.append((dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self, body: bytes) -> None:
        """Called with each whole request body before it is counted and answered."""

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def signature_ok(self, headers: dict[str, str], body: bytes) -> bool:
        want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(headers.get("X-Batchscore-Signature", ""), want)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    live = WebhookReceiver()
    yield live
    live.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        password_profile="fast",
        var_dir=tmp_path,
        login_failures_allowed=5,
        webhook_allowed_hosts="127.0.0.1",
    )


def actions_body(target: int, url: str) -> dict[str, Any]:
    return {
        "jobName": "vibration",
        "jobDescription": "anomalies raise alarms",
        "associatedGroupOrDeviceId": target,
        "associatedModel": "IsolationForest",
        "modelToDeviceMappings": {
            "accelerationX": "c8y_Acceleration.accelerationX.value",
            "accelerationY": "c8y_Acceleration.accelerationY.value",
            "accelerationZ": "c8y_Acceleration.accelerationZ.value",
            "gyroX": "c8y_Gyroscope.gyroX.value",
            "gyroY": "c8y_Gyroscope.gyroY.value",
            "gyroZ": "c8y_Gyroscope.gyroZ.value",
        },
        "jobSchedule": {
            "frequency": "periodic",
            "cronExpression": "0 0 5 ? * *",
            "timeZone": "UTC",
            "dataFromPreviousNSeconds": 3600,
        },
        "actions": [
            {
                "name": "vibration-alarm",
                "when": {"output": "outlier", "equals": True, "atLeast": 3},
                "raise": [
                    {
                        "alarm": {
                            "type": "bs_AnomalyDetected",
                            "severity": "MAJOR",
                            "text": "{count} anomalous records of {deviceName} in job {jobName}",
                        }
                    },
                    {"event": {"type": "bs_AnomalyEvent", "text": "{count} of {deviceId}"}},
                    {"webhook": {"url": url, "secret": SECRET}},
                ],
                "clearWhenNormal": True,
            }
        ],
        "writeBack": {"fragment": "bs_Anomaly", "outputs": {"score": "decisionFunction"}},
    }


def run_execution(services: Services, clock: FakeClock, job_id: int, hour: int) -> None:
    """Run the job now over the window of hour ``hour`` after T0."""
    job = services.jobs.get("t1", str(job_id))
    start = T0 + timedelta(hours=hour)
    claimed = services.lifecycle.create_now(job, (start, start + timedelta(hours=1)), clock.now())
    assert services.executor.run(claimed) in (ExecutionStatus.SUCCESS, ExecutionStatus.WARNING)


def deliver_all(services: Services) -> None:
    for _ in range(20):
        if services.delivery.tick() == 0:
            return
    raise AssertionError("the outbox did not drain")


def alarms_of(client: TestClient, admin: dict[str, str], device: int) -> list[dict[str, Any]]:
    r = client.get(
        "/alarm/alarms",
        params={"source": str(device), "type": "bs_AnomalyDetected", "pageSize": 100},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    return list(r.json()["alarms"])


def test_outlier_rule_raises_counts_clears_and_calls_back_once(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    services: Services,
    clock: FakeClock,
    receiver: WebhookReceiver,
) -> None:
    inputs, expected = corpus_rows()
    normal = [row for row, out in zip(inputs, expected, strict=True) if out["outlier"] == "false"]
    post_measurements(client, admin, world.device, inputs)  # 32 outliers in hour 0
    post_measurements(client, admin, world.device2, normal)  # none
    upload_iforest(client, admin)
    clock.set(T0 + timedelta(hours=5))
    r = client.post(f"{BASE}/job", json=actions_body(world.group, receiver.url), headers=admin)
    assert r.status_code == 201, r.text
    job = r.json()
    job_id = job["jobId"]
    # echoed without the secret
    assert job["actions"][0]["raise"][2] == {"webhook": {"url": receiver.url}}
    assert SECRET not in json.dumps(client.get(f"{BASE}/job/{job_id}", headers=admin).json())
    assert job["writeBack"] == {"fragment": "bs_Anomaly", "outputs": {"score": "decisionFunction"}}

    run_execution(services, clock, job_id, 0)
    listed = client.get(f"{BASE}/job/{job_id}/history/1/actions", headers=admin)
    assert listed.status_code == 200, listed.text
    effects = listed.json()
    assert {(e["deviceId"], e["kind"]) for e in effects} == {
        (world.device, "alarm"),
        (world.device, "event"),
        (world.device, "webhook"),
        (world.device, "measurements"),
        (world.device2, "clear"),
        (world.device2, "measurements"),
    }
    assert all(e["status"] == "pending" and e["attempts"] == 0 for e in effects)
    assert SECRET not in listed.text

    sign_in(client)  # the console's execution page lists the effects with their status
    html = client.get(f"/jobs/{job_id}/executions/1").text
    assert 'id="effects"' in html
    assert html.count("pending") >= len(effects)
    assert SECRET not in html
    deliver_all(services)
    deliver_all(services)  # nothing left: delivering again changes nothing
    effects = client.get(f"{BASE}/job/{job_id}/history/1/actions", headers=admin).json()
    assert all(e["status"] == "delivered" and e["attempts"] == 1 for e in effects), effects

    [alarm] = alarms_of(client, admin, world.device)
    assert (alarm["status"], alarm["severity"], alarm["count"]) == ("ACTIVE", "MAJOR", 1)
    assert alarm["text"] == "32 anomalous records of sensor-1 in job vibration"
    assert alarms_of(client, admin, world.device2) == []
    events = client.get(
        "/event/events", params={"source": str(world.device), "type": "bs_AnomalyEvent"},
        headers=admin,
    ).json()["events"]  # fmt: skip
    assert [e["text"] for e in events] == [f"32 of {world.device}"]

    # write-back: one measurement per record, time = record time, series bs_Anomaly.score
    written = client.get(
        "/measurement/measurements",
        params={"source": str(world.device), "type": "bs_Anomaly", "pageSize": 2000},
        headers=admin,
    ).json()["measurements"]
    assert len(written) == len(inputs)
    assert written[0]["time"].startswith("2026-01-14T10:00:00")
    first = float(expected[0]["decisionFunction"])
    assert abs(written[0]["bs_Anomaly"]["score"]["value"] - first) < 1e-9

    # the webhook: one call, signed, with the delivery key
    assert len(receiver.calls) == 1
    headers, body = receiver.calls[0]
    assert receiver.signature_ok(headers, body)
    document = json.loads(body)
    assert (document["deviceId"], document["count"], document["rule"]) == (
        world.device, 32, "vibration-alarm"
    )  # fmt: skip
    assert headers["X-Batchscore-Delivery"] == document["delivery"]
    # the alarm and the event are dated by the last record that met the rule, not the delivery
    last = datetime.fromisoformat(document["lastTime"])
    assert T0 <= last < T0 + timedelta(hours=1)
    assert datetime.fromisoformat(alarm["time"]) == last
    assert [datetime.fromisoformat(e["time"]) for e in events] == [last]

    # a later execution over the same data counts the open alarm up
    clock.advance(60)
    run_execution(services, clock, job_id, 0)
    deliver_all(services)
    [alarm] = alarms_of(client, admin, world.device)
    assert (alarm["status"], alarm["count"]) == ("ACTIVE", 2)
    assert len(receiver.calls) == 2

    # the device calms down: hour 1 has only normal records -> cleared, no new raise
    post_measurements_at(client, admin, world.device, normal[:50], T0 + timedelta(hours=1))
    clock.advance(60)
    run_execution(services, clock, job_id, 1)
    deliver_all(services)
    [alarm] = alarms_of(client, admin, world.device)
    assert (alarm["status"], alarm["count"]) == ("CLEARED", 2)
    assert len(receiver.calls) == 2
    third = client.get(f"{BASE}/job/{job_id}/history/3/actions", headers=admin).json()
    assert {e["kind"] for e in third if e["deviceId"] == world.device} == {
        "clear",
        "measurements",
    }


def post_measurements_at(
    client: TestClient,
    admin: dict[str, str],
    device: int,
    rows: list[dict[str, str]],
    start: datetime,
) -> None:
    """Like ``post_measurements``, one record a second from ``start``."""
    items = []
    for i, row in enumerate(rows):
        m: dict[str, Any] = {
            "source": {"id": str(device)},
            "time": (start + timedelta(seconds=i)).isoformat(),
            "type": "c8y_Motion",
        }
        for name, path in CANONICAL.items():
            fragment, series, _ = path.split(".")
            m.setdefault(fragment, {})[series] = {"value": float(row[name])}
        items.append(m)
    r = client.post("/measurement/measurements", json={"measurements": items}, headers=admin)
    assert r.status_code == 201, r.text[:300]


def test_failing_webhook_is_retried_with_backoff_then_delivered(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    services: Services,
    clock: FakeClock,
    receiver: WebhookReceiver,
) -> None:
    inputs, _ = corpus_rows()
    post_measurements(client, admin, world.device, inputs)
    upload_iforest(client, admin)
    clock.set(T0 + timedelta(hours=5))
    body = actions_body(world.group, receiver.url)
    body["actions"][0]["raise"] = [{"webhook": {"url": receiver.url, "secret": SECRET}}]
    del body["writeBack"]
    job_id = client.post(f"{BASE}/job", json=body, headers=admin).json()["jobId"]
    receiver.status = 503
    run_execution(services, clock, job_id, 0)
    assert services.delivery.tick() == 1
    [effect] = client.get(f"{BASE}/job/{job_id}/history/1/actions", headers=admin).json()
    assert (effect["status"], effect["attempts"]) == ("pending", 1)
    assert effect["lastError"] == "the webhook answered 503"
    assert services.delivery.tick() == 0  # not due before its backoff
    receiver.status = 200
    clock.advance(5)
    assert services.delivery.tick() == 1
    [effect] = client.get(f"{BASE}/job/{job_id}/history/1/actions", headers=admin).json()
    assert (effect["status"], effect["attempts"], effect["lastError"]) == ("delivered", 2, None)
    assert len(receiver.calls) == 2
    assert (
        receiver.calls[0][0]["X-Batchscore-Delivery"]
        == receiver.calls[1][0]["X-Batchscore-Delivery"]
    )
    # after 24 h of failures, an effect is given up
    receiver.status = 500
    clock.advance(60)
    run_execution(services, clock, job_id, 0)
    services.delivery.tick()
    clock.advance(25 * 3600)
    services.delivery.tick()
    [effect] = client.get(f"{BASE}/job/{job_id}/history/2/actions", headers=admin).json()
    assert effect["status"] == "failed"
    assert effect["lastError"].startswith("given up after 2 attempts")


def test_invalid_actions_are_a_400_naming_each_problem(
    client: TestClient, admin: dict[str, str], world: World, receiver: WebhookReceiver
) -> None:
    upload_iforest(client, admin)
    body = actions_body(world.group, "http://10.1.2.3/hook")
    body["actions"][0]["when"] = {"output": "nope", "equals": True}
    body["actions"][0]["raise"][0]["alarm"]["text"] = "{bogus} happened"
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert r.status_code == 400, r.text
    text = " ".join(r.json()["errors"])
    assert "{bogus}" in text
    assert "private network" in text
    # references to the model are checked once the form is valid
    body = actions_body(world.group, "https://ops.example/hook")
    body["actions"][0]["when"] = {"output": "nope", "greaterThan": 1}
    body["writeBack"] = {"fragment": "c8y_Acceleration", "outputs": {"s": "decisionFunction"}}
    errors = client.post(f"{BASE}/job", json=body, headers=admin).json()["errors"]
    assert any("'nope'" in e and "not an output" in e for e in errors), errors
    assert any("never reads its own write-back" in e for e in errors), errors
    body = actions_body(world.group, "https://ops.example/hook")
    body["actions"][0]["when"] = {"output": "outlier", "greaterThan": 1}
    errors = client.post(f"{BASE}/job", json=body, headers=admin).json()["errors"]
    assert any("needs a numeric output" in e for e in errors), errors
    # a job without actions has neither field
    del body["actions"], body["writeBack"]
    job = client.post(f"{BASE}/job", json=body, headers=admin).json()
    assert "actions" not in job
    assert "writeBack" not in job


def test_a_stopping_delivery_gives_back_what_it_did_not_try(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    services: Services,
    clock: FakeClock,
    receiver: WebhookReceiver,
) -> None:
    inputs, _ = corpus_rows()
    post_measurements(client, admin, world.device, inputs)
    upload_iforest(client, admin)
    clock.set(T0 + timedelta(hours=5))
    r = client.post(f"{BASE}/job", json=actions_body(world.group, receiver.url), headers=admin)
    job_id = r.json()["jobId"]
    run_execution(services, clock, job_id, 0)
    stop = threading.Event()
    stop.set()
    assert services.delivery.tick(stop) > 0
    effects = client.get(f"{BASE}/job/{job_id}/history/1/actions", headers=admin).json()
    assert {(e["status"], e["attempts"]) for e in effects} == {("pending", 0)}
    assert receiver.calls == []
    deliver_all(services)  # at once, not after the lease
    effects = client.get(f"{BASE}/job/{job_id}/history/1/actions", headers=admin).json()
    assert {(e["status"], e["attempts"]) for e in effects} == {("delivered", 1)}
    assert len(receiver.calls) == 1


def test_the_job_form_defines_a_rule_with_a_preview_of_its_text(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    upload_iforest(client, admin)
    sign_in(client)
    form_page = client.get(f"/jobs/new?model=IsolationForest&target={world.group}").text
    assert 'id="rule"' in form_page
    assert '<option value="outlier">' in form_page  # the output picker offers the model's outputs
    assert "Preview: 12 anomalous records of Pump 7 in job vibration" in form_page
    r = client.get("/jobs/new/rule-preview", params={"rule.text": "{count} on {bogus}"})
    assert "unknown template field {bogus}" in r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form_page)
    assert token is not None
    form = {
        "csrf_token": token.group(1),
        "jobName": "from-the-form",
        "associatedModel": "IsolationForest",
        "associatedGroupOrDeviceId": str(world.group),
        "frequency": "periodic",
        "cronExpression": "0 0 5 ? * *",
        "timeZone": "UTC",
        "dataFromPreviousNSeconds": "600",
        **{f"map.{name}": path for name, path in CANONICAL.items()},
        "rule.name": "wobble",
        "rule.output": "outlier",
        "rule.test": "equals",
        "rule.value": "true",
        "rule.atLeast": "2",
        "rule.alarmType": "bs_Wobble",
        "rule.severity": "CRITICAL",
        "rule.text": "{count} wobbles",
        "rule.clear": "1",
    }
    r = client.post("/jobs/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    job_id = r.headers["location"].split("/")[2].split("?")[0]
    job = client.get(f"{BASE}/job/{job_id}", headers=admin).json()
    assert job["actions"] == [
        {
            "name": "wobble",
            "when": {"output": "outlier", "equals": True, "atLeast": 2},
            "raise": [
                {"alarm": {"type": "bs_Wobble", "text": "{count} wobbles", "severity": "CRITICAL"}}
            ],
            "clearWhenNormal": True,
        }
    ]
    # a bad rule comes back as an error on the form, with the rule as typed
    form.update({"jobName": "bad", "rule.output": "nope", "rule.text": "{count} again"})
    r = client.post("/jobs/new", data=form, follow_redirects=False)
    assert r.status_code == 200
    assert "not an output of the model" in r.text
    assert 'value="{count} again"' in r.text


def test_put_keeps_secrets_and_the_console_edit_keeps_actions(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    receiver: WebhookReceiver,
    services: Services,
) -> None:
    upload_iforest(client, admin)
    body = actions_body(world.group, receiver.url)
    job = client.post(f"{BASE}/job", json=body, headers=admin).json()
    job_id = job["jobId"]
    # PUT of the body as GET shows it (without the secret): the stored secret stays
    echoed = {k: v for k, v in job.items() if k in body}
    echoed["jobName"] = "renamed"
    r = client.put(f"{BASE}/job/{job_id}", json=echoed, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["actions"] == job["actions"]
    assert SECRET not in r.text
    stored = services.jobs.get("t1", str(job_id)).actions[0].targets[2]
    assert stored.secret == SECRET
    # PUT validates actions as POST does
    bad = {**echoed, "actions": [{**echoed["actions"][0], "when": {"output": "x", "equals": 1}}]}
    r = client.put(f"{BASE}/job/{job_id}", json=bad, headers=admin)
    assert r.status_code == 400
    assert any("not an output of the model" in e for e in r.json()["errors"])
    # the console's edit form has no rule controls: saving it keeps actions and write-back
    sign_in(client)
    page = client.get(f"/jobs/{job_id}/edit").text
    assert 'id="rule"' not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    form = {
        "csrf_token": token.group(1),
        "jobName": "edited",
        "associatedModel": "IsolationForest",
        "associatedGroupOrDeviceId": str(world.group),
        "frequency": "periodic",
        "cronExpression": "0 0 5 ? * *",
        "timeZone": "UTC",
        "dataFromPreviousNSeconds": "3600",
        **{f"map.{name}": path for name, path in CANONICAL.items()},
    }
    r = client.post(f"/jobs/{job_id}/edit", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:1000]
    after = client.get(f"{BASE}/job/{job_id}", headers=admin).json()
    assert after["jobName"] == "edited"
    assert (after["actions"], after["writeBack"]) == (job["actions"], job["writeBack"])
    assert services.jobs.get("t1", str(job_id)).actions[0].targets[2].secret == SECRET
