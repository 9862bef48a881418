"""Turns a POST /job body into a JobSpec, collecting every problem into one Invalid error.

Pure: no database access. References (model, device, model inputs) are checked by the jobs
service, which has the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from batchscore.domain import names
from batchscore.domain.actions import WebhookPolicy, parse_actions, parse_write_back
from batchscore.domain.documents import object_id
from batchscore.domain.jobs import JobSpec, MeasurementPath
from batchscore.errors import FieldMessage, Invalid
from batchscore.scheduling.schedules import parse_schedule, quote

MAX_NAME = names.MAX_NAME
MAX_DESCRIPTION = 4000
MAX_MAPPINGS = 1000
MAX_PATH = 512
TARGET = "associatedGroupOrDeviceId"


def parse_job_request(
    body: Any, now: datetime | None = None, webhooks: WebhookPolicy | None = None
) -> JobSpec:
    """Validate the JSON body of POST /job; raise Invalid listing every problem found. With
    ``now``, a cron expression that never fires after it is one of them; ``webhooks`` says
    which loopback or private webhook hosts ``actions`` may call."""
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.")
    errors: list[str] = []
    name = _text(body, "jobName", errors, required=True, limit=MAX_NAME)
    description = _text(body, "jobDescription", errors, required=False, limit=MAX_DESCRIPTION)
    model = _text(body, "associatedModel", errors, required=True, limit=MAX_NAME)
    target = _target_id(body.get("associatedGroupOrDeviceId"), errors)
    canonical, sent = _mappings(body.get("modelToDeviceMappings"), errors)
    schedule = parse_schedule(body.get("jobSchedule"), errors, now)
    actions = parse_actions(body.get("actions"), errors, webhooks or WebhookPolicy())
    write_back = parse_write_back(body.get("writeBack"), errors)
    if errors or schedule is None or target is None:
        raise Invalid.collect(errors or ["The request body is invalid."])
    return JobSpec(
        name=name or "",
        description=description or "",
        model_name=model or "",
        target_id=target,
        mappings=canonical,
        mappings_sent=sent,
        schedule=schedule,
        actions=actions,
        write_back=write_back,
    )


def _text(body: dict[str, Any], key: str, errors: list[str], *, required: bool, limit: int) -> str:
    value = body.get(key)
    if value is None:
        if required:
            errors.append(FieldMessage(key, f"{key} is required."))
        return ""
    if not isinstance(value, str):
        errors.append(FieldMessage(key, f"{key} must be a string."))
        return ""
    if required and not value.strip():
        errors.append(FieldMessage(key, f"{key} must not be empty."))
    if len(value) > limit:
        errors.append(FieldMessage(key, f"{key} must be at most {limit} characters long."))
    return value


def _target_id(value: Any, errors: list[str]) -> int | None:
    if value is None:
        errors.append(FieldMessage(TARGET, "associatedGroupOrDeviceId is required."))
        return None
    parsed = (
        object_id(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    )
    if parsed is None:
        errors.append(FieldMessage(TARGET, "associatedGroupOrDeviceId must be a positive integer."))
    return parsed


def _mappings(value: Any, errors: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    key = "modelToDeviceMappings"
    if value is None:
        errors.append(FieldMessage(key, f"{key} is required."))
        return {}, {}
    if not isinstance(value, dict):
        errors.append(
            FieldMessage(
                key, f"{key} must be an object of model input names and measurement paths."
            )
        )
        return {}, {}
    if not value:
        errors.append(FieldMessage(key, f"{key} must map at least one model input."))
        return {}, {}
    if len(value) > MAX_MAPPINGS:
        errors.append(FieldMessage(key, f"{key} must have at most {MAX_MAPPINGS} entries."))
        return {}, {}
    canonical: dict[str, str] = {}
    sent: dict[str, str] = {}
    for left, right in value.items():
        if not isinstance(right, str) or len(left) > MAX_PATH or len(right) > MAX_PATH:
            errors.append(
                FieldMessage(key, f"{key}: the entry {quote(left)} must map to a string.")
            )
            continue
        sent[left] = right
        # An entry whose key is the "fragment.series.value" path is the seed's reversed form.
        if MeasurementPath.parse(left) is not None and MeasurementPath.parse(right) is None:
            model_input, path = right, left
        else:
            model_input, path = left, right
        if MeasurementPath.parse(path) is None:
            errors.append(
                FieldMessage(
                    key,
                    f"{key}: {quote(path)} is not a measurement path of the form"
                    " fragment.series.value.",
                    model_input,
                )
            )
            continue
        if not model_input.strip():
            errors.append(FieldMessage(key, f"{key}: the model input name must not be empty."))
            continue
        if model_input in canonical:
            errors.append(
                FieldMessage(
                    key,
                    f"{key}: the model input {quote(model_input)} is mapped more than once.",
                    model_input,
                )
            )
            continue
        canonical[model_input] = path
    return canonical, sent
