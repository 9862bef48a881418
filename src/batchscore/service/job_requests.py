"""Turns a POST /job body into a JobSpec, collecting every problem into one Invalid error.

Pure: no database access. References (model, device, model inputs) are checked by the jobs
service, which has the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from batchscore.domain.jobs import (
    EXTRA_SCHEDULE_FIELDS,
    SCHEDULE_FIELDS,
    Frequency,
    JobSchedule,
    JobSpec,
    MeasurementPath,
    MisfirePolicy,
)
from batchscore.domain.timefmt import in_supported_range, parse_instant
from batchscore.errors import CronError, Invalid
from batchscore.scheduling.cron import DstPolicy, parse_cron

E = TypeVar("E", MisfirePolicy, DstPolicy)

MAX_NAME = 255
MAX_DESCRIPTION = 4000
MAX_MAPPINGS = 1000
MAX_PATH = 512


def parse_job_request(body: Any) -> JobSpec:
    """Validate the JSON body of POST /job; raise Invalid listing every problem found."""
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.")
    errors: list[str] = []
    name = _text(body, "jobName", errors, required=True, limit=MAX_NAME)
    description = _text(body, "jobDescription", errors, required=False, limit=MAX_DESCRIPTION)
    model = _text(body, "associatedModel", errors, required=True, limit=MAX_NAME)
    target = _target_id(body.get("associatedGroupOrDeviceId"), errors)
    canonical, sent = _mappings(body.get("modelToDeviceMappings"), errors)
    schedule = _schedule(body.get("jobSchedule"), errors)
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
    )


def zone_or_none(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None if there is no such zone."""
    if not name or len(name) > 64 or name != name.strip() or name.startswith(("/", ".")):
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):
        return None


def _text(body: dict[str, Any], key: str, errors: list[str], *, required: bool, limit: int) -> str:
    value = body.get(key)
    if value is None:
        if required:
            errors.append(f"{key} is required.")
        return ""
    if not isinstance(value, str):
        errors.append(f"{key} must be a string.")
        return ""
    if required and not value.strip():
        errors.append(f"{key} must not be empty.")
    if len(value) > limit:
        errors.append(f"{key} must be at most {limit} characters long.")
    return value


def _target_id(value: Any, errors: list[str]) -> int | None:
    if value is None:
        errors.append("associatedGroupOrDeviceId is required.")
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        errors.append("associatedGroupOrDeviceId must be a positive integer.")
        return None
    return value


