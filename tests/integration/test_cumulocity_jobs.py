"""A job whose measurements come from a Cumulocity tenant (BATCHSCORE_SOURCE=cumulocity): here a
live batchscore plays the tenant, reached over real HTTP."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.sources.cumulocity import CumulocitySource
from batchscore.store.db import Database
from tests.conftest import IFOREST_CASE
from tests.integration.conftest import CANONICAL
from tests.integration.live_server import LiveServer, live_batchscore
from tests.integration.test_executions import T0, corpus_rows, job_body


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_batchscore(tmp_path_factory.mktemp("c8y")) as server:
        yield server


def test_job_scores_measurements_read_from_cumulocity(
    tenant: LiveServer,
    db: Database,
    clock: FakeClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs, expected = corpus_rows()
    with httpx.Client(base_url=tenant.base_url, auth=tenant.auth, timeout=30) as http:
        device = http.post(
            "/inventory/managedObjects", json={"name": "remote pump", "c8y_IsDevice": {}}
        ).json()["id"]
        measurements = []
        for i, row in enumerate(inputs[:40]):
            m: dict[str, object] = {
                "source": {"id": device},
                "time": (T0 + timedelta(seconds=i)).isoformat(),
                "type": "c8y_Motion",
            }
            for name, path in CANONICAL.items():
                fragment, series, _ = path.split(".")
                m.setdefault(fragment, {})[series] = {"value": float(row[name])}  # type: ignore[union-attr]
            measurements.append(m)
        assert (
            http.post("/measurement/measurements", json={"measurements": measurements}).status_code
            == 201
        )
    for key, value in {
        "C8Y_BASEURL": tenant.base_url,
        "C8Y_TENANT": tenant.tenant,
        "C8Y_USER": tenant.user,
        "C8Y_PASSWORD": tenant.password,
    }.items():
        monkeypatch.setenv(key, value)
    services = Services.build(settings.model_copy(update={"source": "cumulocity"}), db, clock)
    try:
        assert isinstance(services.source, CumulocitySource)
        model = (IFOREST_CASE / "model.pmml").read_bytes()
        services.models.upload("t1", model, "IsolationForest.pmml")
        schedule = {
            "frequency": "once",
            "dataFrom": T0.isoformat(),
            "dataTo": (T0 + timedelta(seconds=40)).isoformat(),
        }
        job = services.jobs.create("t1", job_body(int(device), schedule))
        missing = job_body(99999, schedule)
        with pytest.raises(Exception, match="99999 does not exist"):
            services.jobs.create("t1", missing)

        started = services.runs.fire("t1", str(job.id))
        assert services.executor.run(started) is ExecutionStatus.SUCCESS
        [piece] = services.inferences.page("t1", str(job.id), "1", 1)
        got = piece.columns["rawAnomalyScore"].tolist()
        want = [float(r["rawAnomalyScore"]) for r in expected[:40]]
        assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got, want, strict=True))
    finally:
        services.close()
