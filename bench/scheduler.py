"""Scheduler benchmark: N jobs firing every minute, on a fake clock and on the real one.

Run: ``.venv/bin/python bench/scheduler.py [--jobs 10000] [--minutes 3]
[--backend sqlite|postgres] [--instances K] [--fake-minutes M] [--profile]``

Fake clock: the clock jumps minute by minute and ``Scheduler.tick()`` is timed (claim throughput,
tick wall time). Real clock: ``--instances`` schedulers loop (``run``, 0.2 s) for ``--minutes``
minute boundaries. Lateness is reported twice: as stored (``started_at - scheduled_at``; the tick
reads the clock once, so every batch of a tick gets the tick's start time) and as seen by the
handoff (wall time of ``submit`` after the batch commits - scheduled instant), which is when an
execution can really start. Every run checks each (job, instant) fired exactly once.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from fresh_db import database
from sqlalchemy import delete, func, insert, select, update

from batchscore.clock import FakeClock, SystemClock
from batchscore.execution.lifecycle import ClaimedExecution
from batchscore.scheduling.scheduler import Scheduler
from batchscore.store.db import Database
from batchscore.store.tables import executions, jobs, tenants

TENANT = "bench"
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Adelaide")
MINUTE = timedelta(minutes=1)
FAKE_START = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
Stats = dict[str, str]


def seed(db: Database, n: int, now: datetime, first_fire: datetime) -> None:
    """Bulk-insert a tenant and ``n`` every-minute jobs, stored as the API stores them."""
    rows = [
        {
            "tenant_id": TENANT,
            "name": f"job-{i}",
            "description": "bench",
            "created_at": now,
            "model_name": "IsolationForest",
            "target_id": 1,
            "mappings": {},
            "mappings_sent": {},
            "schedule": {
                "frequency": "periodic",
                "cronExpression": "0 * * ? * *",
                "timeZone": ZONES[i % len(ZONES)],
                "dataFromPreviousNSeconds": 60,
                "scheduleAt": None,
                "dataFrom": None,
                "dataTo": None,
            },
            "next_fire_at": first_fire,
            "execution_count": 0,
        }
        for i in range(n)
    ]
    with db.write() as conn:
        conn.execute(insert(tenants).values(id=TENANT, created_at=now))
        conn.execute(insert(jobs), rows)


def reset(db: Database, first_fire: datetime) -> None:
    with db.write() as conn:
        conn.execute(delete(executions))
        conn.execute(update(jobs).values(next_fire_at=first_fire, execution_count=0))


def finish_running(db: Database, now: datetime) -> None:
    """The handoff's bulk 'executor': every execution handed off (its instant has come) starts
    and succeeds at once; claims ahead of their instant wait for it."""
    with db.write() as conn:
        conn.execute(
            update(executions)
            .where(executions.c.status == "Running", executions.c.scheduled_at <= now)
            .values(
                status="Success",
                started_at=func.coalesce(executions.c.started_at, now),
                ended_at=now,
                duration_ms=0,
                lease_owner=None,
                lease_until=None,
            )
        )


class Recorder:
    """Handoff that notes when each execution was handed over (wall time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[datetime, float]] = []

    def submit(self, execution: ClaimedExecution) -> None:
        with self.lock:
            self.seen.append((execution.scheduled_at, time.time()))


class FinishingScheduler(Scheduler):
    """Finishes what it hands off right away, so no fire is skipped as overlapping."""

    def _release(self, now: datetime) -> tuple[list[ClaimedExecution], int]:
        handed, skipped = super()._release(now)
        if handed:
            finish_running(self.db, now)
        return handed, skipped


def quantiles(values: Sequence[float]) -> str:
    if not values:
        return "-"
    s = sorted(values)
    pick = [s[min(len(s) - 1, int(q * len(s)))] for q in (0.5, 0.99)]
    return f"{pick[0]:.3f} / {pick[1]:.3f} / {s[-1]:.3f}"


def verify(db: Database, n: int, instants: Sequence[datetime]) -> tuple[Stats, list[float]]:
    """Missed and doubled fires against the expected instants, and stored lateness."""
    with db.read() as conn:
        per_instant = conn.execute(
            select(
                executions.c.scheduled_at,
                func.count(),
                func.count(func.distinct(executions.c.job_id)),
            ).group_by(executions.c.scheduled_at)
        ).all()
        not_ok = conn.execute(
            select(func.count()).where(executions.c.status != "Success")
        ).scalar_one()
        stored = conn.execute(select(executions.c.started_at, executions.c.scheduled_at)).all()
    found = {r[0]: (int(r[1]), int(r[2])) for r in per_instant}
    missed = sum(n - found.get(t, (0, 0))[1] for t in instants)
    doubled = sum(total - distinct for total, distinct in found.values())
    extra = sum(total for t, (total, _) in found.items() if t not in set(instants))
    lateness = [(a - b).total_seconds() for a, b in stored]
    total = sum(total for total, _ in found.values())
    return {
        "executions (expected)": f"{total} ({n * len(instants)})",
        "missed / doubled / unexpected": f"{missed} / {doubled} / {extra}",
        "not Success (skipped, failed)": str(not_ok),
    }, lateness


