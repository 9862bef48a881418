"""Job actions benchmark (design §2.9): the execution time of a job with 3 rules and write-back
vs the same job without, on the same data, in one run. Target: <= 1.2x.

Run: ``.venv/bin/python bench/actions.py [--backend sqlite|postgres] [--devices 100]
[--minutes 60] [--repeat 5]``

Data: ``--devices`` demo machines (``batchscore.demo.signals``; one in ten with a loose bearing,
10 % of its readings anomalous) sending 6 series at 1 Hz for ``--minutes``, scored by the demo
IsolationForest. Two jobs over the same group and window:

- plain: no actions;
- acting: 3 rules (``outlier`` equals true at least 3 times -> MAJOR alarm with
  ``clearWhenNormal``; ``decisionFunction`` less than 0 for 5 % of the records -> event;
  ``normalizedAnomalyScore`` greater than 0.6 -> webhook) and ``writeBack`` of two outputs.

Each repeat runs both (alternating, after one warm-up run each) with ``JobExecutor.run``, which
ends when the execution is finished — for the acting job that includes tallying the rules and
writing its effects to the outbox in the finishing transaction. Delivering them happens after
the execution, in the delivery loop; its time (alarms, events and the write-back measurements
into the embedded store; the webhook effects are pointed at an unreachable, allowed host and
left pending) is reported separately, once.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import numpy as np
from fresh_db import database
from sqlalchemy import func, select

from batchscore.clock import SystemClock
from batchscore.demo.seed import write_readings
from batchscore.demo.signals import SERIES
from batchscore.domain.jobs import ExecutionStatus
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.tables import action_effects, measurements
from batchscore.store.users import ensure_tenant

TENANT = "bench"
T0 = datetime(2026, 1, 14, tzinfo=UTC)
RULES = [
    {
        "name": "outliers",
        "when": {"output": "outlier", "equals": True, "atLeast": 3},
        "raise": [{"alarm": {"type": "bs_Outliers", "severity": "MAJOR", "text": "{count}"}}],
        "clearWhenNormal": True,
    },
    {
        "name": "negative-decision",
        "when": {"output": "decisionFunction", "lessThan": 0, "atLeastShare": 0.05},
        "raise": [{"event": {"type": "bs_Decision", "text": "{share} of {deviceName}"}}],
    },
    {
        "name": "high-score",
        "when": {"output": "normalizedAnomalyScore", "greaterThan": 0.6},
        "raise": [{"webhook": {"url": "http://hooks.invalid:9/x", "secret": "s"}}],
    },
]
WRITE_BACK = {
    "fragment": "bs_Anomaly",
    "outputs": {"score": "normalizedAnomalyScore", "decision": "decisionFunction"},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the failing webhooks' retries would flood the output
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as db:
        clock = SystemClock()
        settings = Settings(
            password_profile="fast", var_dir=Path(tmp), webhook_allowed_hosts="hooks.invalid:9"
        )
        services = Services.build(settings, db, clock)
        with db.write() as conn:
            ensure_tenant(conn, TENANT, clock.now())
        group = services.inventory.create(
            TENANT, {"name": "line", "type": "c8y_DeviceGroup", "c8y_IsDeviceGroup": {}}
        ).id
        rng = np.random.default_rng(21)
        end = T0 + timedelta(minutes=args.minutes)
        began = time.perf_counter()
        for n in range(args.devices):
            device = services.inventory.create(TENANT, {"name": f"m{n}", "c8y_IsDevice": {}}).id
            services.inventory.add_child(TENANT, group, {"managedObject": {"id": str(device)}})
            write_readings(services, TENANT, device, T0, end, 0.1 if n % 10 == 0 else 0.0, rng)
        ingest_s = time.perf_counter() - began
        model = resources.files("batchscore.demo").joinpath("isolation_forest.pmml").read_bytes()
        services.models.upload(TENANT, model, "DemoIsolationForest.pmml")
        body = {
            "jobName": "plain",
            "associatedGroupOrDeviceId": group,
            "associatedModel": "DemoIsolationForest",
            "modelToDeviceMappings": {n: f"{f}.{s}.value" for n, (f, s, _) in SERIES.items()},
            "jobSchedule": {"frequency": "once", "dataFrom": T0.isoformat(),
                            "dataTo": end.isoformat()},
        }  # fmt: skip
        plain = services.jobs.create(TENANT, body)
        acting = services.jobs.create(
            TENANT, {**body, "jobName": "acting", "actions": RULES, "writeBack": WRITE_BACK}
        )

        def run(job_id: int) -> float:
            job = services.jobs.get(TENANT, str(job_id))
            claimed = services.lifecycle.create_now(job, (T0, end), clock.now())
            started = time.perf_counter()
            status = services.executor.run(claimed)
            took = time.perf_counter() - started
            assert status is ExecutionStatus.SUCCESS, status
            return took

        run(plain.id)  # warm-up: the model is compiled into the cache
        run(acting.id)
        times: dict[str, list[float]] = {"plain": [], "acting": []}
        for _ in range(args.repeat):
            times["plain"].append(run(plain.id))
            times["acting"].append(run(acting.id))
        with db.read() as conn:
            effects = conn.execute(select(func.count()).select_from(action_effects)).scalar_one()
        # deliver what the last acting execution (and the ones before) left in the outbox
        services.delivery.http.close()
        began = time.perf_counter()
        platform = 0
        while True:
            claimed = services.delivery.tick()
            if not claimed:
                break
            platform += claimed
        deliver_s = time.perf_counter() - began
        with db.read() as conn:
            written = conn.execute(
                select(func.count())
                .select_from(measurements)
                .where(measurements.c.type == "bs_Anomaly")
            ).scalar_one()
        services.close()

    plain_s = statistics.median(times["plain"])
    acting_s = statistics.median(times["acting"])
    records = args.devices * args.minutes * 60
    print(f"backend {args.backend}: {args.devices} devices x {args.minutes} min at 1 Hz "
          f"= {records} records (ingest {ingest_s:.1f} s)")  # fmt: skip
    print(f"{'':28} {'median':>8} {'min':>8} {'max':>8}")
    for name, label in (("plain", "without actions"), ("acting", "3 rules + write-back")):
        t = times[name]
        print(f"{label:28} {statistics.median(t):8.3f} {min(t):8.3f} {max(t):8.3f} s")
    print(f"ratio acting / plain (median): {acting_s / plain_s:.3f}  (target <= 1.2)")
    print(f"outbox rows written by {args.repeat + 1} acting executions: {effects}")
    print(f"delivery of {platform} claimed effects (alarms, events, {written} write-back "
          f"measurements; webhooks fail fast and stay pending): {deliver_s:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