def _mappings(value: Any, errors: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    key = "modelToDeviceMappings"
    if value is None:
        errors.append(f"{key} is required.")
        return {}, {}
    if not isinstance(value, dict):
        errors.append(f"{key} must be an object of model input names and measurement paths.")
        return {}, {}
    if not value:
        errors.append(f"{key} must map at least one model input.")
        return {}, {}
    if len(value) > MAX_MAPPINGS:
        errors.append(f"{key} must have at most {MAX_MAPPINGS} entries.")
        return {}, {}
    canonical: dict[str, str] = {}
    sent: dict[str, str] = {}
    for left, right in value.items():
        if not isinstance(right, str) or len(left) > MAX_PATH or len(right) > MAX_PATH:
            errors.append(f"{key}: the entry {_quote(left)} must map to a string.")
            continue
        sent[left] = right
        # An entry whose key is the "fragment.series.value" path is the seed's reversed form.
        if MeasurementPath.parse(left) is not None and MeasurementPath.parse(right) is None:
            model_input, path = right, left
        else:
            model_input, path = left, right
        if MeasurementPath.parse(path) is None:
            errors.append(
                f"{key}: {_quote(path)} is not a measurement path of the form "
                "fragment.series.value."
            )
            continue
        if not model_input.strip():
            errors.append(f"{key}: the model input name must not be empty.")
            continue
        if model_input in canonical:
            errors.append(f"{key}: the model input {_quote(model_input)} is mapped more than once.")
            continue
        canonical[model_input] = path
    return canonical, sent


def _schedule(value: Any, errors: list[str]) -> JobSchedule | None:
    if not isinstance(value, dict):
        errors.append("jobSchedule is required and must be an object.")
        return None
    frequency_text = value.get("frequency")
    try:
        frequency = Frequency(frequency_text) if isinstance(frequency_text, str) else None
    except ValueError:
        frequency = None
    if frequency is None:
        errors.append("frequency can be either once or periodic.")
        return None
    misfire = _enum(value, "misfirePolicy", MisfirePolicy, MisfirePolicy.FIRE_ONCE_NOW, errors)
    dst = _enum(value, "dstPolicy", DstPolicy, DstPolicy.FIRE_AFTER_GAP, errors)
    sent: dict[str, Any] = dict.fromkeys(SCHEDULE_FIELDS)
    sent["frequency"] = frequency.value
    for extra in EXTRA_SCHEDULE_FIELDS:
        if value.get(extra) is not None:
            sent[extra] = value[extra]
    if frequency is Frequency.PERIODIC:
        return _periodic(value, sent, misfire, dst, errors)
    return _once(value, sent, misfire, dst, errors)


def _periodic(
    value: dict[str, Any],
    sent: dict[str, Any],
    misfire: MisfirePolicy,
    dst: DstPolicy,
    errors: list[str],
) -> JobSchedule | None:
    before = len(errors)
    cron = value.get("cronExpression")
    if cron is None:
        errors.append("cronExpression is required for a periodic job.")
    elif not isinstance(cron, str):
        errors.append("cronExpression must be a string.")
    else:
        try:
            parse_cron(cron)
        except CronError as exc:
            errors.extend(exc.messages)
    zone = value.get("timeZone")
    if zone is None:
        errors.append("timeZone is required for a periodic job.")
    elif not isinstance(zone, str) or zone_or_none(zone) is None:
        errors.append(f"timeZone {_quote(zone)} is not a known IANA time zone.")
    seconds = value.get("dataFromPreviousNSeconds")
    if seconds is None:
        errors.append("dataFromPreviousNSeconds is required for a periodic job.")
    elif isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds < 2**31:
        errors.append("dataFromPreviousNSeconds must be a positive integer.")
    if len(errors) > before:
        return None
    assert isinstance(cron, str)
    assert isinstance(zone, str)
    assert isinstance(seconds, int)
    sent.update(cronExpression=cron, timeZone=zone, dataFromPreviousNSeconds=seconds)
    return JobSchedule(
        frequency=Frequency.PERIODIC,
        cron_expression=cron,
        time_zone=zone,
        window_seconds=seconds,
        misfire_policy=misfire,
        dst_policy=dst.value,
        sent=sent,
    )


def _once(
    value: dict[str, Any],
    sent: dict[str, Any],
    misfire: MisfirePolicy,
    dst: DstPolicy,
    errors: list[str],
) -> JobSchedule | None:
    before = len(errors)
    schedule_at = _instant(value, "scheduleAt", errors, required=False)
    data_from = _instant(value, "dataFrom", errors, required=True)
    data_to = _instant(value, "dataTo", errors, required=True)
    if data_from is not None and data_to is not None and data_from >= data_to:
        errors.append("dataFrom must be before dataTo.")
    if len(errors) > before:
        return None
    for key in ("scheduleAt", "dataFrom", "dataTo"):
        sent[key] = value.get(key)
    return JobSchedule(
        frequency=Frequency.ONCE,
        schedule_at=schedule_at,
        data_from=data_from,
        data_to=data_to,
        misfire_policy=misfire,
        dst_policy=dst.value,
        sent=sent,
    )


def _instant(
    value: dict[str, Any], key: str, errors: list[str], *, required: bool
) -> datetime | None:
    raw = value.get(key)
    if raw is None:
        if required:
            errors.append(f"{key} is required for a once job.")
        return None
    try:
        instant = parse_instant(raw)
    except (ValueError, TypeError):
        errors.append(f"{key} must be an ISO-8601 instant with a UTC offset.")
        return None
    if not in_supported_range(instant):
        errors.append(f"{key} must lie between 1970-01-01 and 2100-01-01.")
        return None
    return instant


def _enum(
    value: dict[str, Any],
    key: str,
    kind: Callable[[str], E],
    default: E,
    errors: list[str],
) -> E:
    raw = value.get(key)
    if raw is None:
        return default
    try:
        return kind(raw)
    except (ValueError, TypeError):
        options = " or ".join(str(getattr(m, "value", m)) for m in type(default))
        errors.append(f"{key} can be either {options}.")
        return default


def _quote(value: Any) -> str:
    text = str(value)
    return "'" + (text if len(text) <= 80 else text[:77] + "...") + "'"