def fake_clock_run(db: Database, n: int, minutes: int, profile: bool) -> Stats:
    seed(db, n, FAKE_START, FAKE_START + MINUTE)
    clock = FakeClock(FAKE_START + timedelta(seconds=30))
    recorder = Recorder()
    scheduler = Scheduler(db, clock, recorder)
    t0 = time.perf_counter()
    scheduler.tick()  # nothing due yet
    idle = time.perf_counter() - t0
    tick_times: list[float] = []
    tick_wall: dict[datetime, float] = {}
    instants = [FAKE_START + m * MINUTE for m in range(1, minutes + 1)]
    for instant in instants:
        clock.set(instant)
        tick_wall[instant] = time.time()
        t0 = time.perf_counter()
        scheduler.tick()
        tick_times.append(time.perf_counter() - t0)
        finish_running(db, instant)
        print(f"  fake tick {instant:%H:%M}: {tick_times[-1]:.3f} s", flush=True)
    stats, stored = verify(db, n, instants)
    handed = [wall - tick_wall[at] for at, wall in recorder.seen]
    if profile:
        clock.set(instants[-1] + MINUTE)
        profiler = cProfile.Profile()
        profiler.runcall(scheduler.tick)
        finish_running(db, clock.now())
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    median = sorted(tick_times)[len(tick_times) // 2]
    return {
        **stats,
        "tick wall time p50 / max (s)": f"{median:.3f} / {max(tick_times):.3f}",
        "idle tick (ms)": f"{idle * 1000:.1f}",
        "claim throughput (exec/s)": f"{len(recorder.seen) / sum(tick_times):,.0f}",
        "lateness stored p50/p99/max (s)": quantiles(stored),
        "lateness handoff p50/p99/max (s)": quantiles(handed),
    }


def real_clock_run(db: Database, n: int, minutes: int, instances: int, lookahead: float) -> Stats:
    now = datetime.now(UTC)
    first = (now + timedelta(seconds=10)).replace(second=0, microsecond=0) + MINUTE
    reset(db, first)
    instants = [first + m * MINUTE for m in range(minutes)]
    deadline = (instants[-1] + timedelta(seconds=45)).timestamp()  # before the next boundary
    recorder = Recorder()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=FinishingScheduler(
                db, SystemClock(), recorder, lookahead=timedelta(seconds=lookahead)
            ).run,
            args=(stop, 0.2),
            daemon=True,
        )
        for _ in range(instances)
    ]
    for thread in threads:
        thread.start()
    print(f"  real clock: first fire {first:%H:%M:%S}Z, {minutes} min", flush=True)
    while time.time() < deadline and len(recorder.seen) < n * minutes:
        time.sleep(0.5)
    time.sleep(1.0)  # let the last commits land
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    stats, stored = verify(db, n, instants)
    handed = [wall - at.timestamp() for at, wall in recorder.seen]
    return {
        **stats,
        "lateness stored p50/p99/max (s)": quantiles(stored),
        "lateness handoff p50/p99/max (s)": quantiles(handed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=3, help="real-clock minutes (0 = skip)")
    parser.add_argument("--fake-minutes", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile one fake-clock tick")
    parser.add_argument(
        "--lookahead", type=float, default=5.0, help="seconds jobs are claimed ahead (real clock)"
    )
    args = parser.parse_args()
    print(f"backend {args.backend}, {args.jobs} jobs, {os.cpu_count()} cores", flush=True)
    with database(args.backend) as db:
        fake = fake_clock_run(db, args.jobs, args.fake_minutes, args.profile)
        real = (
            real_clock_run(db, args.jobs, args.minutes, args.instances, args.lookahead)
            if args.minutes
            else {}
        )
    head = f"fake clock ({args.fake_minutes} min)"
    tail = f"real clock ({args.minutes} min, {args.instances} inst.)"
    print(f"\n{'metric':<34} {head:<26} {tail}")
    for key in dict.fromkeys([*fake, *real]):
        print(f"{key:<34} {fake.get(key, '-'):<26} {real.get(key, '-')}")


if __name__ == "__main__":
    main()
