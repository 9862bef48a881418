"""Job actions with ``BATCHSCORE_SOURCE=cumulocity``: alarms, events and write-back go to the
(fake) tenant the job reads from, over real HTTP, with the tenant's alarm de-duplication."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database
from tests.conftest import IFOREST_CASE
from tests.integration.conftest import CANONICAL
from tests.integration.fake_tenant import FakeTenant
from tests.integration.live_server import serve_asgi
from tests.integration.test_actions import T0, actions_body
from tests.integration.test_executions import corpus_rows


@pytest.fixture
def fake() -> FakeTenant:
    return FakeTenant()


@pytest.fixture
def remote(
    fake: FakeTenant,
    db: Database,
    clock: FakeClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Services]:
    with serve_asgi(fake.app()) as url:
        for key, value in {
            "C8Y_BASEURL": url,
            "C8Y_TENANT": fake.tenant,
            "C8Y_USER": fake.user,
            "C8Y_PASSWORD": fake.password,
        }.items():
            monkeypatch.setenv(key, value)
        services = Services.build(settings.model_copy(update={"source": "cumulocity"}), db, clock)
        try:
            yield services
        finally:
            services.close()


def add_rows(fake: FakeTenant, device: str, rows: list[dict[str, str]]) -> None:
    for i, row in enumerate(rows):
        document: dict[str, object] = {
            "source": {"id": device},
            "time": (T0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
            "type": "c8y_Motion",
        }
        for name, path in CANONICAL.items():
            fragment, series, _ = path.split(".")
            document.setdefault(fragment, {})[series] = {"value": float(row[name])}  # type: ignore[union-attr]
        fake.add_measurement(document)


def test_alarms_events_and_write_back_land_in_the_tenant(
    fake: FakeTenant, remote: Services, clock: FakeClock
) -> None:
    inputs, expected = corpus_rows()
    normal = [r for r, e in zip(inputs, expected, strict=True) if e["outlier"] == "false"]
    group = fake.add_object("line", "c8y_IsDeviceGroup")
    wild = fake.add_object("pump-1", "c8y_IsDevice")
    calm = fake.add_object("pump-2", "c8y_IsDevice")
    fake.assign(group, wild)
    fake.assign(group, calm)
    add_rows(fake, wild, inputs)
    add_rows(fake, calm, normal)
    remote.models.upload("t1", (IFOREST_CASE / "model.pmml").read_bytes(), "IsolationForest.pmml")
    clock.set(T0 + timedelta(hours=5))
    body = actions_body(int(group), "https://ops.example/hook")
    body["actions"][0]["raise"] = body["actions"][0]["raise"][:2]  # alarm and event
    job = remote.jobs.create("t1", body)

    for run in (1, 2):
        claimed = remote.lifecycle.create_now(job, (T0, T0 + timedelta(hours=1)), clock.now())
        assert remote.executor.run(claimed) is ExecutionStatus.SUCCESS
        while remote.delivery.tick():
            pass
        effects = remote.actions.effects("t1", str(job.id), str(run))
        assert {e.status.value for e in effects} == {"delivered"}, effects
        clock.advance(60)

    [alarm] = fake.alarms  # one alarm, counted up by the second execution
    assert (alarm["source"]["id"], alarm["status"], alarm["count"]) == (wild, "ACTIVE", 2)
    assert (alarm["type"], alarm["severity"]) == ("bs_AnomalyDetected", "MAJOR")
    assert alarm["text"] == f"32 anomalous records of {wild} in job vibration"
    assert [e["source"]["id"] for e in fake.events] == [wild, wild]
    assert len({e["bs_Action"]["delivery"] for e in fake.events}) == 2
    written = [m for m in fake.measurements if m.get("type") == "bs_Anomaly"]
    assert len(written) == 2 * (len(inputs) + len(normal))
    assert {m["source"]["id"] for m in written} == {wild, calm}
