"""The same group execution in-process and on a Dask LocalCluster: identical inferences; a
worker dying mid-partition is retried without mixing attempts; partitions that keep failing
end the execution as Failure (design §3.6, issue 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import dask.config
import pytest
from distributed import Client, LocalCluster
from fastapi.testclient import TestClient

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.execution.dask_backend import (
    DaskRunner,
    PartitionTask,
    score_partition_task,
)
from batchscore.execution.dask_worker import MALLOC_OVERRIDE
from batchscore.execution.executor import NO_DATA, JobExecutor
from batchscore.execution.lifecycle import ClaimedExecution
from batchscore.execution.partitions import Partition, PartitionResult
from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database
from tests.integration.conftest import World, create_device
from tests.integration.live_server import wait_until
from tests.integration.test_executions import (
    BASE,
    OUTPUTS,
    T0,
    assert_matches,
    corpus_rows,
    job_body,
    post_measurements,
    upload_iforest,
)
from tests.integration.test_scheduler import Collecting

DEVICES = 5  # two partitions of two and one of one (a silent device among them)


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """One 2-worker process cluster for the whole session (~1 s to start)."""
    with (
        dask.config.set(MALLOC_OVERRIDE),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",  # never the default 8787 another cluster may hold
        ) as cluster,
    ):
        yield cluster.scheduler_address


def database_url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def dask_executor(services: Services, address: str, **runner: Any) -> JobExecutor:
    """An executor wired like ``Services.build`` does, scoring on the cluster at ``address``."""
    return JobExecutor(
        services.db,
        services.clock,
        services.source,
        services.model_cache,
        services.lifecycle,
        workers=1,
        runner=DaskRunner(address, database_url(services.db), partition_devices=2, **runner),
    )


def fleet(client: TestClient, admin: dict[str, str], world: World) -> list[int]:
    """The world's group with DEVICES devices, each with its own 300 corpus rows but one silent."""
    inputs, _ = corpus_rows()
    devices = [world.device, world.device2]
    for n in range(DEVICES - 2):
        device = create_device(client, admin, f"extra-{n}")
        r = client.post(
            f"/inventory/managedObjects/{world.group}/childAssets",
            json={"managedObject": {"id": str(device)}},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        devices.append(device)
    for i, device in enumerate(devices):
        if i != 2:  # the third device sends nothing
            post_measurements(client, admin, device, inputs[i * 37 :] + inputs[: i * 37])
    upload_iforest(client, admin)
    return sorted(devices)


def started_runs(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> tuple[list[int], list[ClaimedExecution]]:
    """Two identical once jobs on the group, fired: one for each backend."""
    schedule = {
        "frequency": "once",
        "dataFrom": T0.isoformat(),
        "dataTo": (T0 + timedelta(hours=1)).isoformat(),
    }
    jobs = []
    for _ in range(2):
        r = client.post(f"{BASE}/job", json=job_body(world.group, schedule), headers=admin)
        assert r.status_code == 201, r.text
        jobs.append(r.json()["jobId"])
    started = sorted(
        Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle).tick().started,
        key=lambda s: s.id,
    )
    assert [s.job_id for s in started] == jobs
    return jobs, started


def read_back(client: TestClient, admin: dict[str, str], job_id: int) -> dict[str, Any]:
    """What a client sees of the job's execution: status, messages, every page, the CSV."""
    run = client.get(f"{BASE}/job/{job_id}/history/1", headers=admin).json()
    pages = []
    page = 1
    while True:
        body = client.get(
            f"{BASE}/job/{job_id}/history/1/inferences?currentPage={page}&withTimestamps=true",
            headers=admin,
        ).json()
        if not body["inferenceCollection"]:
            break
        pages.append(body["inferenceCollection"])
        page += 1
    export = client.get(f"{BASE}/job/{job_id}/history/1/inferences.csv", headers=admin).text
    return {
        "status": run["jobExecutionStatus"],
        "messages": run["jobExecutionStatusMessage"],
        "pages": pages,
        "csv": export,
    }


def test_group_execution_is_identical_in_process_and_on_dask(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    services: Services,
    clock: FakeClock,
    dask_scheduler: str,
) -> None:
    devices = fleet(client, admin, world)
    (local_job, dask_job), (local_run, dask_run) = started_runs(
        client, admin, world, services, clock
    )
    assert services.executor.run(local_run) is ExecutionStatus.WARNING
    executor = dask_executor(services, dask_scheduler)
    try:
        assert executor.run(dask_run) is ExecutionStatus.WARNING
    finally:
        executor.shutdown()

    local, remote = read_back(client, admin, local_job), read_back(client, admin, dask_job)
    assert local["messages"] == [NO_DATA.format(id=devices[2])]
    assert remote == local
    assert len(local["csv"].splitlines()) == 1 + 4 * 300
    # and both are JPMML's numbers: the first device's rows are the corpus in order
    _, expected = corpus_rows()
    first = remote["pages"][0][0]
    assert first["deviceId"] == devices[0]
    for name in OUTPUTS:
        assert_matches(first["recordCollection"][name], expected, name)


def die_once_mid_partition(marker: Path, task: PartitionTask) -> PartitionResult:
    """Score normally, except the first attempt at partition 0 kills its worker process after
    scoring one of its devices (so a partial result existed only in the dead worker)."""
    if task.partition.index == 0 and not marker.exists():
        marker.touch()
        score_partition_task(replace(task, partition=Partition(0, task.partition.devices[:1])))
        os._exit(1)
    return score_partition_task(task)


def always_fail(task: PartitionTask) -> PartitionResult:
    raise RuntimeError(f"partition {task.partition.index} is broken")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_worker_death_is_retried_and_attempts_do_not_mix(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    services: Services,
    clock: FakeClock,
    dask_scheduler: str,
    tmp_path: Path,
) -> None:
    fleet(client, admin, world)
    (local_job, dask_job), (local_run, dask_run) = started_runs(
        client, admin, world, services, clock
    )
    assert services.executor.run(local_run) is ExecutionStatus.WARNING
    task: Callable[[PartitionTask], PartitionResult] = partial(
        die_once_mid_partition, tmp_path / "died"
    )
    executor = dask_executor(services, dask_scheduler, task=task)
    try:
        assert executor.run(dask_run) is ExecutionStatus.WARNING
    finally:
        executor.shutdown()
    assert (tmp_path / "died").exists()
    assert read_back(client, admin, dask_job) == read_back(client, admin, local_job)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_partitions_that_keep_failing_fail_the_execution(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    services: Services,
    clock: FakeClock,
    dask_scheduler: str,
) -> None:
    devices = fleet(client, admin, world)
    (_, dask_job), (_, dask_run) = started_runs(client, admin, world, services, clock)
    executor = dask_executor(services, dask_scheduler, task=always_fail, retries=1)
    try:
        assert executor.run(dask_run) is ExecutionStatus.FAILURE
    finally:
        executor.shutdown()
    run = read_back(client, admin, dask_job)
    assert run["status"] == "Failure"
    assert run["messages"] == [
        f"The devices {devices[0]} to {devices[1]} (partition 1 of 3) could not be scored: it "
        "failed with RuntimeError on the Dask workers 2 times; the worker log has the details."
    ]
    assert run["pages"] == []


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_unreachable_scheduler_fails_the_execution_clearly(
    client: TestClient,
    admin: dict[str, str],
    world: World,
    services: Services,
    clock: FakeClock,
    settings: Settings,
) -> None:
    fleet(client, admin, world)
    wired = Services.build(
        settings.model_copy(update={"executor": "dask://127.0.0.1:9"}), services.db, clock
    )
    (_, dask_job), (_, dask_run) = started_runs(client, admin, world, wired, clock)
    runner = wired.executor.runner
    assert isinstance(runner, DaskRunner)  # chosen by the setting, not connected yet
    assert runner.address == "tcp://127.0.0.1:9"
    runner.connect_timeout_s = 1
    try:
        assert wired.executor.run(dask_run) is ExecutionStatus.FAILURE
    finally:
        wired.executor.shutdown()
    [message] = read_back(client, admin, dask_job)["messages"]
    assert message.startswith("The Dask scheduler at tcp://127.0.0.1:9 is not reachable")


def test_worker_command_prints_the_commands_and_joins_the_cluster(
    dask_scheduler: str, tmp_path: Path
) -> None:
    cli = Path(sys.executable).with_name("batchscore")
    local = subprocess.run(
        [str(cli), "worker"], env={**os.environ, "BATCHSCORE_EXECUTOR": "local"},
        capture_output=True, check=False, timeout=30,
    )  # fmt: skip
    assert local.returncode == 2
    assert b"BATCHSCORE_EXECUTOR=dask://host:port" in local.stderr
    setting = dask_scheduler.replace("tcp://", "dask://")
    env = {**os.environ, "BATCHSCORE_EXECUTOR": setting}
    shown = subprocess.run(
        [str(cli), "worker", "--print-only"], env=env, capture_output=True, check=False, timeout=30
    )
    assert shown.returncode == 0, shown.stderr
    host, port = dask_scheduler.removeprefix("tcp://").split(":")
    assert f"dask scheduler --host {host} --port {port}".encode() in shown.stderr

    with Client(dask_scheduler, set_as_default=False) as client:
        before = len(client.nthreads())
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [str(cli), "worker", "--name", "from-cli"], env=env, stdout=out, stderr=out
            )
        try:
            wait_until(
                lambda: len(client.nthreads()) == before + 1, "the CLI worker joining", timeout=30
            )
            names = {w["name"]: w["nthreads"] for w in client.scheduler_info()["workers"].values()}
            assert names["from-cli"] == 1  # one thread per process unless told otherwise
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        wait_until(lambda: len(client.nthreads()) == before, "the CLI worker leaving", timeout=30)
