"""Acting on results in the console (issue 21): a rule defined in the new-job form, with the
model's outputs offered and the alarm text previewed as it is typed, lands in the job's
`actions`; an execution of the job lists its effects with their status; each page passes axe."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import audit, eventually, run_job, sign_in
from tests.integration.live_server import LiveServer

pytestmark = pytest.mark.slow


def test_a_rule_from_the_form_raises_alarms_listed_with_the_execution(
    page: Page, server: LiveServer, api: httpx.Client
) -> None:
    sign_in(page, server.user, server.password)
    page.goto("/jobs/new?model=DemoIsolationForest&target=1")
    expect(page.locator("#mapping").get_by_label("gyroX")).to_have_value(
        "c8y_Gyroscope.gyroX.value"
    )
    rule = page.locator("#rule")
    # the output picker offers the model's outputs
    offered = page.locator("#model-outputs option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert "outlier" in offered, offered

    page.get_by_label("Name", exact=True).fill("Actions: every outlier")
    page.get_by_label(re.compile("^Cron expression")).fill("0 0 0 1 1 ? 2099")
    page.get_by_label("Time zone", exact=True).fill("UTC")
    page.get_by_label("Data window (seconds before each fire time)").fill("3600")
    rule.get_by_label("Output").fill("outlier")
    rule.get_by_label("Test").select_option("equals")
    rule.get_by_label("Value").fill("true")
    rule.get_by_label("At least (records per device)").fill("1")
    rule.get_by_label("Rule name").fill("any-outlier")
    rule.get_by_label("Alarm type").fill("bs_BrowserOutlier")
    rule.get_by_label("Severity").select_option("MINOR")

    # the preview follows the text; an unknown field is named
    text = rule.get_by_label("Alarm text")
    text.fill("{count} outliers on {bogus}")
    expect(page.locator("#rule-preview")).to_contain_text("{bogus}")
    text.fill("{count} outliers of {deviceName}")
    expect(page.locator("#rule-preview")).to_have_text(re.compile(r"^Preview: \d+ outliers of "))
    audit(page, "new job with a rule, previewed")

    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Actions: every outlier")
    jobs = [j for j in api.get("/jobs").json() if j["jobName"] == "Actions: every outlier"]
    assert len(jobs) == 1
    job_id = int(jobs[0]["jobId"])
    assert api.get(f"/job/{job_id}").json()["actions"] == [
        {
            "name": "any-outlier",
            "when": {"output": "outlier", "equals": True, "atLeast": 1},
            "raise": [
                {
                    "alarm": {
                        "type": "bs_BrowserOutlier",
                        "text": "{count} outliers of {deviceName}",
                        "severity": "MINOR",
                    }
                }
            ],
            "clearWhenNormal": False,
        }
    ]

    # an execution over the demo line's last hour: its effects are delivered and listed
    number = run_job(api, job_id)

    def delivered() -> bool:
        effects = api.get(f"/job/{job_id}/history/{number}/actions").json()
        return bool(effects) and all(e["status"] == "delivered" for e in effects)

    eventually(delivered, "the execution's effects delivered", timeout=30)
    effects = api.get(f"/job/{job_id}/history/{number}/actions").json()
    assert {e["kind"] for e in effects} == {"alarm"}
    alarms = httpx.get(
        f"{server.base_url}/alarm/alarms",
        params={"type": "bs_BrowserOutlier", "pageSize": 100},
        auth=server.auth,
        timeout=30,
    ).json()["alarms"]
    assert sorted(int(a["source"]["id"]) for a in alarms) == sorted(
        int(e["deviceId"]) for e in effects
    )
    assert all(a["severity"] == "MINOR" and a["count"] == 1 for a in alarms)
    page.goto(f"/jobs/{job_id}/executions/{number}")
    table = page.locator("#effects")
    expect(table.get_by_role("heading")).to_have_text("Actions")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(effects))
    expect(rows.first).to_contain_text("any-outlier")
    expect(rows.first).to_contain_text("delivered")
    audit(page, "execution with its effects")
