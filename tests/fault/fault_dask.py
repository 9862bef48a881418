"""Executions on Dask when the cluster fails (issue 16, design §3.6, §3.7): real processes for
the Dask scheduler, `batchscore worker` (two worker processes) and `batchscore serve`.

- The Dask scheduler is killed (-9) and started again on its port: `batchscore worker` comes
  back by itself (before, both workers exited for good), executions that lost the cluster end
  as Failure saying so (never "internal error", never Running), and firing goes on.
- With ``BATCHSCORE_SOURCE=cumulocity`` the workers read the tenant, not the embedded store.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from distributed import Client

from batchscore.testing import regression_pmml
from tests.fault.conftest import (
    BASE,
    MAPPINGS,
    SENSORS,
    Proc,
    device_and_model,
    history,
    no_tracebacks,
    ok,
    periodic_job,
    serve,
)
from tests.integration.live_server import LiveServer, free_port, live_batchscore, wait_until

DASK = Path(sys.executable).with_name("dask")
CLI = Path(sys.executable).with_name("batchscore")
T0 = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
NO_DATA = "was not active or sending any measurements"


class Cluster:
    """A Dask scheduler process on a fixed port and a supervised `batchscore worker`."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        argv = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--no-dashboard"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("C8Y_")}
        self.scheduler = Proc(workdir, "dask-scheduler", argv, env)
        worker_env = {**env, "BATCHSCORE_EXECUTOR": f"dask://127.0.0.1:{self.port}"}
        worker_env["BATCHSCORE_SHUTDOWN_GRACE_S"] = "5"
        self.worker = Proc(
            workdir,
            "worker",
            [str(CLI), "worker", "--nworkers", "2", "--no-dashboard"],
            worker_env,
        )

    @property
    def setting(self) -> str:
        return f"dask://127.0.0.1:{self.port}"

    def workers(self) -> int:
        """Worker threads the scheduler knows (0 when it does not answer)."""
        try:
            with Client(self.address, timeout=3, set_as_default=False) as client:
                return len(client.nthreads())
        except (OSError, TimeoutError):
            return 0

    def start(self) -> None:
        self.scheduler.start()
        self.worker.start()
        wait_until(lambda: self.workers() == 2, "two Dask workers", timeout=60)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path)
    try:
        running.start()
        yield running
    finally:
        for proc in (running.worker, running.scheduler):
            proc.stop(timeout=30)


def test_workers_come_back_by_themselves_after_the_scheduler_restarts(
    cluster: Cluster, tmp_path: Path
) -> None:
    served = serve(
        tmp_path,
        f"sqlite:///{tmp_path / 'dask.db'}",
        BATCHSCORE_SCHEDULER="true",
        BATCHSCORE_EXECUTOR=cluster.setting,
        BATCHSCORE_SCHEDULER_INTERVAL_S="0.5",
    )
    served.start()
    try:
        with served.client() as http:
            job = periodic_job(http, device_and_model(http), "*/2 * * ? * *")

            def finished() -> list[dict[str, Any]]:
                return [r for r in history(http, job) if r["jobExecutionStatus"] != "Running"]

            wait_until(lambda: len(finished()) >= 2, "two executions on Dask", timeout=60)
            assert {r["jobExecutionStatus"] for r in finished()} == {"Warning"}  # no data
            assert any(NO_DATA in r["jobExecutionStatusMessage"][0] for r in finished())

            cluster.scheduler.kill()
            killed = datetime.now(UTC)
            # down for a while: fires meanwhile fail, saying why
            wait_until(
                lambda: any(r["jobExecutionStatus"] == "Failure" for r in finished()),
                "an execution failing without the cluster",
                timeout=60,
            )
            cluster.scheduler.start()
            restarted = time.monotonic()
            wait_until(lambda: cluster.workers() == 2, "the workers coming back", timeout=60)
            rejoined = time.monotonic() - restarted

            def scored_again() -> bool:
                return any(
                    r["jobExecutionStatus"] == "Warning"
                    and datetime.fromisoformat(r["jobExecutionStartTime"]) > killed
                    and NO_DATA in r["jobExecutionStatusMessage"][0]  # scored, not skipped
                    for r in finished()
                )

            wait_until(scored_again, "executions scoring on Dask again", timeout=90)
            again = time.monotonic() - restarted
            print(
                f"\nDask scheduler restart: workers back after {rejoined:.1f} s, executions "
                f"scoring again after {again:.1f} s"
            )
            runs = history(http, job)
            failures = [r for r in runs if r["jobExecutionStatus"] == "Failure"]
            assert failures
            for run in failures:
                [message] = run["jobExecutionStatusMessage"]
                assert "Dask" in message, message
                assert "internal error" not in message, message
            assert all(r["jobExecutionStatus"] != "Running" for r in runs[:-2]), runs
        assert cluster.worker.alive()  # nobody restarted it
        assert cluster.worker.starts == 1
    finally:
        assert served.stop() == 0
    cluster.worker.signal(signal.SIGTERM)
    assert cluster.worker.wait(timeout=40) == 0
    no_tracebacks(served)
    assert cluster.worker.log().count("started Dask worker process") == 2  # by the supervisor


