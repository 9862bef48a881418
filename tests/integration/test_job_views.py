"""The console's read models on SQLite and PostgreSQL: newest execution per job, history pages
by status, an execution's neighbours, model state and the jobs that use a model. Executions
claimed ahead (their instant still to come) stay invisible everywhere."""

from __future__ import annotations

from datetime import timedelta

from batchscore.domain.jobs import ExecutionStatus, Job
from batchscore.service.container import Services
from batchscore.service.job_views import ModelState
from batchscore.store.executions import NewExecution, finish_execution, insert_executions
from batchscore.testing import regression_pmml

TENANT = "t1"


def _setup(services: Services, jobs: int = 2) -> list[Job]:
    services.models.upload(TENANT, regression_pmml("reg", ["a"]), "reg.pmml")
    device = services.inventory.create(TENANT, {"name": "d", "c8y_IsDevice": {}})
    made = []
    for i in range(jobs):
        made.append(
            services.jobs.create(
                TENANT,
                {
                    "jobName": f"job {i}",
                    "associatedModel": "reg",
                    "associatedGroupOrDeviceId": device.id,
                    "modelToDeviceMappings": {"a": "f.s.value"},
                    "jobSchedule": {
                        "frequency": "periodic",
                        "cronExpression": "0 * * ? * *",
                        "timeZone": "UTC",
                        "dataFromPreviousNSeconds": 60,
                    },
                },
            )
        )
    return made


def _run(
    services: Services, job: Job, number: int, status: ExecutionStatus, ahead_s: int = 0
) -> None:
    now = services.clock.now()
    at = now + timedelta(seconds=ahead_s) if ahead_s else now - timedelta(minutes=100 - number)
    row = NewExecution(
        job.id, TENANT, number, at, at - timedelta(minutes=1), at,
        ExecutionStatus.RUNNING, [], at, lease_owner="t", lease_until=now + timedelta(hours=1),
    )  # fmt: skip
    with services.db.write() as conn:
        ids = insert_executions(conn, [row])
        if status is not ExecutionStatus.RUNNING:
            finish_execution(conn, ids[(job.id, number)], status, [f"run {number}"], now, 10)


def test_overview_has_newest_execution_messages_and_model_state(services: Services) -> None:
    first, second = _setup(services)
    _run(services, first, 1, ExecutionStatus.WARNING)
    _run(services, first, 2, ExecutionStatus.RUNNING)
    _run(services, first, 3, ExecutionStatus.SUCCESS, ahead_s=30)  # claimed ahead: invisible
    views = {v.job.id: v for v in services.job_views.overview(TENANT)}
    one = views[first.id]
    assert one.latest is not None
    assert one.latest.number == 2
    assert one.running
    assert one.messages == ("run 1",)
    assert one.target is not None
    assert one.target.name == "d"
    assert one.model_state is ModelState.ACTIVE
    assert views[second.id].latest is None
    assert not views[second.id].running

    services.models.set_active(TENANT, "reg", False)
    assert services.job_views.job(TENANT, str(first.id)).model_state is ModelState.INACTIVE
    services.models.delete(TENANT, "reg")
    assert services.job_views.job(TENANT, str(first.id)).model_state is ModelState.MISSING
    assert [j.id for j in services.job_views.using_model(TENANT, "reg")] == [first.id, second.id]
    assert services.job_views.using_model(TENANT, "other") == []


def test_history_pages_by_status_newest_first(services: Services) -> None:
    (job,) = _setup(services, jobs=1)
    statuses = [ExecutionStatus.SUCCESS, ExecutionStatus.FAILURE, ExecutionStatus.WARNING]
    for number in range(1, 31):
        _run(services, job, number, statuses[number % 3])
    _run(services, job, 31, ExecutionStatus.SUCCESS, ahead_s=10)
    page = services.job_views.history(TENANT, str(job.id), (), page=2, size=25)
    assert [e.number for e in page.executions] == [5, 4, 3, 2, 1]
    assert (page.total, page.page, page.pages) == (30, 2, 2)
    assert page.counts == {
        ExecutionStatus.SUCCESS: 10,
        ExecutionStatus.FAILURE: 10,
        ExecutionStatus.WARNING: 10,
    }
    failures = services.job_views.history(TENANT, str(job.id), (ExecutionStatus.FAILURE,), 9, 4)
    assert (failures.page, failures.pages, failures.total) == (3, 3, 10)
    assert [e.number for e in failures.executions] == [4, 1]
    assert all(e.window_to is not None for e in failures.executions)


def test_neighbours_skip_missing_numbers_and_invisible_ones(services: Services) -> None:
    (job,) = _setup(services, jobs=1)
    for number in (1, 2, 5):
        _run(services, job, number, ExecutionStatus.SUCCESS)
    _run(services, job, 6, ExecutionStatus.SUCCESS, ahead_s=10)
    assert services.job_views.neighbours(TENANT, str(job.id), 2) == (1, 5)
    assert services.job_views.neighbours(TENANT, str(job.id), 1) == (None, 2)
    assert services.job_views.neighbours(TENANT, str(job.id), 5) == (2, None)
