"""Job use cases: create with full validation, read, list, delete, history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from batchscore.clock import Clock
from batchscore.domain.actions import WebhookPolicy, check_against_model
from batchscore.domain.documents import object_id
from batchscore.domain.jobs import Execution, Job, JobSpec, JobStamp
from batchscore.errors import FieldMessage, Invalid, NotFound
from batchscore.scheduling.fire_times import first_fire_at
from batchscore.service.job_requests import parse_job_request
from batchscore.sources.source import MeasurementSource
from batchscore.store import inventory as inventory_repo
from batchscore.store import jobs as repo
from batchscore.store import models as models_repo
from batchscore.store.db import Database, Transaction


def job_not_found(job_id: str | int) -> NotFound:
    return NotFound(f"Zementis job ID '{job_id}' not found.")


def execution_not_found(number: str | int) -> NotFound:
    return NotFound(f"Job Execution number {number} does not exist.")


def target_not_found(target_id: int) -> NotFound:
    return NotFound(
        FieldMessage(
            "associatedGroupOrDeviceId",
            f"Device or group with id {target_id} does not exist or it is invalid",
        )
    )


def parse_int_id(text: str) -> int | None:
    """A job id or execution number as a request names it: ``object_id``'s rules (a positive
    63-bit integer; 0 is none)."""
    return object_id(text)


class JobService:
    """Jobs of a tenant. With ``remote_source`` (a Cumulocity tenant) job targets are checked
    there instead of in the embedded inventory."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        remote_source: MeasurementSource | None = None,
        webhooks: WebhookPolicy | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.remote_source = remote_source
        self.webhooks = webhooks or WebhookPolicy()

    def create(self, tenant: str, body: Any) -> Job:
        now = self.clock.now()
        spec = self.prepare(tenant, body, now)
        with self.db.write() as conn:
            self.check_references(conn, tenant, spec)
            return repo.insert_job(conn, tenant, spec, now, first_fire_at(spec.schedule, now))

    def prepare(self, tenant: str, body: Any, now: datetime) -> JobSpec:
        """A job body validated for form (and, on a Cumulocity tenant, its target checked
        there): the first half of POST's validation, shared with PUT."""
        spec = parse_job_request(body, now, self.webhooks)
        if self.remote_source is not None:
            try:
                self.remote_source.devices_below(tenant, spec.target_id)
            except NotFound:
                raise target_not_found(spec.target_id) from None
        return spec

    def check_references(self, conn: Transaction, tenant: str, spec: JobSpec) -> None:
        """The second half: model, target and mappings, in the caller's transaction."""
        model = models_repo.get_model(conn, tenant, spec.model_name)
        if model is None:
            raise NotFound(FieldMessage("associatedModel", f"Model '{spec.model_name}' not found."))
        if self.remote_source is None:
            target = inventory_repo.get_object(conn, tenant, spec.target_id)
            if target is None or not (target.is_device or target.is_group):
                raise target_not_found(spec.target_id)
        _check_mapping(spec, {f.name: f.required for f in model.inputs})
        check_actions(spec, {f.name: f.data_type for f in model.outputs})

    def get(self, tenant: str, job_id: str) -> Job:
        parsed = parse_int_id(job_id)
        job = None
        if parsed is not None:
            with self.db.read() as conn:
                job = repo.get_job(conn, tenant, parsed)
        if job is None:
            raise job_not_found(job_id)
        return job

    def list_jobs(self, tenant: str, page_size: int | None = None, page: int = 1) -> list[Job]:
        offset = (page - 1) * page_size if page_size else 0
        with self.db.read() as conn:
            return repo.list_jobs(conn, tenant, page_size, offset)

    def jobs_version(self, tenant: str) -> int:
        """Changes whenever the tenant's jobs change as :meth:`list_jobs` shows them."""
        with self.db.read() as conn:
            return repo.jobs_version(conn, tenant)

    def list_changed(
        self,
        tenant: str,
        known: Callable[[int, JobStamp], bool],
        page_size: int | None = None,
        page: int = 1,
    ) -> list[tuple[int, JobStamp, Job | None]]:
        """The tenant's jobs in order as ``(id, stamp, job)``, where ``job`` is read only when
        ``known(id, stamp)`` is false: the caller already holds that job's rendering. A job
        deleted between the two reads (PostgreSQL reads each statement afresh) is left out."""
        offset = (page - 1) * page_size if page_size else 0
        with self.db.read() as conn:
            stamps = repo.list_job_stamps(conn, tenant, page_size, offset)
            wanted = {job_id for job_id, stamp in stamps if not known(job_id, stamp)}
            fetched = repo.get_jobs(conn, tenant, sorted(wanted)) if wanted else {}
        return [
            (job_id, stamp, fetched.get(job_id))
            for job_id, stamp in stamps
            if job_id not in wanted or job_id in fetched
        ]

    def delete(self, tenant: str, job_id: str) -> list[Job]:
        parsed = parse_int_id(job_id)
        with self.db.write() as conn:
            if parsed is None or not repo.delete_job(conn, tenant, parsed):
                raise job_not_found(job_id)
            return repo.list_jobs(conn, tenant)

    def delete_all(self, tenant: str) -> list[Job]:
        with self.db.write() as conn:
            repo.delete_all_jobs(conn, tenant)
            return repo.list_jobs(conn, tenant)

    def history(self, tenant: str, job_id: str) -> list[Execution]:
        with self.db.read() as conn:
            return repo.list_executions(conn, self._job_id(conn, tenant, job_id))

    def execution(self, tenant: str, job_id: str, number: str) -> Execution:
        parsed = parse_int_id(number)
        found = None
        with self.db.read() as conn:
            job = self._job_id(conn, tenant, job_id)
            if parsed is not None:
                found = repo.get_execution(conn, job, parsed)
        if found is None:
            raise execution_not_found(number)
        return found

    @staticmethod
    def _job_id(conn: Transaction, tenant: str, job_id: str) -> int:
        """The id of the tenant's job ``job_id``, checked in the caller's transaction."""
        parsed = parse_int_id(job_id)
        if parsed is None or not repo.job_exists(conn, tenant, parsed):
            raise job_not_found(job_id)
        return parsed


def check_actions(spec: JobSpec, outputs: dict[str, str]) -> None:
    """Raise ``Invalid`` when the spec's rules or write-back do not fit the model's outputs
    (name -> PMML data type) or write back into a fragment the job reads."""
    fragments = [path.split(".")[0] for path in spec.mappings.values()]
    errors = check_against_model(spec.actions, spec.write_back, outputs, fragments)
    if errors:
        raise Invalid.collect(errors)


def _check_mapping(spec: JobSpec, inputs: dict[str, bool]) -> None:
    key = "modelToDeviceMappings"
    errors = [
        FieldMessage(
            key, f"{key}: '{name}' is not an input field of the model '{spec.model_name}'.", name
        )
        for name in spec.mappings
        if name not in inputs
    ]
    errors += [
        FieldMessage(key, f"{key}: the model input '{name}' is required but not mapped.", name)
        for name, required in inputs.items()
        if required and name not in spec.mappings
    ]
    if errors:
        raise Invalid.collect(errors)
