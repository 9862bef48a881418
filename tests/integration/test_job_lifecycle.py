"""Job lifecycle (design §2.8) on a real database with a fake clock: PUT, pause, resume,
backfill, and the definition each execution records."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.execution.lifecycle import ClaimedExecution, Lifecycle
from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.container import Services
from batchscore.testing import CollectingHandoff
from tests.integration.conftest import CANONICAL, World, periodic_job

BASE = "/service/zementis"
AHEAD = timedelta(seconds=5)


def every(cron: str, window: int = 60, **extra: Any) -> dict[str, Any]:
    return {
        "frequency": "periodic",
        "cronExpression": cron,
        "timeZone": "UTC",
        "dataFromPreviousNSeconds": window,
        **extra,
    }


def make_job(client: TestClient, admin: dict[str, str], world: World, **schedule: Any) -> int:
    body = periodic_job(world)
    body["jobSchedule"] = schedule
    r = client.post(f"{BASE}/job", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["jobId"])


class Finishing(CollectingHandoff):
    """Starts and at once finishes (Success) what it is given; keeps what it started."""

    def __init__(self, life: Lifecycle) -> None:
        super().__init__()
        self.life = life

    def submit(self, execution: ClaimedExecution) -> None:
        if self.life.start(execution):
            self.life.finish(execution, ExecutionStatus.SUCCESS, execution.messages, 0)
            self.items.append(execution)


def instance(services: Services, clock: FakeClock, name: str, **kw: Any) -> Scheduler:
    """A scheduler instance whose hand-off runs (as a no-op) what it is given."""
    life = Lifecycle(services.db, clock, owner=name)
    return Scheduler(services.db, clock, Finishing(life), lifecycle=life, **kw)


def instants(scheduler: Scheduler) -> list[str]:
    items = scheduler.handoff.items  # type: ignore[attr-defined]
    return [e.scheduled_at.strftime("%H:%M:%S") for e in items]


def history(client: TestClient, admin: dict[str, str], job_id: int) -> list[dict[str, Any]]:
    r = client.get(f"{BASE}/job/{job_id}/history", headers=admin)
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()
    return result


def run_for(scheduler: Scheduler, clock: FakeClock, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(1)
        scheduler.tick()


# --- PUT -------------------------------------------------------------------------------------


def test_put_validates_as_post_and_404s_an_unknown_job(
    client: TestClient, admin: dict[str, str], reader: dict[str, str], world: World
) -> None:
    job_id = make_job(client, admin, world, **every("0 * * ? * *"))
    r = client.put(f"{BASE}/job/999999", json=periodic_job(world), headers=admin)
    assert (r.status_code, r.json()) == (404, {"errors": ["Zementis job ID '999999' not found."]})
    bad = periodic_job(world)
    bad["jobSchedule"] = {"frequency": "sometimes"}
    posted = client.post(f"{BASE}/job", json=bad, headers=admin)
    put = client.put(f"{BASE}/job/{job_id}", json=bad, headers=admin)
    assert (put.status_code, put.json()) == (posted.status_code, posted.json())
    assert put.status_code == 400
    missing = periodic_job(world, associatedModel="Nope")
    r = client.put(f"{BASE}/job/{job_id}", json=missing, headers=admin)
    assert (r.status_code, r.json()) == (404, {"errors": ["Model 'Nope' not found."]})
    r = client.put(f"{BASE}/job/{job_id}", content=b"{", headers=admin)
    assert r.status_code == 400
    assert "errors" in r.json()
    r = client.put(f"{BASE}/job/{job_id}", json=periodic_job(world), headers=reader)
    assert r.status_code == 403
    r = client.put(f"{BASE}/job/{job_id}", json=periodic_job(world))
    assert r.status_code == 401


def test_put_replaces_the_definition_and_keeps_id_creation_and_history(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every("0 * * ? * *"))
    before = client.get(f"{BASE}/job/{job_id}", headers=admin).json()
    scheduler = Scheduler(services.db, clock, services.executor, lifecycle=services.lifecycle)
    clock.advance(60)
    scheduler.tick()
    services.executor.shutdown()
    body = periodic_job(
        world,
        jobName="Renamed",
        associatedGroupOrDeviceId=world.device,
        jobSchedule=every("30 * * ? * *", 30),
    )
    r = client.put(f"{BASE}/job/{job_id}", json=body, headers=admin)
    assert r.status_code == 200, r.text
    job = r.json()
    assert (job["jobId"], job["jobCreationDate"]) == (job_id, before["jobCreationDate"])
    assert (job["jobName"], job["associatedGroupOrDeviceId"]) == ("Renamed", world.device)
    assert job["jobSchedule"]["cronExpression"] == "30 * * ? * *"
    assert "paused" not in job  # absent until paused once
    assert client.get(f"{BASE}/jobs", headers=admin).json()[0]["jobName"] == "Renamed"
    [first] = history(client, admin, job_id)
    assert first["jobExecutionNumber"] == 1
    detail = client.get(f"{BASE}/job/{job_id}/history/1", headers=admin).json()
    sha = client.get(f"{BASE}/model/{world.model}", headers=admin).json()["sha256"]
    assert detail["associatedModel"] == world.model
    assert detail["modelSha256"] == sha
    assert detail["modelToDeviceMappings"] == CANONICAL
    assert "associatedModel" not in first  # the list stays as the seed has it


def test_an_edit_between_two_fires_changes_the_next_fire_and_nothing_else(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every("0 * * ? * *"))
    scheduler = instance(services, clock, "a", lookahead=AHEAD)
    run_for(scheduler, clock, 60)  # 12:01:00 fires
    run_for(scheduler, clock, 57)  # 12:02:00 is claimed ahead (lookahead 5 s)
    assert instants(scheduler) == ["12:01:00"]
    body = periodic_job(world, jobSchedule=every("10/20 * * ? * *", 20))
    assert client.put(f"{BASE}/job/{job_id}", json=body, headers=admin).status_code == 200
    run_for(scheduler, clock, 63)  # until 12:03:00
    # the old 12:02:00 never fires; the new schedule fires from its first instant after 12:01:57
    assert instants(scheduler) == ["12:01:00", "12:02:10", "12:02:30", "12:02:50"]
    windows = [(e.window_to - e.window_from).seconds for e in scheduler.handoff.items]  # type: ignore[attr-defined]
    assert windows == [60, 20, 20, 20]
    numbers = [e.number for e in scheduler.handoff.items]  # type: ignore[attr-defined]
    assert numbers == [1, 2, 3, 4]  # the dropped claim's number is given back


# --- pause, resume ----------------------------------------------------------------------------


def test_pause_skips_every_fire_and_run_still_works(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every("0/10 * * ? * *", 10))
    scheduler = instance(services, clock, "a", lookahead=AHEAD)
    run_for(scheduler, clock, 17)  # 12:00:10 fires, 12:00:20 claimed ahead
    r = client.post(f"{BASE}/job/{job_id}/pause", headers=admin)
    assert r.status_code == 200
    assert r.json()["paused"] is True
    assert client.get(f"{BASE}/job/{job_id}", headers=admin).json()["paused"] is True
    run_for(scheduler, clock, 600)
    assert instants(scheduler) == ["12:00:10"]
    r = client.post(f"{BASE}/job/{job_id}/run", headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["jobExecutionNumber"] == 2


def test_resume_fires_once_for_the_missed_instants_with_fire_once_now(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every("0 * * ? * *"))
    scheduler = instance(services, clock, "a", lookahead=AHEAD)
    client.post(f"{BASE}/job/{job_id}/pause", headers=admin)
    run_for(scheduler, clock, 330)  # 12:05:30; 12:01 .. 12:05 missed
    r = client.post(f"{BASE}/job/{job_id}/resume", headers=admin)
    assert r.status_code == 200
    assert r.json()["paused"] is False
    run_for(scheduler, clock, 40)  # until 12:06:10
    assert instants(scheduler) == ["12:05:00", "12:06:00"]
    catch_up = scheduler.handoff.items[0]  # type: ignore[attr-defined]
    assert catch_up.messages == (
        "Fire times from 2026-01-14T12:01:00Z until 2026-01-14T12:05:00Z were missed while the "
        "job was paused; fired once for the latest on resume.",
    )
    assert (catch_up.window_from.minute, catch_up.window_to.minute) == (4, 5)


def test_resume_fires_none_of_the_missed_instants_with_do_nothing(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every("0 * * ? * *", misfirePolicy="doNothing"))
    scheduler = instance(services, clock, "a", lookahead=AHEAD)
    client.post(f"{BASE}/job/{job_id}/pause", headers=admin)
    run_for(scheduler, clock, 330)
    client.post(f"{BASE}/job/{job_id}/resume", headers=admin)
    run_for(scheduler, clock, 40)
    assert instants(scheduler) == ["12:06:00"]


def test_pause_and_resume_of_an_unknown_job_are_404s_and_need_admin(
    client: TestClient, admin: dict[str, str], reader: dict[str, str], world: World
) -> None:
    job_id = make_job(client, admin, world, **every("0 * * ? * *"))
    for action in ("pause", "resume"):
        r = client.post(f"{BASE}/job/77777/{action}", headers=admin)
        assert r.status_code == 404
        assert client.post(f"{BASE}/job/{job_id}/{action}", headers=reader).status_code == 403


# --- backfill -----------------------------------------------------------------------------------


def wait_for(condition: Any, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def backfill_until_done(
    client: TestClient, admin: dict[str, str], job_id: int, schedulers: list[Scheduler]
) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        for scheduler in schedulers:
            scheduler.tick()
        status = client.get(f"{BASE}/job/{job_id}/status", headers=admin).json()
        if status["backfill"]["state"] == "done":
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.005)


def test_backfill_of_a_day_gives_96_executions_with_their_windows_and_twice_adds_none(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every("0 */15 * ? * *", 900))
    clock.set(datetime(2026, 1, 16, 0, 0, 5, tzinfo=UTC))
    scheduler = Scheduler(services.db, clock, services.executor, lifecycle=services.lifecycle)
    span = {"from": "2026-01-14T00:00:00Z", "to": "2026-01-15T00:00:00Z"}
    r = client.post(f"{BASE}/job/{job_id}/backfill", json=span, headers=admin)
    assert r.status_code == 202, r.text
    assert r.json() == {"instants": 96, **span}
    status = backfill_until_done(client, admin, job_id, [scheduler])
    assert status["backfill"] == {
        **span, "instants": 96, "finished": 96, "running": 0, "skipped": 0, "state": "done",
    }  # fmt: skip
    runs = history(client, admin, job_id)
    backfilled = [r for r in runs if r["jobExecutionStatusMessage"][0].startswith("Backfill of")]
    assert len(backfilled) == 96
    expected = [datetime(2026, 1, 14, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(96)]
    firsts = [r["jobExecutionStatusMessage"][0] for r in backfilled]
    assert firsts == [f"Backfill of {t.strftime('%Y-%m-%dT%H:%M:%SZ')}." for t in expected]
    with services.db.read() as conn:
        from batchscore.store.job_lifecycle import executions_in

        stored = executions_in(conn, job_id, expected[0], expected[-1] + timedelta(minutes=15))
    assert [(e.window_from, e.window_to) for e in stored] == [
        (t - timedelta(minutes=15), t) for t in expected
    ]
    # no data in the windows: Warning for missing data only, not for the backfill note
    assert {r["jobExecutionStatus"] for r in backfilled} == {"Warning"}
    r = client.post(f"{BASE}/job/{job_id}/backfill", json=span, headers=admin)
    assert r.status_code == 202
    status = backfill_until_done(client, admin, job_id, [scheduler])
    assert (status["backfill"]["skipped"], status["backfill"]["finished"]) == (96, 0)
    assert len(history(client, admin, job_id)) == len(runs)


def test_backfill_refuses_bad_ranges_and_too_many_instants(
    client: TestClient, admin: dict[str, str], world: World, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every("* * * ? * *", 1))
    url = f"{BASE}/job/{job_id}/backfill"
    too_many = {"from": "2026-01-14T00:00:00Z", "to": "2026-01-14T03:00:00Z"}
    r = client.post(url, json=too_many, headers=admin)
    assert r.status_code == 400
    assert "10,000" in r.json()["errors"][0]
    r = client.post(url, json={"from": "2026-01-14T01:00:00Z", "to": "2026-01-14T00:00:00Z"},
                    headers=admin)  # fmt: skip
    assert r.json() == {"errors": ["from must lie before to."]}
    r = client.post(url, json={"from": "yesterday"}, headers=admin)
    assert r.status_code == 400
    assert len(r.json()["errors"]) == 2
    future = {"from": "2026-01-14T00:00:00Z", "to": "2027-01-14T00:00:00Z"}
    assert client.post(url, json=future, headers=admin).status_code == 400
    r = client.post(f"{BASE}/job/424242/backfill", json=too_many, headers=admin)
    assert r.status_code == 404


def test_backfill_runs_oldest_first_within_its_concurrency_and_cancels(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every("0 0 * ? * *", 3600))
    scheduler = Scheduler(
        services.db, clock, CollectingHandoff(services.lifecycle),
        lifecycle=services.lifecycle, backfill_concurrency=2,
    )  # fmt: skip
    span = {"from": "2026-01-13T00:00:00Z", "to": "2026-01-14T00:00:00Z"}
    assert (
        client.post(f"{BASE}/job/{job_id}/backfill", json=span, headers=admin).json()["instants"]
        == 24
    )
    scheduler.tick()
    scheduler.tick()  # nothing finished: still two
    items = scheduler.handoff.items  # type: ignore[attr-defined]
    assert [e.scheduled_at.hour for e in items] == [0, 1]
    services.executor.run(items[0])
    scheduler.tick()
    assert [e.scheduled_at.hour for e in items] == [0, 1, 2]
    again = client.post(f"{BASE}/job/{job_id}/backfill", json=span, headers=admin)
    assert again.status_code == 409
    assert "still running" in again.json()["errors"][0]
    r = client.delete(f"{BASE}/job/{job_id}/backfill", headers=admin)
    assert r.status_code == 200, r.text
    # the two started executions run to their end; no new one is created
    assert (r.json()["state"], r.json()["finished"], r.json()["running"]) == ("cancelling", 1, 2)
    scheduler.tick()
    assert len(items) == 3
    for execution in items[1:]:
        assert services.executor.run(execution) is ExecutionStatus.WARNING
    status = client.get(f"{BASE}/job/{job_id}/status", headers=admin).json()
    assert (status["backfill"]["state"], status["backfill"]["finished"]) == ("cancelled", 3)
    assert len(history(client, admin, job_id)) == 3


# --- several instances (meaningful on PostgreSQL, correct on both) ------------------------------


def test_two_instances_hold_pause_edit_and_backfill(
    client: TestClient, admin: dict[str, str], world: World, services: Services, clock: FakeClock
) -> None:
    job_id = make_job(client, admin, world, **every("0/10 * * ? * *", 10))
    a = instance(services, clock, "a", lookahead=AHEAD)
    b = instance(services, clock, "b", lookahead=AHEAD)
    errors: list[BaseException] = []

    def tick_both(seconds: int) -> None:
        for _ in range(seconds):
            clock.advance(1)
            threads = [threading.Thread(target=_tick, args=(s, errors)) for s in (a, b)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert errors == []

    tick_both(28)  # 12:00:10 and 12:00:20 fire; 12:00:30 is claimed ahead
    assert client.post(f"{BASE}/job/{job_id}/pause", headers=admin).status_code == 200
    tick_both(60)
    fired = sorted(instants(a) + instants(b))
    assert fired == ["12:00:10", "12:00:20"]
    body = periodic_job(world, jobSchedule=every("5/30 * * ? * *", 30))
    assert client.put(f"{BASE}/job/{job_id}", json=body, headers=admin).json()["paused"] is True
    client.post(f"{BASE}/job/{job_id}/resume", headers=admin)  # 12:01:28, nothing missed
    tick_both(60)  # until 12:02:28
    fired = sorted(instants(a) + instants(b))
    assert fired == ["12:00:10", "12:00:20", "12:01:35", "12:02:05"]
    span = {"from": "2026-01-14T11:00:00Z", "to": "2026-01-14T11:05:00Z"}
    assert (
        client.post(f"{BASE}/job/{job_id}/backfill", json=span, headers=admin).json()["instants"]
        == 10
    )
    for _ in range(12):
        tick_both(1)
        for scheduler in (a, b):
            for execution in scheduler.handoff.items:  # type: ignore[attr-defined]
                if execution.messages[:1] and execution.messages[0].startswith("Backfill"):
                    scheduler.lifecycle.finish(execution, ExecutionStatus.SUCCESS,
                                               execution.messages, 0)  # fmt: skip
    backfilled = [
        e.scheduled_at
        for s in (a, b)
        for e in s.handoff.items  # type: ignore[attr-defined]
        if e.scheduled_at.hour == 11
    ]
    assert len(backfilled) == len(set(backfilled)) == 10
    status = client.get(f"{BASE}/job/{job_id}/status", headers=admin).json()
    assert status["backfill"]["finished"] == 10


def _tick(scheduler: Scheduler, errors: list[BaseException]) -> None:
    try:
        scheduler.tick()
    except BaseException as exc:
        errors.append(exc)


# --- command line ------------------------------------------------------------------------------


def test_cli_pauses_resumes_and_backfills_with_a_progress_bar(
    client: TestClient, admin: dict[str, str], world: World, services: Services
) -> None:
    from typer.testing import CliRunner

    from batchscore.cli import app

    job_id = make_job(client, admin, world, **every("0 0 * ? * *", 3600))
    url = services.db.engine.url.render_as_string(hide_password=False)
    env = {"BATCHSCORE_DATABASE_URL": url, "COLUMNS": "120", "BATCHSCORE_PASSWORD_PROFILE": "fast"}
    runner = CliRunner()
    paused = runner.invoke(app, ["job", "pause", str(job_id), "--tenant", "t1"], env=env)
    assert paused.exit_code == 0, paused.output
    assert '"paused": true' in paused.stdout
    resumed = runner.invoke(app, ["job", "resume", str(job_id), "--tenant", "t1"], env=env)
    assert '"paused": false' in resumed.stdout
    args = ["job", "backfill", str(job_id), "--tenant", "t1"]
    span = ["--from", "2026-01-13T00:00:00Z", "--to", "2026-01-13T03:00:00Z"]
    result = runner.invoke(app, [*args, *span], env=env)
    assert result.exit_code == 0, result.output
    assert '"instants": 3' in result.stdout
    assert '"state": "done"' in result.stdout
    assert '"finished": 3' in result.stdout
    assert len(history(client, admin, job_id)) == 3
    unknown = runner.invoke(app, ["job", "pause", "424242", "--tenant", "t1"], env=env)
    assert unknown.exit_code == 1


# --- console -------------------------------------------------------------------------------------


def console_token(client: TestClient) -> str:
    import re

    from tests.integration.test_console_csrf import sign_in

    sign_in(client)
    page = client.get("/")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_console_edits_pauses_duplicates_and_backfills_a_job(
    client: TestClient, admin: dict[str, str], world: World, clock: FakeClock
) -> None:
    schedule = every("0 */15 * ? * *", 900, misfirePolicy="doNothing")
    job_id = make_job(client, admin, world, **schedule)
    token = console_token(client)
    listing = client.get("/").text
    for control in ("pause-row", "edit-row", "duplicate-row", "backfill-row"):
        assert f'id="{control}-{job_id}"' in listing
    form = client.get(f"/jobs/{job_id}/edit").text
    assert 'value="0 */15 * ? * *"' in form
    assert f'action="/jobs/{job_id}/edit"' in form
    assert "Save job" in form
    fields = {
        "csrf_token": token, "jobName": "Edited in the console", "jobDescription": "",
        "associatedModel": world.model, "associatedGroupOrDeviceId": str(world.group),
        "frequency": "periodic", "cronExpression": "0 0 * ? * *", "timeZone": "UTC",
        "dataFromPreviousNSeconds": "3600",
        **{f"map.{k}": v for k, v in CANONICAL.items()},
    }  # fmt: skip
    r = client.post(f"/jobs/{job_id}/edit", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    job = client.get(f"{BASE}/job/{job_id}", headers=admin).json()
    assert (job["jobName"], job["jobSchedule"]["cronExpression"]) == (
        "Edited in the console",
        "0 0 * ? * *",
    )
    assert job["jobSchedule"]["misfirePolicy"] == "doNothing"  # kept: the form has no control
    bad = client.post(f"/jobs/{job_id}/edit", data={**fields, "cronExpression": "nope"})
    assert bad.status_code == 200
    assert "The job was not saved." in bad.text
    r = client.post(f"/jobs/{job_id}/pause", data={"csrf_token": token}, follow_redirects=False)
    assert r.headers["location"] == f"/jobs/{job_id}?done=paused"
    page = client.get(f"/jobs/{job_id}").text
    assert 'id="paused-flag"' in page
    assert f'id="resume-page-{job_id}"' in page
    client.post(f"/jobs/{job_id}/resume", data={"csrf_token": token, "from": "row"})
    assert client.get(f"{BASE}/job/{job_id}", headers=admin).json()["paused"] is False
    copy = client.get(f"/jobs/{job_id}/duplicate").text
    assert 'value="Copy of Edited in the console"' in copy
    assert 'action="/jobs/new"' in copy
    count = client.get(
        f"/jobs/{job_id}/backfill/count",
        params={"from": "2026-01-13T00:00", "to": "2026-01-14T00:00"},
    )
    assert "24 instants of the schedule in this range." in count.text
    refused = client.post(
        f"/jobs/{job_id}/backfill",
        data={"csrf_token": token, "from": "2026-01-14T00:00", "to": "2026-02-14T00:00"},
    )
    assert refused.status_code == 400
    assert "must not lie in the future" in refused.text
    r = client.post(
        f"/jobs/{job_id}/backfill",
        data={"csrf_token": token, "from": "2026-01-13T00:00", "to": "2026-01-14T00:00"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    status = client.get(f"{BASE}/job/{job_id}/status", headers=admin).json()
    assert (status["backfill"]["instants"], status["backfill"]["state"]) == (24, "running")
    assert "Cancel backfill" in client.get(f"/jobs/{job_id}/backfill").text
    client.post(f"/jobs/{job_id}/backfill/cancel", data={"csrf_token": token})
    status = client.get(f"{BASE}/job/{job_id}/status", headers=admin).json()
    assert status["backfill"]["state"] == "cancelled"
