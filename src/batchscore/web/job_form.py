"""The create-job form to a POST /job body, and the API's messages back to form fields. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from batchscore.scheduling.schedules import zone_or_none

MAPPING_PREFIX = "map."
FIELDS = (
    "jobName",
    "jobDescription",
    "associatedModel",
    "associatedGroupOrDeviceId",
    "modelToDeviceMappings",
    "frequency",
    "cronExpression",
    "timeZone",
    "dataFromPreviousNSeconds",
    "scheduleAt",
    "dataFrom",
    "dataTo",
)
DEFAULTS = {
    "jobName": "",
    "jobDescription": "",
    "associatedModel": "",
    "associatedGroupOrDeviceId": "",
    "frequency": "periodic",
    "cronExpression": "0 0/5 * ? * *",
    "timeZone": "UTC",
    "dataFromPreviousNSeconds": "300",
    "scheduleAt": "",
    "dataFrom": "",
    "dataTo": "",
}
# Errors whose text names no field but whose meaning does.
MESSAGE_FIELDS = {
    "Model '": "associatedModel",
    "Device or group with id": "associatedGroupOrDeviceId",
    "jobSchedule": "frequency",
}


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The submitted text of each field (defaults for missing ones), stripped."""
    values = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = form.get(key)
        if isinstance(raw, str):
            values[key] = raw if key == "jobDescription" else raw.strip()
    return values


def form_mappings(form: Mapping[str, Any]) -> dict[str, str]:
    """Model input -> ``fragment.series.value`` for every row given a series."""
    return {
        key[len(MAPPING_PREFIX) :]: value.strip()
        for key, value in form.items()
        if key.startswith(MAPPING_PREFIX) and isinstance(value, str) and value.strip()
    }


def local_instant(text: str, zone_name: str) -> str | None:
    """A ``datetime-local`` value read in ``zone_name`` as ISO-8601 with its offset; text that
    already carries an offset passes through; unreadable text goes to the API as is."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if parsed.tzinfo is None:
        zone = zone_or_none(zone_name)
        if zone is None:
            return text
        parsed = parsed.replace(tzinfo=zone)
    return parsed.isoformat()


def job_body(values: Mapping[str, str], mappings: Mapping[str, str]) -> dict[str, Any]:
    """The JSON body the Jobs API takes, built from the form."""
    target: Any = values["associatedGroupOrDeviceId"]
    if target.isdigit() and len(target) < 19:
        target = int(target)
    schedule: dict[str, Any] = {"frequency": values["frequency"]}
    if values["frequency"] == "periodic":
        window: Any = values["dataFromPreviousNSeconds"]
        if window.isdigit() and len(window) < 19:
            window = int(window)
        schedule.update(
            cronExpression=values["cronExpression"],
            timeZone=values["timeZone"],
            dataFromPreviousNSeconds=window,
        )
    else:
        zone = values["timeZone"]
        schedule.update(
            scheduleAt=local_instant(values["scheduleAt"], zone),
            dataFrom=local_instant(values["dataFrom"], zone),
            dataTo=local_instant(values["dataTo"], zone),
        )
    return {
        "jobName": values["jobName"],
        "jobDescription": values["jobDescription"],
        "associatedModel": values["associatedModel"] or None,
        "associatedGroupOrDeviceId": target or None,
        "modelToDeviceMappings": dict(mappings),
        "jobSchedule": schedule,
    }


def errors_by_field(messages: Iterable[str]) -> dict[str, list[str]]:
    """Each message under the form field it names (``""`` for the form as a whole)."""
    out: dict[str, list[str]] = {}
    for message in messages:
        head = message.split(" ", 1)[0].rstrip(":.")
        field = head if head in FIELDS else ""
        if not field:
            field = next((f for p, f in MESSAGE_FIELDS.items() if message.startswith(p)), "")
        out.setdefault(field, []).append(message)
    return out
