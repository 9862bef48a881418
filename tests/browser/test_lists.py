"""Lists people read: jobs and a job's history come in pages with a status filter; every time
is shown one way, in the viewer's zone (the job's zone as a hint); "Next fire" sorts by the
instant; the timeline's ticks are large enough to hit; tooltips close on Escape."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from batchscore.domain.jobs import ExecutionStatus
from batchscore.store.db import Database
from batchscore.store.executions import NewExecution, finish_execution, insert_executions
from tests.browser.conftest import (
    DEMO_JOB,
    audit,
    create_job,
    job_body,
    run_job,
    shoot,
    sign_in,
    times_are_one_format_in_the_viewers_zone,
)
from tests.integration.live_server import LiveServer

pytestmark = pytest.mark.slow


def test_jobs_come_in_pages_with_a_status_filter(
    page: Page, server: LiveServer, many_jobs: list[int]
) -> None:
    sign_in(page, server.user, server.password)
    rows = page.locator("#jobs-table tbody tr")
    expect(rows).to_have_count(25)
    pager = page.get_by_role("navigation", name="Job pages")
    expect(pager).to_contain_text(re.compile(r"Page 1 of [2-9]"))
    expect(page.locator("#jobs-summary")).to_contain_text(re.compile(r"Jobs 1\u201325 of \d+\."))
    assert times_are_one_format_in_the_viewers_zone(page) >= 1
    audit(page, "jobs list, page 1")
    shoot(page, "jobs")
    pager.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#jobs-summary")).to_contain_text("Jobs 26\u2013")
    audit(page, "jobs list, page 2")

    page.get_by_label("Status").select_option("Pending")
    expect(page).to_have_url(re.compile(r"status=Pending"))
    expect(page.locator("#jobs-summary")).to_contain_text("matching")
    statuses = page.locator("#jobs-table tbody td.c-status")
    expect(statuses.first).to_contain_text("Pending")
    assert set(statuses.all_inner_texts()) == {"Pending"}
    audit(page, "jobs list, pending only")


def test_next_fire_sorts_by_the_instant_not_the_wall_clock(
    page: Page, server: LiveServer, api: httpx.Client
) -> None:
    # 12:30 in Kiritimati (UTC+14) is 22:30 UTC the day before; 12:00 in Pago Pago (UTC-11)
    # is 23:00 UTC: by wall clock Pago Pago comes first, by instant Kiritimati does.
    for name, cron, zone in (
        ("Sort: Pago Pago noon", "0 0 12 * * ?", "Pacific/Pago_Pago"),
        ("Sort: Kiritimati half past noon", "0 30 12 * * ?", "Pacific/Kiritimati"),
    ):
        body = job_body(name)
        body["jobSchedule"].update(cronExpression=cron, timeZone=zone)
        create_job(api, body)
    sign_in(page, server.user, server.password)
    page.goto("/?q=Sort%3A&sort=next")
    rows = page.locator("#jobs-table tbody tr")
    expect(rows).to_have_count(2)
    instants = rows.locator("td.c-next time").evaluate_all(
        "ts => ts.map(t => t.getAttribute('datetime'))"
    )
    shown = [datetime.fromisoformat(t) for t in instants]
    assert shown == sorted(shown)
    names = rows.locator("td.c-name a").all_inner_texts()
    if shown[1] - shown[0] < timedelta(hours=1):  # outside 22:30-23:00 UTC, the usual case
        assert names == ["Sort: Kiritimati half past noon", "Sort: Pago Pago noon"]
    assert times_are_one_format_in_the_viewers_zone(page) == 2


def write_history(db: Database, job: int, count: int) -> None:
    """``count`` finished executions of ``job`` a minute apart, statuses in turn."""
    now = datetime.now(UTC).replace(microsecond=0)
    statuses = [ExecutionStatus.SUCCESS, ExecutionStatus.WARNING, ExecutionStatus.FAILURE]
    with db.write() as conn:
        for number in range(1, count + 1):
            at = now - timedelta(minutes=count + 1 - number)
            row = NewExecution(
                job, "default", number, at, at - timedelta(minutes=1), at,
                ExecutionStatus.RUNNING, [], at, lease_owner="t", lease_until=now, is_group=True,
            )  # fmt: skip
            ids = insert_executions(conn, [row])
            finish_execution(
                conn, ids[(job, number)], statuses[number % 3], [f"Run {number}."], at, 0
            )
        conn.exec_driver_sql("UPDATE jobs SET execution_count = ? WHERE id = ?", (count, job))


def test_history_comes_in_pages_with_a_status_filter_and_a_timeline(
    page: Page, server: LiveServer, api: httpx.Client, live_db: Database
) -> None:
    job = create_job(api, job_body("History: thirty runs"))
    write_history(live_db, job, 30)
    sign_in(page, server.user, server.password)
    page.goto(f"/jobs/{job}")
    history = page.locator("#history")
    expect(history.get_by_role("heading")).to_contain_text("(30 executions)")
    table_rows = history.locator("table.history tbody tr")
    expect(table_rows).to_have_count(25)
    expect(table_rows.first.locator("td").first).to_have_text("#30")
    ticks = history.locator(".timeline a.tick")
    expect(ticks).to_have_count(25)
    for box in ticks.evaluate_all("ts => ts.map(t => t.getBoundingClientRect().toJSON())"):
        assert box["width"] >= 24
        assert box["height"] >= 24
    axis = history.locator(".axis time")
    expect(axis).to_have_count(2)
    assert times_are_one_format_in_the_viewers_zone(page) > 25
    audit(page, "job history, page 1")
    shoot(page, "job")

    pager = history.get_by_role("navigation", name="History pages")
    pager.get_by_role("link", name="Next").click()
    expect(table_rows).to_have_count(5)
    expect(table_rows.last.locator("td").first).to_have_text("#1")

    filters = history.get_by_role("navigation", name="Filter the history by status")
    expect(filters.get_by_role("link", name="Failure (10)")).to_be_visible()
    filters.get_by_role("link", name="Failure (10)").click()
    expect(page).to_have_url(re.compile(r"hstatus=Failure"))
    expect(table_rows).to_have_count(10)
    assert set(table_rows.locator("td:nth-child(3)").all_inner_texts()) == {"Failure"}
    expect(filters.get_by_role("link", name="Failure (10)")).to_have_attribute(
        "aria-current", "true"
    )
    audit(page, "job history, failures only")


def test_status_messages_tooltip_closes_on_escape(
    page: Page, server: LiveServer, api: httpx.Client
) -> None:
    run_job(api, 1)  # the demo's offline machine makes it a Warning with a message
    sign_in(page, server.user, server.password)
    page.get_by_label("Filter").fill(DEMO_JOB)
    status = page.locator("#status-1")
    tip = page.locator("#tip-1")
    status.focus()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("was not active")
    audit(page, "jobs list, status tooltip open")
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()
    expect(status).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    expect(status).to_be_focused()
    expect(tip).to_be_visible()
