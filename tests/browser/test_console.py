"""The web console end to end in headless Chromium against a live `batchscore serve`:
upload a model, create a periodic job with a mapping, run it, read its execution, and check
what a read-only user sees. Any browser console error fails the test (see conftest), and axe
audits every state visited."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    DEMO_JOB,
    READER,
    READER_PASSWORD,
    allow_console_error,
    audit,
    overflow,
    sign_in,
)
from tests.conftest import IFOREST_CASE
from tests.integration.live_server import LiveServer

pytestmark = pytest.mark.slow

IFOREST = IFOREST_CASE / "model.pmml"
MODEL = "iforest_plain"
JOB = "Console: line anomalies"


def test_pages_need_a_session_and_health_stays_open(page: Page, server: LiveServer) -> None:
    for path in ("/", "/models", "/devices", "/jobs/new", "/jobs/1"):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/login"))
    assert httpx.get(f"{server.base_url}/health").status_code == 200
    api = httpx.get(f"{server.base_url}/service/zementis/jobs")
    assert api.status_code == 401
    assert api.headers["www-authenticate"].startswith("Basic")
    audit(page, "sign-in form")
    page.get_by_label("User").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    audit(page, "sign-in refused")


def test_admin_uploads_a_model_creates_and_runs_a_job(page: Page, server: LiveServer) -> None:
    sign_in(page, server.user, server.password)
    cookie = next(c for c in page.context.cookies() if c["name"] == "batchscore_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert cookie["expires"] > 0

    # Upload the IsolationForest; the model card lists its inputs and outputs.
    page.get_by_role("link", name="Models").click()
    page.get_by_label("Model file").set_input_files(
        files=[{"name": f"{MODEL}.pmml", "mimeType": "application/xml",
                "buffer": IFOREST.read_bytes()}]
    )  # fmt: skip
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text(f"Model “{MODEL}” uploaded.")
    card = page.locator("section.model", has=page.get_by_role("heading", name=MODEL))
    expect(card.get_by_role("cell", name="gyroZ", exact=True)).to_be_visible()
    expect(card.get_by_role("cell", name="outlier", exact=True)).to_be_visible()
    expect(card).to_contain_text("No job uses this model.")
    audit(page, "models after an upload")

    # Create a periodic job: the mapping table offers the target's series, the cron field
    # answers in words with the next fire times, and errors land next to their fields.
    card.get_by_role("link", name="New job with this model").click()
    page.get_by_label("Name", exact=True).fill(JOB)
    page.get_by_label("Device or group").select_option(label="Demo line (#1)")
    mapping = page.locator("#mapping")
    expect(mapping.get_by_label("gyroZ")).to_have_value("c8y_Gyroscope.gyroZ.value")
    expect(mapping.get_by_label("accelerationX")).to_have_value(
        "c8y_Acceleration.accelerationX.value"
    )
    page.get_by_label("Time zone", exact=True).fill("Asia/Kolkata")
    page.get_by_label("Data window").fill("3600")
    cron = page.get_by_label("Cron expression")
    cron.fill("0 0 25 ? * MON-FRI")
    expect(page.locator("#err-cronExpression")).to_have_text("Hours value 25 is out of range 0-23.")
    expect(cron).to_have_attribute("aria-invalid", "true")
    audit(page, "new job, live cron error")
    page.get_by_role("button", name="Create job").click()
    expect(page.locator("#err-cronExpression")).to_have_text("Hours value 25 is out of range 0-23.")
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(cron).to_be_focused()
    expect(page.locator("#mapping").get_by_label("gyroZ")).to_have_value(
        "c8y_Gyroscope.gyroZ.value"
    )
    audit(page, "new job, refused")
    cron.fill("0 0 5 ? * MON-FRI")
    preview = page.locator("#schedule-preview")
    expect(preview).to_contain_text("At 05:00, Monday through Friday")
    expect(page.locator("#err-cronExpression")).to_be_empty()
    expect(cron).not_to_have_attribute("aria-invalid", "true")
    expect(preview.locator("li")).to_have_count(5)
    # Shown in the viewer's zone (Berlin: 00:30), the job's zone as a hint.
    expect(preview.locator("li").first).to_contain_text("00:30:00 CET")
    expect(preview.locator("li").first).to_contain_text("05:00:00 IST, Asia/Kolkata")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(JOB)
    expect(page.get_by_role("status")).to_have_text("Job created.")
    fires = page.locator("#job-fires li")
    expect(fires).to_have_count(5)
    expect(fires.first).to_contain_text("00:30:00 CET")
    expect(fires.first).to_contain_text("05:00:00 IST, Asia/Kolkata")
    audit(page, "job just created")

    # Run it now: the execution page refreshes itself until the run has finished.
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+/executions/1$"))
    expect(page.locator("#run-status .status")).to_have_text(
        re.compile("Success|Warning"), timeout=30_000
    )
    expect(page.locator("#charts figure.chart canvas").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.endswith("-inferences.csv")
    audit(page, "execution of the new job")

    # The jobs list: schedule in words with its zone, last status and run.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    row = page.get_by_role("row", name=re.compile(JOB))
    expect(row).to_contain_text("At 05:00, Monday through Friday")
    expect(row).to_contain_text("Asia/Kolkata")
    expect(row.locator(".c-lastrun")).to_contain_text(re.compile(r"\d+ s ago"))
    page.get_by_label("Filter").fill("Console: line")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=Console"))
    audit(page, "jobs list, filtered")


def test_read_only_user_sees_no_write_controls(page: Page, server: LiveServer) -> None:
    sign_in(page, READER, READER_PASSWORD)
    expect(page.locator(".who")).to_contain_text("read-only")
    expect(page.get_by_role("link", name="New job")).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Actions")).to_have_count(0)
    audit(page, "jobs list, read-only")
    page.get_by_role("link", name=DEMO_JOB).click()
    expect(page.get_by_role("heading", name="Next fire times")).to_be_visible()
    for name in ("Run now", "Delete…"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    audit(page, "job, read-only")
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_label("Model file")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Activate|Deactivate"))).to_have_count(0)
    audit(page, "models, read-only")
    page.get_by_role("link", name="Devices").click()
    expect(page.get_by_role("heading", name="Demo pump 1")).to_be_visible()
    expect(page.get_by_role("cell", name="c8y_Gyroscope.gyroX").first).to_be_visible()
    audit(page, "devices")

    # The server refuses anyway: the console's POST and the API both need the admin role.
    csrf = page.locator("form[action='/logout'] input[name=csrf_token]").get_attribute("value")
    refused = page.request.post("/jobs/1/run", form={"csrf_token": csrf or ""})
    assert refused.status == 403
    api = httpx.post(
        f"{server.base_url}/service/zementis/job/1/run",
        auth=(READER, READER_PASSWORD),
    )
    assert api.status_code == 403


def test_forms_without_the_csrf_token_are_refused(page: Page, server: LiveServer) -> None:
    sign_in(page, server.user, server.password)
    refused = page.request.post("/jobs/1/delete", form={"csrf_token": "forged"})
    assert refused.status == 403
    page.goto("/jobs/1")
    expect(page.get_by_role("heading", level=1)).to_contain_text(DEMO_JOB)
    allow_console_error(page, "status of 404")
    page.goto("/jobs/99999")
    expect(page.get_by_role("alert")).to_contain_text("Zementis job ID '99999' not found.")
    audit(page, "error page")


def test_keyboard_and_narrow_screen(page: Page, server: LiveServer) -> None:
    sign_in(page, server.user, server.password)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="New job")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/jobs/new$"))
    page.set_viewport_size({"width": 320, "height": 740})
    for path in ("/", "/jobs/1", "/jobs/new", "/models", "/devices"):
        page.goto(path)
        assert overflow(page) <= 1, path
