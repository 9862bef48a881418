"""Recovery times (issue 16): how long the cluster takes to fire normally again after each fault,
with real processes, and the old behaviour side by side where it still exists (the lease alone).

Run: ``.venv/bin/python bench/recovery.py [--only kill,lease,cut,sigterm,dask] [--repeat 1]
[--jobs 6]``

Scenarios (each on a fresh PostgreSQL database from ``fresh_db``'s server, or a SQLite file for
Dask; default settings unless said):
- ``kill``: two `batchscore scheduler` processes, ``--jobs`` jobs every 2 s (cron ``*/2``,
  no data in their windows: every execution is a Warning, a few milliseconds). The instance
  holding claims ahead is killed with SIGKILL. Measured from the kill: the claims taken over
  (the survivor's log), and the first normal (not skipped) fire of every job started (the
  slowest job counts). Exactly once is checked over the whole run.
- ``lease``: the same with heartbeats out of play (``BATCHSCORE_INSTANCE_DEAD_S=3600``) and
  ``BATCHSCORE_LEASE_S=60``: the lease alone, as before issue 16 (with its default of 300 s
  it takes five times as long).
- ``cut``: one `serve` with its scheduler, one job every 2 s, its database reached through a TCP
  proxy (``batchscore.testing.TcpProxy``) that is cut for 15 s. Measured from the restore:
  ``/health/ready`` answering 200 and the first fire finished after it.
- ``sigterm``: two schedulers, jobs every second; one gets SIGTERM. Measured: its exit, and the
  latest start of the instants it had claimed ahead and handed back (run by the other).
- ``dask``: a Dask scheduler, `batchscore worker --nworkers 2` and a `serve` scoring on them, a
  job every 2 s; the Dask scheduler is killed and started again 5 s later. Measured from the
  restart: both workers back, and the first execution scored on Dask again.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fresh_db import PG_DEFAULT
from sqlalchemy import select
from sqlalchemy.engine import make_url

from batchscore.store.db import Database
from batchscore.store.tables import executions
from batchscore.testing import (
    TcpProxy,
    audit_fires,
    executions_and_counts,
    regression_pmml,
    scratch_postgres,
)

BIN = Path(sys.executable).parent
PASSWORD = "recovery-Passw0rd"
SENSORS = ["accelerationX", "accelerationY", "accelerationZ", "gyroX", "gyroY", "gyroZ"]
MAPPINGS = {s: f"c8y_{'Acceleration' if s[0] == 'a' else 'Gyroscope'}.{s}.value" for s in SENSORS}
SKIPPED = "was skipped because the previous execution"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(ready: Callable[[], bool], what: str, timeout: float) -> float:
    """Poll ``ready``; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"FAILED: {what} did not happen within {timeout} s")


class Proc:
    def __init__(self, workdir: Path, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=out)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": url,
        "BATCHSCORE_HOST": "127.0.0.1",
        "BATCHSCORE_ADMIN_PASSWORD": PASSWORD,
        "BATCHSCORE_PASSWORD_PROFILE": "fast",
        **extra,
    }


@contextmanager
def postgres() -> Iterator[str]:
    with scratch_postgres(
        os.environ.get("BATCHSCORE_TEST_POSTGRES_URL", PG_DEFAULT), "recovery"
    ) as url:
        yield url


def setup_jobs(workdir: Path, url: str, crons: list[str], **env: str) -> tuple[Proc, list[int]]:
    """A `serve` (kept running when it has a scheduler), a device, a model and the jobs."""
    port = free_port()
    serve = Proc(
        workdir,
        "serve",
        [str(BIN / "batchscore"), "serve"],
        env_for(url, BATCHSCORE_PORT=str(port), **env),
    )
    serve.start()
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait(up, "serve up", 60)
    with httpx.Client(base_url=base, auth=("admin", PASSWORD), timeout=30) as http:
        device = http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}})
        device_id = int(device.json()["id"])
        http.post("/service/zementis/model", content=regression_pmml("M", SENSORS))
        jobs = []
        for i, cron in enumerate(crons):
            body = {
                "jobName": f"j{i}",
                "associatedGroupOrDeviceId": device_id,
                "associatedModel": "M",
                "modelToDeviceMappings": MAPPINGS,
                "jobSchedule": {
                    "frequency": "periodic",
                    "cronExpression": cron,
                    "timeZone": "UTC",
                    "dataFromPreviousNSeconds": 2,
                },
            }
            jobs.append(int(http.post("/service/zementis/job", json=body).json()["jobId"]))
    return serve, jobs


