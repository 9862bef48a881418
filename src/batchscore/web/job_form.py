"""The create-job form to a POST /job body, and the API's messages back to form fields. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from batchscore.domain.documents import whole_number
from batchscore.errors import field_of
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
# What the form calls each field of the API (messages are shown in these words).
LABELS = {
    "jobName": "Name",
    "jobDescription": "Description",
    "associatedModel": "Model",
    "associatedGroupOrDeviceId": "Device or group",
    "modelToDeviceMappings": "Mapping",
    "jobSchedule": "Schedule",
    "frequency": "Frequency",
    "timeZone": "Time zone",
    "cronExpression": "Cron expression",
    "dataFromPreviousNSeconds": "Data window",
    "scheduleAt": "Run at",
    "dataFrom": "Data from",
    "dataTo": "Data to",
}
# The form's controls in page order, for moving focus to the first one in error.
CONTROL_ORDER = (
    "jobName",
    "jobDescription",
    "associatedModel",
    "associatedGroupOrDeviceId",
    "modelToDeviceMappings",
    "jobSchedule",
    "frequency",
    "timeZone",
    "cronExpression",
    "dataFromPreviousNSeconds",
    "scheduleAt",
    "dataFrom",
    "dataTo",
)
_NAMES = re.compile(r"\b(" + "|".join(LABELS) + r")\b")


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
    if (number := whole_number(target)) is not None:
        target = number
    schedule: dict[str, Any] = {"frequency": values["frequency"]}
    if values["frequency"] == "periodic":
        window: Any = values["dataFromPreviousNSeconds"]
        if (seconds := whole_number(window)) is not None:
            window = seconds
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


def in_words(message: str, field: str) -> str:
    """A message of the API for people: shown next to its field, without the field's API
    name as a prefix, and with the API's field names in the form's words."""
    text = message
    if field and text.startswith(field + ": "):
        text = text[len(field) + 2 :]

    def label(match: re.Match[str]) -> str:
        word = LABELS[match.group(1)]
        return word if match.start() == 0 else word[0].lower() + word[1:]

    text = _NAMES.sub(label, text).strip()
    if not text:
        return message
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


@dataclass(frozen=True)
class FormErrors:
    """The service's messages placed on the form: by field, by mapping row (model input), and
    those about the form as a whole."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.rows or self.general)

    def get(self, name: str, default: list[str] | None = None) -> list[str]:
        return self.fields.get(name, default if default is not None else [])

    def first_field(self) -> str | None:
        """The first field in page order with an error (mapping rows count as the mapping)."""
        with_errors = set(self.fields) | ({"modelToDeviceMappings"} if self.rows else set())
        return next((f for f in CONTROL_ORDER if f in with_errors), None)

    def labelled(self) -> list[tuple[str, str]]:
        """(field, label) of the fields in error, in page order, for the summary's links."""
        with_errors = set(self.fields) | ({"modelToDeviceMappings"} if self.rows else set())
        return [(f, LABELS[f]) for f in CONTROL_ORDER if f in with_errors]


def place_errors(messages: Iterable[str], mapped_inputs: Iterable[str] = ()) -> FormErrors:
    """Each message under the field it concerns (as the service marked it), in words; a
    mapping message about a model input goes to that input's row when the form shows one."""
    rows_shown = set(mapped_inputs)
    errors = FormErrors()
    for message in messages:
        name, item = field_of(message)
        if name == "jobSchedule":
            name = "frequency"
        text = in_words(message, name)
        if name == "modelToDeviceMappings" and item is not None and item in rows_shown:
            errors.rows.setdefault(item, []).append(text)
        elif name in LABELS:
            errors.fields.setdefault(name, []).append(text)
        else:
            errors.general.append(text)
    return errors
