"""The job form's rule (design §2.9): one rule on a model output raising an alarm, as form
fields, to the ``actions`` of the POST /job body, and its alarm text previewed. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchscore.domain.actions import render_template, template_problem
from batchscore.domain.documents import whole_number

PREFIX = "rule."
TESTS = (("equals", "equals"), ("greaterThan", "greater than"), ("lessThan", "less than"))
SEVERITIES = ("CRITICAL", "MAJOR", "MINOR", "WARNING")
RULE_DEFAULTS = {
    "name": "anomaly-alarm",
    "output": "",
    "test": "equals",
    "value": "true",
    "atLeast": "1",
    "alarmType": "bs_AnomalyDetected",
    "severity": "MAJOR",
    "text": "{count} anomalous records of {deviceName} in job {jobName}",
    "clear": "1",
}
SAMPLE = {
    "count": 12,
    "share": 0.2,
    "deviceId": 4711,
    "deviceName": "Pump 7",
    "jobId": 3,
    "jobName": "vibration",
    "jobExecutionNumber": 42,
    "windowFrom": "2026-01-14T10:00:00Z",
    "windowTo": "2026-01-14T10:01:00Z",
    "firstTime": "2026-01-14T10:00:07Z",
    "lastTime": "2026-01-14T10:00:51Z",
}
"""What the preview fills the text with."""


def rule_values(form: Mapping[str, Any], *, submitted: bool) -> dict[str, str]:
    """The rule's fields as submitted (an unticked ``clear`` box is absent), or the defaults."""
    values = dict(RULE_DEFAULTS)
    if not submitted:
        return values
    for key in RULE_DEFAULTS:
        raw = form.get(PREFIX + key)
        values[key] = raw.strip() if isinstance(raw, str) else ""
    return values


def rule_actions(values: Mapping[str, str]) -> list[dict[str, Any]] | None:
    """The ``actions`` of the body: one rule when an output is chosen, else none."""
    if not values.get("output"):
        return None
    at_least: Any = values["atLeast"]
    if (count := whole_number(at_least, 9)) is not None:
        at_least = count
    return [
        {
            "name": values["name"],
            "when": {"output": values["output"], values["test"]: _value(values["value"]),
                     "atLeast": at_least},
            "raise": [
                {
                    "alarm": {
                        "type": values["alarmType"],
                        "severity": values["severity"],
                        "text": values["text"],
                    }
                }
            ],
            "clearWhenNormal": values.get("clear") == "1",
        }
    ]  # fmt: skip


def _value(text: str) -> Any:
    """The test's value: true/false, a number, or the text itself."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text else number


def preview(text: str) -> tuple[str, str | None]:
    """The alarm text with sample values, or the problem of the template."""
    problem = template_problem(text)
    if problem is not None:
        return "", problem
    return render_template(text, SAMPLE), None
