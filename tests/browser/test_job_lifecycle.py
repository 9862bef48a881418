"""A job's lifecycle in the console: edit (the form pre-filled), pause and resume, duplicate,
and a backfill whose range picker says how many instants it holds; each page passes axe."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import audit, create_job, job_body, sign_in
from tests.integration.live_server import LiveServer

pytestmark = pytest.mark.slow


def test_edit_pause_resume_duplicate_and_backfill_a_job(
    page: Page, server: LiveServer, api: httpx.Client
) -> None:
    job_id = create_job(
        api,
        job_body(
            "Lifecycle: hourly",
            frequency="periodic",
            cronExpression="0 0 * ? * *",
            timeZone="UTC",
            dataFromPreviousNSeconds=3600,
        ),
    )
    sign_in(page, server.user, server.password)
    page.goto(f"/jobs/{job_id}")
    actions = page.locator(f"#actions-page-{job_id}")

    # Edit: the job's own definition in the form; saved, it applies from the next fire.
    actions.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit job Lifecycle: hourly")
    expect(page.get_by_label("Cron expression")).to_have_value("0 0 * ? * *")
    expect(page.locator("#mapping").get_by_label("gyroX")).to_have_value(
        "c8y_Gyroscope.gyroX.value"
    )
    audit(page, "edit job, pre-filled")
    page.get_by_label("Name", exact=True).fill("Lifecycle: half-hourly")
    page.get_by_label("Cron expression").fill("0 0/30 * ? * *")
    page.get_by_role("button", name="Save job").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lifecycle: half-hourly")
    expect(page.get_by_role("status")).to_contain_text("Job saved.")
    assert api.get(f"/job/{job_id}").json()["jobSchedule"]["cronExpression"] == "0 0/30 * ? * *"

    # Pause and resume, from the job's page.
    actions.get_by_role("button", name=re.compile("^Pause")).click()
    expect(page.locator("#paused-flag")).to_be_visible()
    audit(page, "job paused")
    assert api.get(f"/job/{job_id}").json()["paused"] is True
    actions.get_by_role("button", name=re.compile("^Resume")).click()
    expect(page.locator("#paused-flag")).to_have_count(0)
    assert api.get(f"/job/{job_id}").json()["paused"] is False

    # Duplicate: the new-job form with a copy.
    actions.get_by_role("link", name=re.compile("^Duplicate")).click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Copy of Lifecycle: half-hourly")
    expect(page.get_by_role("button", name="Create job")).to_be_visible()

    # Backfill: the picker counts the instants of the range as it is picked.
    page.goto(f"/jobs/{job_id}/backfill")
    page.get_by_label("From (UTC)").fill("2026-01-01T00:00:00")
    page.get_by_label("To (UTC)").fill("2026-01-02T00:00:00")
    expect(page.locator("#backfill-count")).to_have_text(
        "48 instants of the schedule in this range."
    )
    audit(page, "backfill, a day picked")
    page.get_by_role("button", name="Start backfill").click()
    expect(page.get_by_role("status")).to_contain_text("Backfill started.")
    status = api.get(f"/job/{job_id}/status").json()
    assert status["backfill"]["instants"] == 48
    page.goto(f"/jobs/{job_id}/backfill")
    if page.locator("#backfill-cancel").count():
        page.locator("#backfill-cancel").click()
        expect(page.get_by_role("status")).to_contain_text("Backfill")

    # The jobs list offers the same controls on the job's row.
    page.goto("/")
    row = page.locator(f"#actions-row-{job_id}")
    expect(row.get_by_role("link", name=re.compile("^Edit"))).to_be_visible()
    expect(row.get_by_role("button", name=re.compile("^Pause"))).to_be_visible()
