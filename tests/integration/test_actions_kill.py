"""kill -9 of `batchscore serve` in the middle of delivering job actions (design §2.9): a second
instance on the same database delivers what is left once the lease expires, and each effect
takes effect once — alarms in the store exactly once, and every webhook delivery once by its
delivery key (the call in flight at the kill arrives a second time with the same key, which
is what the key is for)."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from batchscore.testing import scratch_postgres
from tests.conftest import BACKENDS, IFOREST_CASE, PG_URL
from tests.integration.conftest import CANONICAL
from tests.integration.live_server import live_batchscore, wait_until
from tests.integration.test_actions import SECRET, WebhookReceiver
from tests.integration.test_executions import corpus_rows

BASE = "/service/zementis"
DEVICES = 8
HOLD_AT = 4
"""The webhook call at which the receiver holds on until the first instance is killed."""


class HoldingReceiver(WebhookReceiver):
    """Counts calls by delivery key; the ``HOLD_AT``-th call is held unanswered."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.bodies = 0
        super().__init__()

    def received(self, body: bytes) -> None:
        """The ``HOLD_AT``-th whole request waits here, unanswered, until released: the
        instance that sent it is killed while it waits for the answer."""
        with self._lock:
            self.bodies += 1
            number = self.bodies
        if number == HOLD_AT:
            self.arrived.set()
            self.release.wait(30)

    def keys(self) -> Counter[str]:
        return Counter(headers["X-Batchscore-Delivery"] for headers, _ in self.calls)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    assert PG_URL is not None
    with scratch_postgres(PG_URL, "batchscore_actions_kill") as url:
        yield url


def setup_job(http: httpx.Client, url: str) -> int:
    inputs, _ = corpus_rows()
    group = http.post(
        "/inventory/managedObjects", json={"name": "fleet", "c8y_IsDeviceGroup": {}}
    ).json()["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(DEVICES):
        device = http.post(
            "/inventory/managedObjects", json={"name": f"m{n}", "c8y_IsDevice": {}}
        ).json()["id"]
        http.post(
            f"/inventory/managedObjects/{group}/childAssets",
            json={"managedObject": {"id": device}},
        )
        items = []
        for i, row in enumerate(inputs):
            m: dict[str, Any] = {
                "source": {"id": device},
                "time": (now - timedelta(seconds=600 - i)).isoformat(),
                "type": "c8y_Motion",
            }
            for name, path in CANONICAL.items():
                fragment, series, _ = path.split(".")
                m.setdefault(fragment, {})[series] = {"value": float(row[name])}
            items.append(m)
        r = http.post("/measurement/measurements", json={"measurements": items})
        assert r.status_code == 201, r.text[:300]
    files = {"file": ("IsolationForest.pmml", (IFOREST_CASE / "model.pmml").read_bytes())}
    assert http.post(f"{BASE}/model", files=files).status_code == 201
    body = {
        "jobName": "fleet-watch",
        "associatedGroupOrDeviceId": int(group),
        "associatedModel": "IsolationForest",
        "modelToDeviceMappings": dict(CANONICAL),
        "jobSchedule": {
            "frequency": "periodic",
            "cronExpression": "0 0 0 1 1 ? 2099",
            "timeZone": "UTC",
            "dataFromPreviousNSeconds": 3600,
        },
        "actions": [
            {
                "name": "outliers",
                "when": {"output": "outlier", "equals": True},
                "raise": [
                    {"alarm": {"type": "bs_Outlier", "severity": "MAJOR", "text": "{count}"}},
                    {"webhook": {"url": url, "secret": SECRET}},
                ],
            }
        ],
    }
    r = http.post(f"{BASE}/job", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["jobId"])


def test_kill_9_during_delivery_delivers_each_effect_once(
    database_url: str, tmp_path: Path
) -> None:
    receiver = HoldingReceiver()
    env = {
        "BATCHSCORE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "BATCHSCORE_ACTION_LEASE_S": "2",
        "BATCHSCORE_ACTION_INTERVAL_S": "0.2",
    }
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    try:
        with live_batchscore(first, env, database_url=database_url) as a:
            with httpx.Client(base_url=a.base_url, auth=a.auth, timeout=30) as http:
                job_id = setup_job(http, receiver.url)
                assert http.post(f"{BASE}/job/{job_id}/run").status_code == 201
                assert receiver.arrived.wait(60), "no webhook call arrived"
            os.kill(a.pid, signal.SIGKILL)
            os.waitpid(a.pid, 0)
        receiver.release.set()  # the held call answers a dead instance
        with (
            live_batchscore(second, env, database_url=database_url) as b,
            httpx.Client(base_url=b.base_url, auth=b.auth, timeout=30) as http,
        ):

            def all_delivered() -> bool:
                r = http.get(f"{BASE}/job/{job_id}/history/1/actions")
                return r.status_code == 200 and all(e["status"] == "delivered" for e in r.json())

            wait_until(all_delivered, "every effect delivered by the second instance", 60)
            effects = http.get(f"{BASE}/job/{job_id}/history/1/actions").json()
            alarms = http.get(
                "/alarm/alarms", params={"type": "bs_Outlier", "pageSize": 100}
            ).json()["alarms"]
    finally:
        receiver.release.set()
        receiver.close()
    hooks = [e for e in effects if e["kind"] == "webhook"]
    assert len(hooks) == DEVICES
    assert len([e for e in effects if e["kind"] == "alarm"]) == DEVICES
    # alarms: each raised exactly once (store write and delivered mark commit together)
    assert sorted(a["count"] for a in alarms) == [1] * DEVICES
    # webhooks: every delivery key arrived; only the call in flight at the kill came twice
    keys = receiver.keys()
    assert set(keys) == {e["delivery"] for e in hooks}
    assert sorted(keys.values()) == [1] * (DEVICES - 1) + [2]
    assert all(receiver.signature_ok(h, body) for h, body in receiver.calls)