def schedulers(workdir: Path, url: str, n: int, **env: str) -> list[Proc]:
    procs = [
        Proc(workdir, f"scheduler-{i}", [str(BIN / "batchscore"), "scheduler"], env_for(url, **env))
        for i in range(n)
    ]
    for p in procs:
        p.start()
    for p in procs:
        wait(lambda p=p: "running;" in p.log.read_text(errors="replace"), f"{p.name} up", 60)  # type: ignore[misc]
    return procs


def pid_of(instance: str) -> int:
    return int(instance.rsplit(":", 1)[1].split("/", 1)[0])


def holder_of_claims(db: Database, jobs: list[int]) -> str | None:
    with db.read() as conn:
        row = conn.execute(
            select(executions.c.lease_owner).where(
                executions.c.job_id.in_(jobs),
                executions.c.status == "Running",
                executions.c.started_at.is_(None),
            )
        ).first()
    return None if row is None else str(row.lease_owner)


def kill_scenario(workdir: Path, njobs: int, lease_only: bool) -> dict[str, float]:
    env = {"BATCHSCORE_INSTANCE_DEAD_S": "3600", "BATCHSCORE_LEASE_S": "60"} if lease_only else {}
    with postgres() as url:
        serve, jobs = setup_jobs(
            workdir, url, ["*/2 * * ? * *"] * njobs, BATCHSCORE_SCHEDULER="false"
        )
        serve.stop()
        procs = schedulers(workdir, url, 2, **env)
        db = Database.from_url(url)
        try:
            started = datetime.now(UTC)
            time.sleep(6)  # a few fires on both before the crash (the bench's own pacing)
            found: dict[str, str] = {}

            def holder() -> bool:
                owner = holder_of_claims(db, jobs)
                if owner is not None:
                    found["owner"] = owner
                return owner is not None

            wait(holder, "an instance holding claims", 60)
            victim = next(p for p in procs if p.proc and p.proc.pid == pid_of(found["owner"]))
            survivor = next(p for p in procs if p is not victim)
            assert victim.proc is not None
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(timeout=10)
            killed = datetime.now(UTC)
            killed_mono = time.monotonic()

            def resumed() -> bool:
                with db.read() as conn:
                    rows = conn.execute(
                        select(executions.c.job_id, executions.c.messages).where(
                            executions.c.job_id.in_(jobs),
                            executions.c.scheduled_at > killed,
                            executions.c.started_at.is_not(None),
                            executions.c.status != "Running",
                        )
                    ).all()
                normal = {r.job_id for r in rows if not any(SKIPPED in m for m in r.messages)}
                return len(normal) == len(jobs)

            wait(resumed, "every job firing again", 400)
            end = datetime.now(UTC) + timedelta(seconds=4)
            wait(lambda: datetime.now(UTC) > end + timedelta(seconds=2), "a few more fires", 30)
            rows, counts = executions_and_counts(db)
        finally:
            codes = [p.stop() for p in procs]
            db.dispose()
    worst = 0.0
    for job in jobs:
        normal = [
            r
            for r in rows
            if r.job_id == job
            and r.scheduled_at > killed
            and r.started_at
            and not any(SKIPPED in m for m in r.messages)
        ]
        worst = max(worst, (normal[0].started_at - killed).total_seconds())
    taken = re.search(r'"time": "([^"]+)"[^\n]*took over \d+ executions', survivor.log.read_text())
    first = datetime.fromtimestamp((int(started.timestamp()) // 2 + 2) * 2, UTC)
    instants = [
        first + timedelta(seconds=2 * k) for k in range(int((end - first).total_seconds()) // 2)
    ]
    audit = audit_fires(rows, counts, instants, 2)
    return {
        "claims taken over (s)": (datetime.fromisoformat(taken.group(1)) - killed).total_seconds()
        if taken
        else float("nan"),
        "every job firing normally again (s)": worst,
        "waited (s)": time.monotonic() - killed_mono,
        "exactly-once problems": float(len(audit.problems())),
        "survivor exit code": float(codes[procs.index(survivor)] or 0),
    }


def cut_scenario(workdir: Path, seconds: float) -> dict[str, float]:
    with postgres() as direct:
        parsed = make_url(direct)
        with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(
                hide_password=False
            )
            serve, [job] = setup_jobs(
                workdir,
                url,
                ["*/2 * * ? * *"],
                BATCHSCORE_SCHEDULER="true",
                BATCHSCORE_SCHEDULER_INTERVAL_S="1",
            )
            base = f"http://127.0.0.1:{serve.env['BATCHSCORE_PORT']}"
            try:
                time.sleep(6)  # normal firing first (the bench's own pacing)
                proxy.cut()
                time.sleep(seconds)  # the outage
                proxy.restore()
                restored = datetime.now(UTC)
                t0 = time.monotonic()

                def ready() -> bool:
                    try:
                        return httpx.get(f"{base}/health/ready", timeout=2).status_code == 200
                    except httpx.TransportError:
                        return False

                ready_at = wait(ready, "ready again", 60) - t0

                def fired() -> bool:
                    with httpx.Client(base_url=base, auth=("admin", PASSWORD), timeout=10) as http:
                        runs = http.get(f"/service/zementis/job/{job}/history").json()
                    return any(
                        r["jobExecutionStatus"] != "Running"
                        and datetime.fromisoformat(r["jobExecutionStartTime"]) > restored
                        for r in runs
                    )

                fired_at = wait(fired, "a fire after the restore", 60) - t0
            finally:
                code = serve.stop()
    return {
        "outage (s)": seconds,
        "ready again after restore (s)": ready_at,
        "first fire finished after restore (s)": fired_at,
        "exit code": float(code or 0),
    }


def sigterm_scenario(workdir: Path, njobs: int) -> dict[str, float]:
    env = {"BATCHSCORE_SCHEDULER_INTERVAL_S": "1"}
    with postgres() as url:
        serve, jobs = setup_jobs(
            workdir, url, ["* * * ? * *"] * njobs, BATCHSCORE_SCHEDULER="false"
        )
        serve.stop()
        procs = schedulers(workdir, url, 2, **env)
        db = Database.from_url(url)
        try:
            time.sleep(5)
            found: dict[str, str] = {}

            def holder() -> bool:
                owner = holder_of_claims(db, jobs)
                if owner is not None:
                    found["owner"] = owner
                return owner is not None

            wait(holder, "an instance holding claims", 60)
            stopping = next(p for p in procs if p.proc and p.proc.pid == pid_of(found["owner"]))
            with db.read() as conn:
                claimed = [
                    r.id
                    for r in conn.execute(
                        select(executions.c.id).where(
                            executions.c.lease_owner == found["owner"],
                            executions.c.started_at.is_(None),
                        )
                    )
                ]
            assert stopping.proc is not None
            t0 = time.monotonic()
            stopping.proc.send_signal(signal.SIGTERM)
            code = stopping.proc.wait(timeout=60)
            exited = time.monotonic() - t0

            def all_ran() -> bool:
                with db.read() as conn:
                    left = conn.execute(
                        select(executions.c.id).where(
                            executions.c.id.in_(claimed), executions.c.started_at.is_(None)
                        )
                    ).first()
                return left is None

            wait(all_ran, "the handed-back claims running", 60)
            with db.read() as conn:
                rows = conn.execute(
                    select(executions.c.scheduled_at, executions.c.started_at).where(
                        executions.c.id.in_(claimed)
                    )
                ).all()
        finally:
            for p in procs:
                p.stop()
            db.dispose()
    late = [max(0.0, (r.started_at - r.scheduled_at).total_seconds()) for r in rows]
    return {
        "exit after SIGTERM (s)": exited,
        "exit code": float(code),
        "claims handed back": float(len(claimed)),
        "their start after their instant, max (s)": max(late) if late else float("nan"),
    }


def dask_scenario(workdir: Path) -> dict[str, float]:
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask_env = {k: v for k, v in os.environ.items()}
    sched = Proc(
        workdir,
        "dask-scheduler",
        [
            str(BIN / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        dask_env,
    )
    worker = Proc(
        workdir,
        "worker",
        [str(BIN / "batchscore"), "worker", "--nworkers", "2", "--no-dashboard"],
        {**dask_env, "BATCHSCORE_EXECUTOR": f"dask://127.0.0.1:{port}"},
    )

    def workers() -> int:
        try:
            with Client(address, timeout=3, set_as_default=False) as client:
                return len(client.nthreads())
        except (OSError, TimeoutError):
            return 0

    sched.start()
    worker.start()
    serve = None
    try:
        wait(lambda: workers() == 2, "two workers", 60)
        url = f"sqlite:///{workdir / 'dask.db'}"
        serve, [job] = setup_jobs(
            workdir,
            url,
            ["*/2 * * ? * *"],
            BATCHSCORE_SCHEDULER="true",
            BATCHSCORE_EXECUTOR=f"dask://127.0.0.1:{port}",
        )
        base = f"http://127.0.0.1:{serve.env['BATCHSCORE_PORT']}"
        time.sleep(6)
        assert sched.proc is not None
        sched.proc.send_signal(signal.SIGKILL)
        sched.proc.wait(timeout=10)
        time.sleep(5)  # the Dask scheduler is away for 5 s
        sched.start()
        restarted = datetime.now(UTC)
        t0 = time.monotonic()
        back = wait(lambda: workers() == 2, "workers back", 120) - t0

        def scored() -> bool:
            with httpx.Client(base_url=base, auth=("admin", PASSWORD), timeout=10) as http:
                runs = http.get(f"/service/zementis/job/{job}/history").json()
            return any(
                r["jobExecutionStatus"] == "Warning"
                and datetime.fromisoformat(r["jobExecutionStartTime"]) > restarted
                and not any(SKIPPED in m for m in r["jobExecutionStatusMessage"])
                for r in runs
            )

        again = wait(scored, "scoring on Dask again", 120) - t0
    finally:
        for p in (serve, worker, sched):
            if p is not None:
                p.stop()
    return {
        "workers back after the restart (s)": back,
        "scoring again after the restart (s)": again,
    }


def run(scenario: str, workdir: Path, jobs: int) -> dict[str, float]:
    if scenario in ("kill", "lease"):
        return kill_scenario(workdir, jobs, lease_only=scenario == "lease")
    if scenario == "cut":
        return cut_scenario(workdir, 15.0)
    if scenario == "sigterm":
        return sigterm_scenario(workdir, jobs)
    if scenario == "dask":
        return dask_scenario(workdir)
    raise SystemExit(f"unknown scenario {scenario!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="kill,lease,cut,sigterm,dask")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=6)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    results: dict[str, list[dict[str, float]]] = {}
    for scenario in args.only.split(","):
        for n in range(args.repeat):
            with tempfile.TemporaryDirectory() as scratch:
                result = run(scenario, Path(scratch), args.jobs)
            results.setdefault(scenario, []).append(result)
            print(
                f"{scenario} #{n + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()),
                flush=True,
            )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print("\nmedians:")
    for scenario, runs_ in results.items():
        keys = runs_[0].keys()
        print(
            f"  {scenario}: "
            + ", ".join(f"{k} {statistics.median(r[k] for r in runs_):.1f}" for k in keys)
        )
    if "kill" in results and "lease" in results:
        heart = statistics.median(r["every job firing normally again (s)"] for r in results["kill"])
        lease = statistics.median(
            r["every job firing normally again (s)"] for r in results["lease"]
        )
        print(
            f"\nkill -9, every job firing again: heartbeats {heart:.1f} s vs. lease alone "
            f"(60 s) {lease:.1f} s: {lease / heart:.1f}x faster; with the default lease "
            f"(300 s) the lease alone would take about {lease * 5:.0f} s"
        )


if __name__ == "__main__":
    main()
