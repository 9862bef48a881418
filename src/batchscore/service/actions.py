"""Reading the effects of an execution's actions (``GET /job/{id}/history/{n}/actions``)."""

from __future__ import annotations

from batchscore.service.jobs import JobService, execution_not_found, parse_int_id
from batchscore.store import outbox as repo
from batchscore.store.db import Database
from batchscore.store.outbox import StoredEffect

__all__ = ["ActionService", "StoredEffect"]


class ActionService:
    """The outbox as the API shows it, per execution."""

    def __init__(self, db: Database, jobs: JobService) -> None:
        self.db = db
        self.jobs = jobs

    def effects(self, tenant: str, job_id: str, number: str) -> list[StoredEffect]:
        """The effects of execution ``number`` of the tenant's job ``job_id`` (NotFound for an
        unknown job or execution)."""
        execution = self.jobs.execution(tenant, job_id, number)  # checks tenant and start
        parsed = parse_int_id(number)
        with self.db.read() as conn:
            found = repo.execution_id_of(conn, execution.job_id, execution.number)
            if found is None or parsed is None:
                raise execution_not_found(number)
            return repo.effects_of_execution(conn, found)