@pytest.fixture
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A batchscore playing the Cumulocity tenant: its own process and database."""
    with live_batchscore(tmp_path_factory.mktemp("tenant")) as server:
        yield server


def test_dask_workers_read_the_cumulocity_tenant(
    cluster: Cluster, tenant: LiveServer, tmp_path: Path
) -> None:
    with httpx.Client(base_url=tenant.base_url, auth=tenant.auth, timeout=30) as remote:
        device = ok(
            remote.post("/inventory/managedObjects", json={"name": "pump", "c8y_IsDevice": {}}),
            201,
        )["id"]
        measurements = []
        for i in range(40):
            m: dict[str, Any] = {
                "source": {"id": device},
                "time": (T0 + timedelta(seconds=i)).isoformat(),
                "type": "c8y_Motion",
            }
            for k, (name, path) in enumerate(MAPPINGS.items()):
                fragment, series, _ = path.split(".")
                assert name in SENSORS
                m.setdefault(fragment, {})[series] = {"value": float(i + k)}
            measurements.append(m)
        ok(remote.post("/measurement/measurements", json={"measurements": measurements}), 201)
    served = serve(
        tmp_path,
        f"sqlite:///{tmp_path / 'service.db'}",
        BATCHSCORE_EXECUTOR=cluster.setting,
        BATCHSCORE_SOURCE="cumulocity",
        C8Y_BASEURL=tenant.base_url,
        C8Y_TENANT=tenant.tenant,
        C8Y_USER=tenant.user,
        C8Y_PASSWORD=tenant.password,
    )
    served.start()
    try:
        with served.client() as http:
            ok(http.post(f"{BASE}/model", content=regression_pmml("M", SENSORS)), 201)
            job = periodic_job(http, int(device), "0 0 0 1 1 ? 2099", window_s=10**9)
            ok(http.post(f"{BASE}/job/{job}/run"), 201)
            wait_until(
                lambda: history(http, job)[0]["jobExecutionStatus"] != "Running",
                "the execution on Dask",
                timeout=90,
            )
            [run] = history(http, job)
            assert (run["jobExecutionStatus"], run["jobExecutionStatusMessage"]) == (
                "Success",
                [],
            )
            page = ok(http.get(f"{BASE}/job/{job}/history/1/inferences"))
            [entry] = page["inferenceCollection"]
            # y = the sum of the six inputs, i + 0 + i + 1 + ... + i + 5
            assert entry["recordCollection"]["score"] == [6.0 * i + 15 for i in range(40)]
            # the service's own store has no measurements at all: they came from the tenant
            mine = ok(http.get("/measurement/measurements", params={"pageSize": 1}))
            assert mine["measurements"] == []
    finally:
        assert served.stop() == 0
    no_tracebacks(served)
