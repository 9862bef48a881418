"""Soak (issue 9): several `batchscore scheduler` processes on one PostgreSQL database, for
minutes of real time, with hundreds of jobs firing every 10 s. Checks exactly one execution per
(job, instant) with no instant missed, and that memory and database connections do not grow.

Run: ``.venv/bin/python bench/soak.py [--duration 600] [--jobs 500] [--instances 3]
[--devices 10] [--workers 8] [--interval 1.0] [--model iforest|regression] [--no-feed]
[--logs DIR]``

Setup, on a fresh PostgreSQL database (``fresh_db``, from BATCHSCORE_TEST_POSTGRES_URL or the
local default): migrations, a tenant with an admin user (``batchscore user add``), ``--devices``
devices, one model (the demo IsolationForest, or a 6-input RegressionModel) and ``--jobs`` jobs
with the Quartz cron ``0/10 * * * * ?`` and a 10-s window, spread over the devices. A feeder
thread in this process writes one reading per second of the six series of every device (the
demo's signal), so each execution reads, scores and stores ~10 records (``--no-feed``: empty
windows, every execution a Warning). Then ``--instances`` OS processes ``batchscore scheduler``
run with the same environment (``PGAPPNAME`` names each one's connections) for ``--duration``
seconds of real time.

Every ~10 s it samples the RSS of each scheduler process, its CPU use, its connections to the
database (``pg_stat_activity`` by application name) and the executions created so far. At the
end the schedulers get SIGTERM (they hand back what they claimed ahead and let running executions
finish), and the database is checked:
- every job's executions are numbered 1..n, fall on 10-s instants, 10 s apart (no gap, no
  double), and its ``execution_count`` is n;
- every job has exactly one execution for every instant from the first instant after the last
  job was created to the last instant at least ``--edge`` seconds before SIGTERM;
- statuses, skipped fires ("previous execution still running"), and lateness of the executor
  taking an execution up (``started_at`` is stamped then) and finishing it, vs. its instant;
- RSS first / last / max per process and its slope in MB/min (least squares over the second
  half, counting a process from when it is warm: the instance whose tick comes first after an
  instant claims all due jobs and runs them, so the others idle until the winner changes);
  connections first / last / max per process.
Exit status 1 when an invariant breaks: a missed, doubled or off-grid instant, a broken
numbering, an execution left Running, a scheduler dying or logging errors, RSS growing more
than ``--max-rss-growth`` MB over the second half, or a process holding more connections than
its threads can use (scheduler loop + heartbeat + ``--workers`` + 1 spare: a leak).

Settings: ``--workers 8`` (BATCHSCORE_WORKERS; the default 2 cannot take a 500-execution burst
every 10 s on one instance, see bench/RESULTS.md "Soak"), tick interval 1 s (the default).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from fresh_db import database
from scheduler import quantiles  # p50 / p99 / max, as the scheduler bench prints them
from sqlalchemy import func, select, text

from batchscore.clock import SystemClock
from batchscore.demo.seed import write_readings
from batchscore.demo.signals import SERIES
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.tables import executions
from batchscore.testing import audit_fires, executions_and_counts, regression_pmml

TENANT = "soak"
PASSWORD = "soak-Passw0rd"
PERIOD = 10  # seconds between fires, matching the cron below
CRON = "0/10 * * * * ?"
CLI = Path(sys.executable).with_name("batchscore")
APP = "soak-scheduler-"
SKIPPED = "was skipped because the previous execution"

psutil: Any
try:  # psutil comes with the dev extras (via distributed); /proc is the fallback
    psutil = importlib.import_module("psutil")
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None


@dataclass
class Sample:
    t: float  # seconds since the schedulers started
    rss_mb: list[float]
    cpu_pct: list[float]
    cpu_total: list[float]  # CPU seconds used so far by each process
    conns: list[int]
    conns_db: int  # all connections to the soak database (the bench's own included)
    executions: int
    running: int
    load: float  # 1-minute load average of the machine


@dataclass
class Instance:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    cpu_last: float = 0.0
    exit_code: int | None = None
    stop_s: float = 0.0


@dataclass
class Report:
    lines: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, key: str, value: str) -> None:
        self.lines.append((key, value))
        print(f"  {key:<44} {value}", flush=True)

    def fail(self, why: str) -> None:
        self.failures.append(why)


# ---------------------------------------------------------------- setup


def add_admin(url: str) -> None:
    """The tenant and its admin, made as an operator would: ``batchscore user add``."""
    env = {**os.environ, "BATCHSCORE_DATABASE_URL": url, "BATCHSCORE_USER_PASSWORD": PASSWORD}
    subprocess.run(
        [str(CLI), "user", "add", "admin", "--tenant", TENANT, "--role", "admin"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def model_bytes(kind: str) -> tuple[str, bytes]:
    if kind == "iforest":
        data = resources.files("batchscore.demo").joinpath("isolation_forest.pmml").read_bytes()
        return "DemoIsolationForest", data
    return "SoakRegression", regression_pmml("SoakRegression", list(SERIES))


def seed(services: Services, n_jobs: int, n_devices: int, model: str) -> tuple[list[int], datetime]:
    """Devices, the model and the jobs (through the same use cases as the API). Returns the
    device ids and the creation time of the last job."""
    name, data = model_bytes(model)
    services.models.upload(TENANT, data, f"{name}.pmml")
    devices = [
        services.inventory.create(TENANT, {"name": f"soak-{i}", "c8y_IsDevice": {}}).id
        for i in range(n_devices)
    ]
    mappings = {name: f"{frag}.{series}.value" for name, (frag, series, _) in SERIES.items()}
    last = services.clock.now()
    for i in range(n_jobs):
        job = services.jobs.create(
            TENANT,
            {
                "jobName": f"soak-{i}",
                "jobDescription": "soak",
                "associatedGroupOrDeviceId": devices[i % n_devices],
                "associatedModel": name,
                "modelToDeviceMappings": mappings,
                "jobSchedule": {
                    "frequency": "periodic",
                    "cronExpression": CRON,
                    "timeZone": "UTC",
                    "dataFromPreviousNSeconds": PERIOD,
                },
            },
        )
        last = job.created_at
    return devices, last


class Feeder:
    """Writes one reading per second of every series of every device until stopped."""

    def __init__(self, services: Services, devices: Sequence[int]) -> None:
        self.services = services
        self.devices = devices
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="feeder", daemon=True)
        self.errors = 0

    def _loop(self) -> None:
        rng = np.random.default_rng(9)
        last = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2 * PERIOD)
        while not self.stop.is_set():
            now = datetime.now(UTC).replace(microsecond=0)
            try:
                for device in self.devices:
                    write_readings(self.services, TENANT, device, last, now, 0.01, rng)
                last = now
            except Exception as exc:  # a soak keeps going; the count is reported
                self.errors += 1
                print(f"  feeder: {exc!r}", flush=True)
            self.stop.wait(1.0 - time.time() % 1.0)  # just after each whole second


# ---------------------------------------------------------------- processes


def start_schedulers(url: str, n: int, workers: int, interval: float, logs: Path) -> list[Instance]:
    out: list[Instance] = []
    for i in range(n):
        name = f"{APP}{i + 1}"
        env = {
            **os.environ,
            "BATCHSCORE_DATABASE_URL": url,
            "BATCHSCORE_WORKERS": str(workers),
            "BATCHSCORE_SCHEDULER_INTERVAL_S": str(interval),
            "BATCHSCORE_EXECUTOR": "local",
            "PGAPPNAME": name,  # libpq: shows as application_name in pg_stat_activity
        }
        log = logs / f"{name}.log"
        with log.open("wb") as f:
            proc = subprocess.Popen([str(CLI), "scheduler"], env=env, stdout=f, stderr=f)
        out.append(Instance(name, proc, log))
    return out


def wait_ready(instances: Sequence[Instance], timeout: float = 120) -> None:
    """Until every scheduler has printed that it runs (after imports and migrations)."""
    deadline = time.monotonic() + timeout
    waiting = list(instances)
    while waiting:
        for inst in waiting:
            if inst.proc.poll() is not None:
                raise SystemExit(f"{inst.name} exited: {inst.log.read_text()[-2000:]}")
        waiting = [i for i in waiting if "scheduler running" not in i.log.read_text()]
        if time.monotonic() > deadline:
            raise SystemExit(f"schedulers not running after {timeout:.0f} s")
        time.sleep(0.1)


def rss_mb(pid: int) -> float:
    if psutil is not None:
        return float(psutil.Process(pid).memory_info().rss) / 2**20
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    if psutil is not None:
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample(db: Database, dbname: str, instances: Sequence[Instance], t: float, dt: float) -> Sample:
    with db.read() as conn:
        by_app: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT application_name, count(*) FROM pg_stat_activity "
                    "WHERE datname = :db GROUP BY application_name"
                ),
                {"db": dbname},
            ).all()
        )
        total = conn.execute(select(func.count()).select_from(executions)).scalar_one()
        running = conn.execute(
            select(func.count()).where(executions.c.status == "Running")
        ).scalar_one()
    rss, cpu = [], []
    for inst in instances:
        if inst.proc.poll() is not None:
            rss.append(float("nan"))
            cpu.append(float("nan"))
            continue
        rss.append(rss_mb(inst.proc.pid))
        used = cpu_s(inst.proc.pid)
        cpu.append(100 * (used - inst.cpu_last) / dt if dt > 0 else 0.0)
        inst.cpu_last = used
    return Sample(
        t,
        rss,
        cpu,
        [inst.cpu_last for inst in instances],
        [int(by_app.get(inst.name, 0)) for inst in instances],
        int(sum(by_app.values())),
        int(total),
        int(running),
        os.getloadavg()[0],
    )


def stop_all(instances: Sequence[Instance], timeout: float) -> None:
    """SIGTERM to every scheduler, then wait (they hand back their claims and let running
    executions finish)."""
    for inst in instances:
        if inst.proc.poll() is None:
            inst.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    for inst in instances:
        try:
            inst.exit_code = inst.proc.wait(timeout=max(1.0, timeout - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            inst.proc.kill()
            inst.exit_code = inst.proc.wait(timeout=10)
            print(f"  {inst.name} did not stop within {timeout:.0f} s: killed", flush=True)
        inst.stop_s = time.monotonic() - t0


# ---------------------------------------------------------------- checks


def slope_per_min(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (seconds), per minute."""
    pts = [(x, y) for x, y in zip(xs, ys, strict=True) if y == y]  # drop NaN
    if len(pts) < 3:
        return float("nan")
    mx = statistics.fmean(x for x, _ in pts)
    my = statistics.fmean(y for _, y in pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    return 60 * sxy / sxx if sxx else float("nan")


def first_instant_after(t: datetime) -> datetime:
    epoch = int(t.timestamp()) // PERIOD * PERIOD + PERIOD
    return datetime.fromtimestamp(epoch, UTC)


def last_instant_at_or_before(t: datetime) -> datetime:
    return datetime.fromtimestamp(int(t.timestamp()) // PERIOD * PERIOD, UTC)


def verify(
    db: Database, start_edge: datetime, steady: datetime, end_edge: datetime, report: Report
) -> None:
    rows, counts = executions_and_counts(db)
    instants = [
        start_edge + timedelta(seconds=PERIOD * k)
        for k in range(int((end_edge - start_edge).total_seconds()) // PERIOD + 1)
    ]
    audit = audit_fires(rows, counts, instants, PERIOD)
    expected = audit.jobs * len(instants)
    report.add("covered instants (UTC)", f"{start_edge:%H:%M:%S} .. {end_edge:%H:%M:%S}")
    report.add("jobs x instants", f"{audit.jobs} x {len(instants)}")
    report.add("instants expected / seen", f"{expected} / {audit.seen}")
    report.add(
        "missed / duplicated / off-grid", f"{audit.missed} / {audit.doubled} / {audit.off_grid}"
    )
    report.add("gaps between fires / bad numbering", f"{audit.gaps} / {audit.numbering}")
    report.add("executions in total (incl. edges)", str(len(rows)))
    for problem in audit.problems():
        report.fail(problem)
    if not instants:
        report.fail("no instant was covered")

    statuses = Counter(r.status for r in rows)
    skipped = [r for r in rows if any(SKIPPED in m for m in r.messages)]
    ran = [r for r in rows if r.status != "Running" and not any(SKIPPED in m for m in r.messages)]
    report.add("executions by status", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    report.add("skipped fires (previous still running)", str(len(skipped)))
    other = Counter(m for r in ran if r.status != "Success" for m in r.messages)
    for message, n in other.most_common(3):
        report.add(f"  message x{n}", message[:90])
    report.add(
        "records scored per run (median)",
        str(statistics.median(r.record_count for r in ran)) if ran else "-",
    )
    # lateness from the first instant after every scheduler was running (not the catch-up of
    # instants that passed while they started) to the end edge
    timed = [r for r in ran if steady <= r.scheduled_at <= end_edge and r.ended_at]
    start_late = [(r.started_at - r.scheduled_at).total_seconds() for r in timed]
    end_late = [(r.ended_at - r.scheduled_at).total_seconds() for r in timed]
    run_time = [(r.ended_at - r.started_at).total_seconds() for r in timed]
    report.add("lateness measured over", f"instants {steady:%H:%M:%S} .. {end_edge:%H:%M:%S}")
    report.add("taken up after instant p50/p99/max (s)", quantiles(start_late))
    report.add("run time (finished - taken up) p50/p99/max", quantiles(run_time))
    report.add("finished after instant p50/p99/max (s)", quantiles(end_late))
    # Claims made ahead and handed back at the stop wait, unstarted and unowned, for the next
    # scheduler to start; only a started execution left Running is a fault.
    pending = sum(1 for r in rows if r.status == "Running" and r.started_at is None)
    report.add("claims handed back at the stop (pending)", str(pending))
    left = statuses.get("Running", 0) - pending
    if left:
        report.fail(f"{left} started executions still Running after the schedulers stopped")


def check_resources(
    samples: Sequence[Sample],
    instances: Sequence[Instance],
    args: argparse.Namespace,
    report: Report,
) -> None:
    """RSS slope over the second half, counted for each process only once it is warm (has
    used ``--warm-cpu`` CPU seconds): the instance that wins the claims does the executions, and
    the winner can change mid-run, so an instance may warm up (compile the model, fill its
    caches and pools) late. Connections: one per thread that uses the database (the scheduler
    loop, the heartbeat and ``--workers`` executor threads) at most, plus one spare; more is a
    leak."""
    half = samples[-1].t / 2
    bound = args.workers + 3
    for i, inst in enumerate(instances):
        name = inst.name.removeprefix(APP)
        rss = [x for x in (s.rss_mb[i] for s in samples) if x == x]
        if rss:
            report.add(
                f"#{name} RSS first / last / max (MB)",
                f"{rss[0]:.1f} / {rss[-1]:.1f} / {max(rss):.1f}",
            )
        warm = [s for s in samples if s.t >= half and s.cpu_total[i] >= args.warm_cpu]
        if len(warm) >= 3:
            span = (warm[-1].t - warm[0].t) / 60
            slope = slope_per_min([s.t for s in warm], [s.rss_mb[i] for s in warm])
            growth = slope * span
            report.add(
                f"#{name} RSS slope, 2nd half (warm)",
                f"{slope:+.2f} MB/min ({growth:+.1f} MB over {span:.1f} min from "
                f"t={warm[0].t:.0f}s)",
            )
            if growth > args.max_rss_growth:
                report.fail(f"{inst.name}: RSS grew {growth:.1f} MB over the second half")
        else:
            report.add(f"#{name} RSS slope, 2nd half (warm)", "n/a: not warm (idle instance)")
        conns = [s.conns[i] for s in samples]
        report.add(
            f"#{name} connections first / last / max",
            f"{conns[0]} / {conns[-1]} / {max(conns)}",
        )
        if max(conns) > bound:
            report.fail(f"{inst.name}: {max(conns)} connections (bound {bound})")
        cpu = [s.cpu_pct[i] for s in samples[1:] if s.cpu_pct[i] == s.cpu_pct[i]]
        if cpu:
            report.add(
                f"#{name} CPU mean / max (% of a core), total",
                f"{statistics.fmean(cpu):.0f} / {max(cpu):.0f}, {inst.cpu_last:.0f} s",
            )
    db_conns = [s.conns_db for s in samples]
    report.add(
        "DB connections (all) first / last / max",
        f"{db_conns[0]} / {db_conns[-1]} / {max(db_conns)}",
    )


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of real time")
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--workers", type=int, default=8, help="BATCHSCORE_WORKERS per instance")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="BATCHSCORE_SCHEDULER_INTERVAL_S"
    )
    parser.add_argument("--model", choices=("iforest", "regression"), default="iforest")
    parser.add_argument("--no-feed", action="store_true", help="no measurements: empty windows")
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument(
        "--edge", type=float, default=5.0, help="seconds before SIGTERM not checked"
    )
    parser.add_argument("--max-rss-growth", type=float, default=20.0, help="MB over 2nd half")
    parser.add_argument(
        "--warm-cpu", type=float, default=10.0, help="CPU s after which a process is warm"
    )
    parser.add_argument("--stop-timeout", type=float, default=180.0)
    parser.add_argument("--logs", type=Path, default=None, help="keep scheduler logs here")
    args = parser.parse_args()

    load = os.getloadavg()
    feed = "no data" if args.no_feed else f"{args.devices} devices fed at 1 Hz"
    print(
        f"soak: {args.instances} schedulers x {args.workers} workers, {args.jobs} jobs every "
        f"{PERIOD} s ({args.jobs / PERIOD:.0f} executions/s), {args.duration:.0f} s, "
        f"model {args.model}, {feed}; "
        f"{os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    report = Report()
    logs = args.logs or Path(tempfile.mkdtemp(prefix="soak-"))
    logs.mkdir(parents=True, exist_ok=True)
    with database("postgres") as db:
        url = db.engine.url.render_as_string(hide_password=False)
        dbname = str(db.engine.url.database)
        add_admin(url)
        services = Services.build(
            Settings(database_url=url, password_profile="fast"), db, SystemClock()
        )
        t0 = time.monotonic()
        devices, last_created = seed(services, args.jobs, args.devices, args.model)
        print(
            f"  seeded {args.jobs} jobs in {time.monotonic() - t0:.1f} s; logs in {logs}",
            flush=True,
        )
        feeder = Feeder(services, devices)
        if not args.no_feed:
            feeder.thread.start()

        instances = start_schedulers(url, args.instances, args.workers, args.interval, logs)
        wait_ready(instances)
        ready_at = datetime.now(UTC)
        started = last = time.monotonic()
        print(f"  schedulers running at {ready_at:%H:%M:%S}", flush=True)
        for inst in instances:
            inst.cpu_last = 0.0
        samples: list[Sample] = []
        died: list[str] = []
        try:
            k = 0
            while not died and last - started < args.duration:
                k += 1  # the first sample comes one interval in, after start-up
                next_at = started + min(k * args.sample_every, args.duration)
                time.sleep(max(0.0, next_at - time.monotonic()))
                now = time.monotonic()
                samples.append(sample(db, dbname, instances, now - started, now - last))
                last = now
                s = samples[-1]
                print(
                    f"  t={s.t:5.0f}s execs {s.executions:6d} running {s.running:4d} "
                    f"rss {' '.join(f'{x:6.1f}' for x in s.rss_mb)} MB "
                    f"cpu {' '.join(f'{x:4.0f}' for x in s.cpu_pct)} % "
                    f"conns {s.conns} (db {s.conns_db}) load {s.load:.2f}",
                    flush=True,
                )
                died = [i.name for i in instances if i.proc.poll() is not None]
        finally:
            stop_at = datetime.now(UTC)
            stop_all(instances, args.stop_timeout)
            feeder.stop.set()
            if feeder.thread.is_alive():
                feeder.thread.join(timeout=10)
        load_end = os.getloadavg()
        print("\nresults", flush=True)
        report.add(
            "load average at start / end",
            f"{load[0]:.2f} / {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}",
        )
        report.add("ran for (s)", f"{samples[-1].t:.0f}")
        loads = [x.load for x in samples]
        report.add(
            "load average (1 min) during: mean / max",
            f"{statistics.fmean(loads):.2f} / {max(loads):.2f}",
        )
        for inst in instances:
            report.add(f"{inst.name} exit / stop time", f"{inst.exit_code} / {inst.stop_s:.1f} s")
            text_log = inst.log.read_text(errors="replace")
            problems = text_log.count("Traceback") + text_log.count('"level": "ERROR"')
            if problems:
                report.add(f"{inst.name} log errors", str(problems))
                report.fail(f"{inst.name} logged {problems} errors")
        if died:
            report.fail(f"scheduler(s) died: {', '.join(died)}")
        if feeder.errors:
            report.add("feeder errors", str(feeder.errors))
        start_edge = first_instant_after(last_created)
        end_edge = last_instant_at_or_before(stop_at - timedelta(seconds=args.edge))
        verify(db, start_edge, first_instant_after(ready_at), end_edge, report)
        check_resources(samples, instances, args, report)
        services.close()
    verdict = "PASS" if not report.failures else "FAIL: " + "; ".join(report.failures)
    print(f"\nverdict: {verdict}", flush=True)
    return 0 if not report.failures else 1


if __name__ == "__main__":
    sys.exit(main())
