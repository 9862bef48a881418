"""Demo content for `make run` / `batchscore demo`: a group of simulated machines, an anomaly
model, an hour of history and a job that scores the last minute every minute and raises a MAJOR
alarm for a machine that misbehaves (cleared when it calms down). Idempotent."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

import numpy as np
from sqlalchemy import select

from batchscore.demo.signals import SERIES, device_readings
from batchscore.domain.measurements import to_ns
from batchscore.service.container import Services
from batchscore.store import measurements as measurements_repo
from batchscore.store.series import ValueRow, not_stored
from batchscore.store.tables import jobs, managed_objects
from batchscore.store.users import ensure_tenant

GROUP = "Demo line"
DEVICES = [("Demo pump 1", 0.0), ("Demo pump 2", 0.1), ("Demo pump 3", 0.0)]
SILENT = "Demo pump 4 (offline)"
MODEL = "DemoIsolationForest"
JOB = "Demo: vibration anomalies"
TYPE = "c8y_Motion"
ALARM = "bs_AnomalyDetected"
EPISODE_MINUTES = 5
"""Live, a misbehaving pump (anomaly rate above 0) alternates: this many minutes with a loose
bearing (``EPISODE_RATE`` of its readings anomalous), as many calm, so its alarm is raised and
cleared again."""
EPISODE_RATE = 0.3
ACTIONS = [
    {
        "name": "bearing-alarm",
        # a healthy pump's minute has at most ~3 outliers; a loose bearing's well above 5
        "when": {"output": "outlier", "equals": True, "atLeast": 6},
        "raise": [
            {
                "alarm": {
                    "type": ALARM,
                    "severity": "MAJOR",
                    "text": "{count} of {deviceName}'s last minute of readings are anomalous "
                    "(job {jobName}, execution {jobExecutionNumber})",
                }
            }
        ],
        "clearWhenNormal": True,
    }
]


@dataclass(frozen=True, slots=True)
class Demo:
    group: int
    devices: dict[int, float]  # sending device id -> anomaly rate
    job: int


def seed_demo(services: Services, tenant: str, backfill: timedelta = timedelta(hours=1)) -> Demo:
    """Create what is missing of the demo content and backfill history up to now."""
    with services.db.write() as conn:
        ensure_tenant(conn, tenant, services.clock.now())
    group = _object(services, tenant, GROUP, group=True)
    devices: dict[int, float] = {}
    for name, rate in DEVICES:
        device = _object(services, tenant, name, group=False)
        services.inventory.add_child(tenant, group, {"managedObject": {"id": str(device)}})
        devices[device] = rate
    silent = _object(services, tenant, SILENT, group=False)
    services.inventory.add_child(tenant, group, {"managedObject": {"id": str(silent)}})
    if MODEL not in services.models.names(tenant):
        model = resources.files("batchscore.demo").joinpath("isolation_forest.pmml").read_bytes()
        services.models.upload(tenant, model, "DemoIsolationForest.pmml")
    now = services.clock.now().replace(microsecond=0)
    rng = np.random.default_rng()
    for device, rate in devices.items():
        write_readings(services, tenant, device, now - backfill, now, rate, rng)
    return Demo(group, devices, _job(services, tenant, group))


def write_readings(
    services: Services,
    tenant: str,
    device: int,
    start: datetime,
    end: datetime,
    anomaly_rate: float,
    rng: np.random.Generator,
) -> int:
    """One reading per second of every series in ``[start, end)``; re-writing is harmless."""
    seconds = int((end - start).total_seconds())
    if seconds <= 0:
        return 0
    values = device_readings(rng, seconds, anomaly_rate)
    first = to_ns(start)
    rows = [
        ValueRow(
            device, fragment, series, first + i * 1_000_000_000, float(values[i, j]), unit, TYPE
        )
        for i in range(seconds)
        for j, (fragment, series, unit) in enumerate(SERIES.values())
    ]
    with services.db.write() as conn:  # a restart backfills again: only what is missing
        measurements_repo.insert_values(conn, tenant, not_stored(conn, tenant, rows))
    return seconds


class Simulator:
    """Posts one reading per second for each sending demo device until stopped."""

    def __init__(self, services: Services, tenant: str, demo: Demo) -> None:
        self.services = services
        self.tenant = tenant
        self.demo = demo
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="demo-simulator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        rng = np.random.default_rng()
        last = self.services.clock.now().replace(microsecond=0)
        while not self._stop.wait(1.0):
            now = self.services.clock.now().replace(microsecond=0)
            for device, rate in self.demo.devices.items():
                live = episode_rate(rate, now)
                write_readings(self.services, self.tenant, device, last, now, live, rng)
            last = now


def episode_rate(rate: float, now: datetime) -> float:
    """The live anomaly rate of a device at ``now``: a misbehaving one (``rate`` > 0) has a
    loose bearing in every other ``EPISODE_MINUTES``-minute stretch and is calm in between."""
    if rate <= 0:
        return 0.0
    minutes = int(now.timestamp() // 60)
    return EPISODE_RATE if (minutes // EPISODE_MINUTES) % 2 == 0 else 0.0


def _object(services: Services, tenant: str, name: str, *, group: bool) -> int:
    with services.db.read() as conn:
        found = conn.execute(
            select(managed_objects.c.id).where(
                managed_objects.c.tenant_id == tenant,
                managed_objects.c.name == name,
                managed_objects.c.is_group == group,
            )
        ).scalar()
    if found is not None:
        return int(found)
    marker = "c8y_IsDeviceGroup" if group else "c8y_IsDevice"
    body = {"name": name, marker: {}, "batchscore_Demo": {}}
    if group:
        body["type"] = "c8y_DeviceGroup"
    return services.inventory.create(tenant, body).id


def _job(services: Services, tenant: str, group: int) -> int:
    with services.db.read() as conn:
        found = conn.execute(
            select(jobs.c.id).where(jobs.c.tenant_id == tenant, jobs.c.name == JOB)
        ).scalar()
    if found is not None:
        return int(found)
    job = services.jobs.create(
        tenant,
        {
            "jobName": JOB,
            "jobDescription": "Scores the last minute of the demo line every minute.",
            "associatedGroupOrDeviceId": group,
            "associatedModel": MODEL,
            "modelToDeviceMappings": {
                name: f"{fragment}.{series}.value" for name, (fragment, series, _) in SERIES.items()
            },
            "jobSchedule": {
                "frequency": "periodic",
                "cronExpression": "0 * * ? * *",
                "timeZone": "UTC",
                "dataFromPreviousNSeconds": 60,
            },
            "actions": ACTIONS,
        },
    )
    return job.id
