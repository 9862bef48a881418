"""Running a job now, outside its schedule (`POST /job/{id}/run`, the console, `job run`)."""

from __future__ import annotations

from collections.abc import Callable

from batchscore.clock import Clock
from batchscore.domain.jobs import Execution, ExecutionStatus
from batchscore.execution.executor import JobExecutor
from batchscore.execution.lifecycle import INTERRUPTED, ClaimedExecution, Lifecycle
from batchscore.scheduling.fires import window_for
from batchscore.scheduling.schedules import schedule_from_stored
from batchscore.service.jobs import JobService


class RunService:
    """Fires jobs now, with their window rule anchored at now."""

    def __init__(
        self, clock: Clock, jobs: JobService, lifecycle: Lifecycle, executor: JobExecutor
    ) -> None:
        self.clock = clock
        self.jobs = jobs
        self.lifecycle = lifecycle
        self.executor = executor

    def fire(self, tenant: str, job_id: str) -> ClaimedExecution:
        """Create an execution of the tenant's job for now, held by this instance; the caller
        runs it (``JobExecutor.run``). ``Conflict`` while the job has one unfinished."""
        job = self.jobs.get(tenant, job_id)
        now = self.clock.now()
        window = window_for(schedule_from_stored(job.schedule), now)
        return self.lifecycle.create_now(job, window, now)

    def run_now(self, tenant: str, job_id: str) -> Execution:
        """Fire the job and queue the execution on this instance's executor; returns it as
        it is now (running, started at the instant it was asked for)."""
        claimed = self.fire(tenant, job_id)
        self.executor.submit(claimed)
        return self.jobs.execution(tenant, job_id, str(claimed.number))

    def run_here(self, claimed: ClaimedExecution, progress: Callable[[int], None]) -> Execution:
        """Run an execution :meth:`fire` created, in this thread, ``progress`` told the records
        scored so far; returns it finished. Interrupted (Ctrl-C), it is finished as a
        ``Failure`` saying so before ``KeyboardInterrupt`` goes on."""
        try:
            self.executor.run(claimed, progress)
        except KeyboardInterrupt:
            self.lifecycle.finish(claimed, ExecutionStatus.FAILURE, [INTERRUPTED], 0)
            raise
        return self.jobs.execution(claimed.tenant, str(claimed.job_id), str(claimed.number))
