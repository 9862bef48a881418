"""The web console end to end in headless Chromium against a live `batchscore serve`:
upload a model, create a periodic job with a mapping, run it, read its execution, and check
what a read-only user sees. Any browser console error fails the test (see conftest)."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import READER, READER_PASSWORD, SCREENSHOTS, sign_in
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
    page.goto("/login")
    page.get_by_label("User").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")


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

    # Create a periodic job: the mapping table offers the target's series, the cron field
    # answers in words with the next fire times, and the API's errors land next to fields.
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
    preview = page.locator("#schedule-preview")
    expect(preview.locator(".error")).to_contain_text("cronExpression")
    page.get_by_role("button", name="Create job").click()
    expect(page.locator("#err-cronExpression")).to_contain_text("cronExpression")
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#mapping").get_by_label("gyroZ")).to_have_value(
        "c8y_Gyroscope.gyroZ.value"
    )
    cron.fill("0 0 5 ? * MON-FRI")
    expect(preview).to_contain_text("At 05:00, Monday through Friday")
    expect(preview.locator("li")).to_have_count(5)
    expect(preview.locator("li").first).to_contain_text("05:00:00 IST")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(JOB)
    expect(page.locator("ol.fires li")).to_have_count(5)
    expect(page.locator("ol.fires li").first).to_contain_text("05:00:00 IST")

    # Run it now and open the execution: charts with points, paging through inferences.
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+/executions/1$"))
    expect(page.locator("#run-status .status")).to_have_text(
        re.compile("Success|Warning"), timeout=30_000
    )
    charts = page.locator("#charts figure.chart")
    expect(charts.first.locator("canvas")).to_be_visible()
    data = json.loads(page.locator("#chart-data").text_content() or "{}")
    assert data["flag"] == "outlier"
    names = [o["name"] for o in data["outputs"]]
    assert "decisionFunction" in names
    points = sum(len(d["t"]) for o in data["outputs"] for d in o["devices"])
    assert points > 1000
    expect(page.locator("figure.counts").first).to_contain_text("outlier")
    pager = page.get_by_role("navigation", name="Inference pages")
    expect(pager).to_contain_text(re.compile(r"Page 1 / [2-9]"))
    first_row = page.locator("table.inferences tbody tr").first.text_content()
    pager.get_by_role("link", name="Next").click()
    expect(page.get_by_role("navigation", name="Inference pages")).to_contain_text("Page 2 /")
    assert 0 < page.locator("table.inferences tbody tr").count() <= 2000
    assert page.locator("table.inferences tbody tr").first.text_content() != first_row
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.endswith("-inferences.csv")

    page.get_by_role("link", name="Previous").click()
    page.locator("#charts").scroll_into_view_if_needed()
    page.locator("main").screenshot(path=SCREENSHOTS / "execution.png")

    # The jobs list: schedule in words with its zone, last status with its messages.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    row = page.get_by_role("row", name=re.compile(JOB))
    expect(row).to_contain_text("At 05:00, Monday through Friday")
    expect(row).to_contain_text("Asia/Kolkata")
    page.get_by_label("Filter").fill("Console")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    page.get_by_label("Filter").fill("")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Demo: vibration anomalies").click()
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#run-status .status")).to_have_text(
        re.compile("Success|Warning"), timeout=30_000
    )
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    page.locator(".has-tip").first.focus()
    expect(page.locator(".tip").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "jobs.png")


def test_read_only_user_sees_no_write_controls(page: Page, server: LiveServer) -> None:
    sign_in(page, READER, READER_PASSWORD)
    expect(page.locator(".who")).to_contain_text("read-only")
    expect(page.get_by_role("link", name="New job")).to_have_count(0)
    page.get_by_role("link", name="Demo: vibration anomalies").click()
    expect(page.get_by_role("heading", name="Next fire times")).to_be_visible()
    for name in ("Run now", "Delete…"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_label("Model file")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Activate|Deactivate"))).to_have_count(0)
    page.get_by_role("link", name="Devices").click()
    expect(page.get_by_role("heading", name="Demo pump 1")).to_be_visible()
    expect(page.get_by_role("cell", name="c8y_Gyroscope.gyroX").first).to_be_visible()

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
    expect(page.get_by_role("heading", level=1)).to_contain_text("Demo: vibration anomalies")


def test_keyboard_and_narrow_screen(page: Page, server: LiveServer) -> None:
    sign_in(page, server.user, server.password)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="New job")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/jobs/new$"))
    page.set_viewport_size({"width": 375, "height": 740})
    for path in ("/", "/jobs/1", "/jobs/new", "/models", "/devices"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, overflow)
