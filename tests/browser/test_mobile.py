"""The console on a phone (390x844): every page fits the screen without sideways scrolling,
the jobs list shows each job's status, axe finds nothing, and each page's screenshot goes to
docs/screenshots/mobile-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import MOBILE, audit, overflow, shoot, sign_in
from tests.integration.live_server import LiveServer

pytestmark = pytest.mark.slow


def fits(page: Page, name: str) -> None:
    assert overflow(page) <= 1, f"{name} is {overflow(page)} px wider than the screen"
    audit(page, name)
    shoot(page, f"mobile-{name}")


def test_every_page_fits_a_phone(
    mobile: Page, server: LiveServer, hour_run: tuple[int, int], many_jobs: list[int]
) -> None:
    page = mobile
    page.goto("/login")
    fits(page, "login")
    sign_in(page, server.user, server.password)

    # The jobs list keeps each row's status on screen.
    rows = page.locator("#jobs-table tbody tr")
    expect(rows).to_have_count(25)
    for box in rows.locator("td.c-status .status").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().toJSON())"
    ):
        assert box["width"] > 0
        assert box["right"] <= MOBILE["width"]
    expect(page.locator("td.c-model").first).to_be_hidden()
    fits(page, "jobs")

    page.goto("/jobs/1")
    expect(page.get_by_role("heading", name="Next fire times")).to_be_visible()
    fits(page, "job")

    job, number = hour_run
    page.goto(f"/jobs/{job}/executions/{number}")
    expect(page.locator("#charts figure.chart canvas").first).to_be_visible()
    fits(page, "execution")
    page.locator("#charts").scroll_into_view_if_needed()
    shoot(page, "mobile-execution-charts")

    page.goto("/jobs/new?model=DemoIsolationForest&target=1")
    expect(page.locator("#mapping").get_by_label("gyroZ")).to_have_value(
        "c8y_Gyroscope.gyroZ.value"
    )
    fits(page, "new-job")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("alert")).to_contain_text("The job was not created.")
    fits(page, "new-job-errors")

    page.goto("/models")
    fits(page, "models")
    page.get_by_role("link", name="Delete…").first.click()
    expect(page).to_have_url(re.compile(r"/models/delete\?name="))
    fits(page, "model-delete")

    page.goto("/devices")
    fits(page, "devices")
