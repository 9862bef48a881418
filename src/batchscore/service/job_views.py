"""Jobs as people look at them: each job with its target, newest execution and model state;
a job's history page by page and status; an execution's neighbours; the jobs a model serves."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from batchscore.clock import Clock
from batchscore.domain.inventory import ManagedObject
from batchscore.domain.jobs import Execution, ExecutionStatus, Job
from batchscore.service.jobs import JobService
from batchscore.store import history as history_repo
from batchscore.store import inventory as inventory_repo
from batchscore.store import jobs as jobs_repo
from batchscore.store import models as models_repo
from batchscore.store.db import Database


class ModelState(enum.StrEnum):
    """Whether a job's model can score: executions of a job whose model is inactive or gone
    fail."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class JobOverview:
    job: Job
    target: ManagedObject | None
    latest: Execution | None  # the newest visible execution, running or finished
    messages: tuple[str, ...]  # the messages of the newest finished execution
    model_state: ModelState

    @property
    def running(self) -> bool:
        return self.latest is not None and not self.latest.status.finished


@dataclass(frozen=True, slots=True)
class HistoryPage:
    executions: list[Execution]  # newest first
    total: int  # executions matching the status filter
    counts: dict[ExecutionStatus, int]  # every visible execution, by status
    page: int
    pages: int
    size: int


class JobViews:
    """Read models of the console; every read sees only executions whose instant has come."""

    def __init__(self, db: Database, clock: Clock, jobs: JobService) -> None:
        self.db = db
        self.clock = clock
        self.jobs = jobs

    def overview(self, tenant: str, only: Job | None = None) -> list[JobOverview]:
        """Every job of the tenant (or just ``only``) with what its list row shows."""
        now = self.clock.now()
        with self.db.read() as conn:
            found = [only] if only is not None else jobs_repo.list_jobs(conn, tenant)
            ids = [j.id for j in found]
            targets = inventory_repo.get_objects(conn, tenant, sorted({j.target_id for j in found}))
            latest = history_repo.latest_executions(conn, ids, now)
            finished = history_repo.latest_finished(conn, latest)
            states = models_repo.active_states(conn, tenant)
        return [
            JobOverview(
                job=j,
                target=targets.get(j.target_id),
                latest=latest.get(j.id),
                messages=finished[j.id].messages if j.id in finished else (),
                model_state=_model_state(states.get(j.model_name)),
            )
            for j in found
        ]

    def job(self, tenant: str, job_id: str) -> JobOverview:
        """One job's overview; NotFound as the API's for an unknown id."""
        return self.overview(tenant, self.jobs.get(tenant, job_id))[0]

    def history(
        self,
        tenant: str,
        job_id: str,
        statuses: Sequence[ExecutionStatus] = (),
        page: int = 1,
        size: int = 25,
    ) -> HistoryPage:
        """Page ``page`` (clamped to the pages there are) of the job's history, newest first."""
        job = self.jobs.get(tenant, job_id)
        now = self.clock.now()
        with self.db.read() as conn:
            counts = history_repo.count_by_status(conn, job.id, now)
            total = sum(n for s, n in counts.items() if not statuses or s in statuses)
            pages = max(1, math.ceil(total / size))
            page = min(max(page, 1), pages)
            rows = history_repo.executions_page(
                conn, job.id, statuses, (page - 1) * size, size, now
            )
        return HistoryPage(rows, total, counts, page, pages, size)

    def neighbours(self, tenant: str, job_id: str, number: int) -> tuple[int | None, int | None]:
        """The numbers of the executions before and after ``number`` (None at either end)."""
        job = self.jobs.get(tenant, job_id)
        with self.db.read() as conn:
            return history_repo.neighbours(conn, job.id, number, self.clock.now())

    def using_model(self, tenant: str, model_name: str) -> list[Job]:
        """The jobs that name the model (also after it was deleted)."""
        with self.db.read() as conn:
            return jobs_repo.jobs_using_model(conn, tenant, model_name)

    def model_states(self, tenant: str) -> dict[str, bool]:
        """Whether each of the tenant's models is active, by name, in upload order."""
        with self.db.read() as conn:
            return models_repo.active_states(conn, tenant)

    def objects(self, tenant: str, ids: Iterable[int]) -> dict[int, ManagedObject]:
        """The tenant's managed objects among ``ids`` (devices and groups to show by name)."""
        with self.db.read() as conn:
            return inventory_repo.get_objects(conn, tenant, sorted(set(ids)))


def _model_state(active: bool | None) -> ModelState:
    if active is None:
        return ModelState.MISSING
    return ModelState.ACTIVE if active else ModelState.INACTIVE
