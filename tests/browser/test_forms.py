"""The job form and the models page say what they mean: errors once, in words, next to their
field, with focus on the first; unmapped inputs marked; a past "Run at" noticed; inactive models
marked; and every model action tells what it does to the jobs using the model."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from batchscore.testing import regression_pmml
from tests.browser.conftest import audit, create_job, job_body, sign_in
from tests.integration.live_server import LiveServer

pytestmark = pytest.mark.slow

API_NAMES = ("jobName", "cronExpression", "modelToDeviceMappings", "timeZone", "associated")


def start_form(page: Page, server: LiveServer) -> None:
    sign_in(page, server.user, server.password)
    page.goto("/jobs/new?model=DemoIsolationForest&target=1")
    expect(page.locator("#mapping").get_by_label("gyroX")).to_have_value(
        "c8y_Gyroscope.gyroX.value"
    )


def error_texts(page: Page) -> list[str]:
    return page.locator("p.error").all_inner_texts()


def test_errors_once_in_words_at_their_fields_with_focus_on_the_first(
    page: Page, server: LiveServer
) -> None:
    start_form(page, server)
    mapping = page.locator("#mapping")
    gyro = mapping.get_by_label("gyroX")
    shown_notes = mapping.locator(".unmapped-note:visible")
    expect(shown_notes).to_have_count(0)
    gyro.select_option("")
    row = mapping.get_by_role("row", name=re.compile("gyroX"))
    expect(row.locator(".unmapped-note")).to_have_text("not mapped: required")
    expect(row.locator(".unmapped-note")).to_be_visible()
    expect(shown_notes).to_have_count(1)
    page.get_by_label("Time zone", exact=True).fill("Mars/Olympus")
    audit(page, "new job, an input unmapped, an unknown zone typed")

    # Empty name, unknown zone: the service refuses; each message once, next to its field.
    page.get_by_role("button", name="Create job").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("The job was not created.")
    expect(summary.get_by_role("link")).to_have_text(["Name", "Time zone"])
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    expect(page.locator("#err-jobName")).to_have_text("Name must not be empty.")
    expect(page.locator("#err-timeZone")).to_have_text(
        "Time zone 'Mars/Olympus' is not a known IANA time zone."
    )
    texts = error_texts(page)
    assert sorted(texts) == sorted(set(texts)), texts
    assert not [t for t in texts if any(name in t for name in API_NAMES)], texts
    expect(page.get_by_text("Mars/Olympus' is not a known")).to_have_count(1)
    audit(page, "new job, refused for name and zone")

    # The name given, the zone fixed: now the unmapped required input is the problem.
    summary.get_by_role("link", name="Time zone").click()
    expect(page.get_by_label("Time zone", exact=True)).to_be_focused()
    page.get_by_label("Time zone", exact=True).fill("UTC")
    expect(page.locator("#err-timeZone")).to_be_empty()
    page.get_by_label("Name", exact=True).fill("Forms: refused mapping")
    page.get_by_role("button", name="Create job").click()
    gyro = page.locator("#mapping").get_by_label("gyroX")
    expect(gyro).to_be_focused()
    expect(gyro).to_have_attribute("aria-invalid", "true")
    row = page.locator("#mapping").get_by_role("row", name=re.compile("gyroX"))
    expect(row.locator(".error")).to_have_text(
        "The model input 'gyroX' is required but not mapped."
    )
    expect(page.get_by_text("is required but not mapped")).to_have_count(1)
    expect(page.get_by_role("alert").get_by_role("link")).to_have_text(["Mapping"])
    audit(page, "new job, refused for a mapping")


def test_a_run_at_in_the_past_is_noticed(page: Page, server: LiveServer) -> None:
    start_form(page, server)
    page.get_by_label("Name", exact=True).fill("Forms: once, in the past")
    page.get_by_label("Once").check()
    page.get_by_label("Run at").fill("2020-01-01T08:00:00")
    note = page.locator("#run-at-note")
    expect(note).to_contain_text("This time has passed")
    expect(note).to_contain_text("the job will run as soon as it is created")
    page.get_by_label("Data from").fill("2020-01-01T07:00:00")
    page.get_by_label("Data to").fill("2020-01-01T08:00:00")
    audit(page, "new job, once, run-at passed")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Forms: once, in the past")
    expect(page.get_by_role("status")).to_have_text(
        "Job created. Its run-at time had already passed, so it runs now."
    )


def test_model_actions_say_what_they_do_to_the_jobs_using_it(
    page: Page, server: LiveServer, api: httpx.Client
) -> None:
    model = "FormsSpareModel"
    r = api.post(
        "/model",
        content=regression_pmml(model, ["gyroX", "gyroY"]),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    body = job_body("Forms: spare model job")
    body.update(
        associatedModel=model,
        modelToDeviceMappings={
            "gyroX": "c8y_Gyroscope.gyroX.value",
            "gyroY": "c8y_Gyroscope.gyroY.value",
        },
    )
    job = create_job(api, body)
    sign_in(page, server.user, server.password)
    page.goto("/models")
    card = page.locator("section.model", has=page.get_by_role("heading", name=model))
    expect(card.locator(".used-by")).to_contain_text("Used by 1 job: Forms: spare model job")

    card.get_by_role("button", name="Deactivate").click()
    notice = page.get_by_role("status")
    expect(notice).to_have_text(
        f"Model “{model}” deactivated: the executions of 1 job using it "
        "(“Forms: spare model job”) fail until it is activated again."
    )
    audit(page, "models, one deactivated")

    page.goto("/jobs/new")
    picker = page.get_by_label("Model", exact=True)
    expect(picker.locator("option", has_text=model)).to_have_text(f"{model} (inactive)")
    picker.select_option(model)
    expect(page.locator("#model-inactive")).to_contain_text("This model is inactive")
    audit(page, "new job, an inactive model chosen")
    page.goto(f"/jobs/{job}")
    expect(page.locator("#model-flag")).to_contain_text("is inactive")

    page.goto("/models")
    card.get_by_role("button", name="Activate").click()
    expect(notice).to_contain_text(f"Model “{model}” activated: 1 job")

    card.get_by_role("link", name="Delete…").click()
    expect(page.locator("#confirm-question")).to_contain_text("1 job uses it")
    expect(page.locator(".affected").get_by_role("link")).to_have_text(["Forms: spare model job"])
    audit(page, "model delete confirmation naming its job")
    page.get_by_role("button", name="Delete model").click()
    expect(notice).to_contain_text(
        f"Model “{model}” deleted. 1 job (“Forms: spare model job”) still name it"
    )

    # The job is flagged in the list and on its page.
    page.goto("/?q=Forms%3A+spare")
    row = page.locator(f"#job-row-{job}")
    expect(row.locator(".flag")).to_have_text("model deleted")
    audit(page, "jobs list, a job's model deleted")
    page.goto(f"/jobs/{job}")
    expect(page.locator("#model-flag")).to_contain_text(f"The model “{model}” no longer exists")
    audit(page, "job whose model was deleted")
