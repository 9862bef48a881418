"""Wires the services of one process from Settings (the service half of the composition root;
``batchscore.composition`` builds the app around them and opens the database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from batchscore.clock import Clock, SystemClock
from batchscore.domain.actions import WebhookPolicy
from batchscore.execution.backends import partition_runner
from batchscore.execution.executor import JobExecutor
from batchscore.execution.instances import Heartbeat, new_instance_id
from batchscore.execution.lifecycle import Lifecycle
from batchscore.passwords import configure_hashing
from batchscore.runtime.parallel import ScoringPool, default_threads
from batchscore.runtime.registry import ModelCache
from batchscore.service.actions import ActionService
from batchscore.service.actions_delivery import ActionDelivery
from batchscore.service.alarms import AlarmService
from batchscore.service.apply import ApplyService
from batchscore.service.auth import Authenticator, FailureLimiter
from batchscore.service.events import EventService
from batchscore.service.inferences import InferenceService
from batchscore.service.inventory import InventoryService
from batchscore.service.inventory_query import ObjectService
from batchscore.service.job_lifecycle import JobLifecycleService
from batchscore.service.job_views import JobViews
from batchscore.service.jobs import JobService
from batchscore.service.measurement_series import SeriesService
from batchscore.service.measurements import MeasurementService
from batchscore.service.models import ModelService
from batchscore.service.runs import RunService
from batchscore.settings import Settings
from batchscore.sources.cumulocity import CumulocitySettings, CumulocitySource
from batchscore.sources.embedded import EmbeddedSource
from batchscore.sources.source import MeasurementSource
from batchscore.sources.writer import PlatformWriter
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
    objects: ObjectService
    series: SeriesService
    alarms: AlarmService
    events: EventService
    model_cache: ModelCache
    source: MeasurementSource
    executor: JobExecutor
    inferences: InferenceService
    apply: ApplyService
    lifecycle: Lifecycle
    heartbeat: Heartbeat
    runs: RunService
    job_views: JobViews
    job_lifecycle: JobLifecycleService
    actions: ActionService
    delivery: ActionDelivery

    def close(self) -> None:
        """Stop the executor's threads and release the source's connections."""
        self.executor.shutdown()
        self.delivery.close()
        self.source.close()
        if self.model_cache.pool is not None:
            self.model_cache.pool.close()

    @classmethod
    def build(
        cls, settings: Settings, db: Database, clock: Clock | None = None, kind: str = "serve"
    ) -> Services:
        """Wire the services of one process; ``kind`` names it among the instances (`serve`,
        `scheduler`, `cli`)."""
        clock = clock or SystemClock()
        configure_hashing(settings.password_profile)
        limiter = FailureLimiter(settings.login_failures_allowed, settings.login_failure_window_s)
        budget = settings.max_body_bytes  # the most fragments one stored document may hold
        inventory = InventoryService(db, clock, budget)
        scoring = ScoringPool(settings.scoring_threads or default_threads())
        cache = ModelCache(pool=scoring)
        source = make_source(settings, db, inventory)
        webhooks = WebhookPolicy.from_text(settings.webhook_allowed_hosts)
        jobs = JobService(db, clock, source if settings.source == "cumulocity" else None, webhooks)
        instance = new_instance_id(kind)
        lifecycle = Lifecycle(
            db,
            clock,
            owner=instance,
            lease=timedelta(seconds=settings.lease_s),
            dead_after=timedelta(seconds=settings.instance_dead_s),
        )
        executor = JobExecutor(
            db,
            clock,
            source,
            cache,
            lifecycle,
            workers=settings.workers,
            runner=partition_runner(
                settings.executor,
                settings.database_url,
                settings.dask_no_workers_s,
                worker_source(settings),
            ),
            backlog=settings.executor_backlog,
        )
        heartbeat = Heartbeat(
            db, clock, instance, kind, every=timedelta(seconds=settings.heartbeat_s)
        )
        heartbeat.also(executor.renew_queued)
        models = ModelService(db, clock, settings.max_model_bytes)
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            auth=Authenticator(db, clock, settings.default_tenant, limiter),
            models=models,
            inventory=inventory,
            jobs=jobs,
            measurements=MeasurementService(db),
            objects=ObjectService(db),
            series=SeriesService(db),
            alarms=AlarmService(db, clock, budget),
            events=EventService(db, clock, budget),
            model_cache=cache,
            source=source,
            executor=executor,
            inferences=InferenceService(db, jobs),
            apply=ApplyService(models, cache),
            lifecycle=lifecycle,
            heartbeat=heartbeat,
            runs=RunService(clock, jobs, lifecycle, executor),
            job_views=JobViews(db, clock, jobs),
            job_lifecycle=JobLifecycleService(
                db, clock, jobs, timedelta(seconds=settings.misfire_threshold_s)
            ),
            actions=ActionService(db, jobs),
            delivery=ActionDelivery(
                db,
                clock,
                instance,
                remote=remote_writer(source),
                webhooks=webhooks,
                timeout_s=settings.webhook_timeout_s,
                lease=timedelta(seconds=settings.action_lease_s),
            ),
        )


def make_source(settings: Settings, db: Database, inventory: InventoryService) -> MeasurementSource:
    """The embedded store, or a Cumulocity tenant (``BATCHSCORE_SOURCE=cumulocity``)."""
    if settings.source == "cumulocity":
        return CumulocitySource.from_settings(CumulocitySettings.from_env())
    return EmbeddedSource(db, inventory)


def remote_writer(source: MeasurementSource) -> PlatformWriter | None:
    """Where job actions write alarms, events and measurements: the Cumulocity tenant jobs
    read from (``BATCHSCORE_SOURCE=cumulocity``), or None for the embedded store."""
    return source.writer() if isinstance(source, CumulocitySource) else None


def worker_source(settings: Settings) -> CumulocitySettings | None:
    """What Dask workers read through: the tenant of ``BATCHSCORE_SOURCE=cumulocity`` (its
    settings go with each task), or None for the embedded store (the database URL does)."""
    if settings.executor != "local" and settings.source == "cumulocity":
        return CumulocitySettings.from_env()
    return None
