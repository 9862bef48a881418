"""Pages people keep open refresh themselves: the jobs list, a job and a running execution
show new executions without a reload, keeping focus, filter and scroll. The live server runs in
real time; its console refreshes every second here (BATCHSCORE_CONSOLE_REFRESH_S=1), and the
tests wait on what the page shows, with deadlines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from batchscore.domain.jobs import ExecutionStatus
from batchscore.store.db import Database
from batchscore.store.executions import (
    NewExecution,
    finish_execution,
    insert_executions,
    next_execution_number,
)
from tests.browser.conftest import audit, create_job, job_body, run_job, sign_in
from tests.integration.live_server import LiveServer

pytestmark = pytest.mark.slow


def keep_marker(page: Page) -> None:
    """Mark the document: the mark survives refreshes in place, not a reload."""
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def test_jobs_list_refreshes_keeping_focus_filter_and_scroll(
    page: Page, server: LiveServer, api: httpx.Client, many_jobs: list[int]
) -> None:
    sign_in(page, server.user, server.password)
    expect(page.get_by_role("navigation", name="Job pages")).to_contain_text("Page 1 of")
    link = page.locator("#job-link-1")
    link.focus()
    page.evaluate("window.scrollTo(0, 240)")
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0
    keep_marker(page)
    number = run_job(api, 1)
    expect(page.locator("#lastrun-1")).to_have_attribute(
        "href", f"/jobs/1/executions/{number}", timeout=10_000
    )
    expect(link).to_be_focused()
    assert page.evaluate("window.scrollY") == scrolled
    assert not_reloaded(page)

    # Typing a filter, then a refresh: the filter keeps its text, its focus and its rows.
    box = page.get_by_label("Filter")
    box.fill("Demo: vibration")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=Demo"))
    number = run_job(api, 1)
    expect(page.locator("#lastrun-1")).to_have_attribute(
        "href", f"/jobs/1/executions/{number}", timeout=10_000
    )
    expect(box).to_be_focused()
    expect(box).to_have_value("Demo: vibration")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    expect(page.locator("#lastrun-1")).to_have_text(re.compile(r"^\d+ s ago$"))
    assert not_reloaded(page)
    audit(page, "jobs list after refreshes")


def test_job_page_refreshes_its_status_and_history(
    page: Page, server: LiveServer, api: httpx.Client
) -> None:
    job = create_job(api, job_body("Live: job page"))
    sign_in(page, server.user, server.password)
    page.goto(f"/jobs/{job}")
    expect(page.get_by_text("No executions yet.")).to_be_visible()
    keep_marker(page)
    number = run_job(api, job)
    expect(page.locator(f"#run-link-{number}")).to_be_visible(timeout=10_000)
    expect(page.locator("#job-status .status")).to_have_text(re.compile("Success|Warning"))
    expect(page.locator("#job-lastrun")).to_have_text(f"#{number}")
    assert not_reloaded(page)
    audit(page, "job page after a refresh")


def test_a_running_execution_shows_its_end_without_a_reload(
    page: Page, server: LiveServer, api: httpx.Client, live_db: Database
) -> None:
    job = create_job(api, job_body("Live: held running"))
    now = datetime.now(UTC)  # the live server runs in real time
    with live_db.write() as conn:
        number = next_execution_number(conn, job)
        row = NewExecution(
            job, "default", number, now, now - timedelta(minutes=1), now,
            ExecutionStatus.RUNNING, [], now,
            lease_owner="browser-test", lease_until=now + timedelta(hours=1), is_group=True,
        )  # fmt: skip
        execution_id = insert_executions(conn, [row])[(job, number)]
    sign_in(page, server.user, server.password)

    # The jobs list shows it running, and its status filter finds it.
    page.goto("/?status=Running")
    row_of_job = page.locator(f"#job-row-{job}")
    expect(row_of_job.locator(".c-status")).to_contain_text("Running")
    audit(page, "jobs list, running filter")

    page.goto(f"/jobs/{job}/executions/{number}")
    expect(page.locator("#run-status .status")).to_have_text("Running")
    expect(page.locator("#run-status")).to_contain_text("this page updates when the execution ends")
    audit(page, "a running execution")
    keep_marker(page)
    with live_db.write() as conn:
        finish_execution(
            conn, execution_id, ExecutionStatus.FAILURE, ["Ended by the test."], datetime.now(UTC)
        )
    expect(page.locator("#run-status .status")).to_have_text("Failure", timeout=10_000)
    expect(page.get_by_text("Ended by the test.")).to_be_visible()
    assert not_reloaded(page)
