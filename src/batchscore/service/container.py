"""Wires the services of one process from Settings: the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from batchscore.clock import Clock, SystemClock
from batchscore.passwords import configure_hashing
from batchscore.service.auth import Authenticator, FailureLimiter
from batchscore.service.inventory import InventoryService
from batchscore.service.jobs import JobService
from batchscore.service.measurements import MeasurementService
from batchscore.service.models import ModelService
from batchscore.settings import Settings
from batchscore.store.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    auth: Authenticator
    models: ModelService
    inventory: InventoryService
    jobs: JobService
    measurements: MeasurementService

    @classmethod
    def build(cls, settings: Settings, db: Database, clock: Clock | None = None) -> Services:
        clock = clock or SystemClock()
        configure_hashing(settings.password_profile)
        limiter = FailureLimiter(settings.login_failures_allowed, settings.login_failure_window_s)
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            auth=Authenticator(db, clock, settings.default_tenant, limiter),
            models=ModelService(db, clock, settings.max_model_bytes),
            inventory=InventoryService(db, clock),
            jobs=JobService(db, clock),
            measurements=MeasurementService(db),
        )
