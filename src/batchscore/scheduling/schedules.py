"""Job schedules: validation of the jobSchedule object, shared by job creation and the
scheduler (which rebuilds schedules from stored jobs). Pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from batchscore.domain.jobs import (
    EXTRA_SCHEDULE_FIELDS,
    SCHEDULE_FIELDS,
    Frequency,
    JobSchedule,
    MisfirePolicy,
)
from batchscore.domain.timefmt import in_supported_range, parse_instant
from batchscore.errors import CronError, FieldMessage, Invalid
from batchscore.scheduling.cron import DstPolicy
from batchscore.scheduling.fire_times import cached_cron, never_fires

E = TypeVar("E", MisfirePolicy, DstPolicy)
CRON, ZONE, WINDOW = "cronExpression", "timeZone", "dataFromPreviousNSeconds"


def schedule_from_stored(stored: dict[str, Any]) -> JobSchedule:
    """Rebuild the JobSchedule of a stored job from its echoed jobSchedule object.

    Thousands of jobs share a handful of schedules, and the scheduler rebuilds them every tick:
    the validated result is cached per distinct schedule.
    """
    # Stored schedules hold only scalars (validated at creation), so their items are hashable.
    return _schedule_from_items(tuple(sorted(stored.items())))


@lru_cache(maxsize=4096)
def _schedule_from_items(items: tuple[tuple[str, Any], ...]) -> JobSchedule:
    errors: list[str] = []
    schedule = parse_schedule(dict(items), errors)
    if schedule is None:
        raise Invalid.collect(errors or ["The stored schedule is invalid."])
    return schedule


def zone_or_none(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None if there is no such zone."""
    if not name or len(name) > 64 or name != name.strip() or name.startswith(("/", ".")):
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):
        return None


def parse_schedule(
    value: Any, errors: list[str], now: datetime | None = None
) -> JobSchedule | None:
    """Validate a jobSchedule object, appending every problem to ``errors``. With ``now`` (a
    new schedule), a cron expression that can never fire after ``now`` is a problem too."""
    if not isinstance(value, dict):
        errors.append(FieldMessage("jobSchedule", "jobSchedule is required and must be an object."))
        return None
    frequency_text = value.get("frequency")
    try:
        frequency = Frequency(frequency_text) if isinstance(frequency_text, str) else None
    except ValueError:
        frequency = None
    if frequency is None:
        errors.append(FieldMessage("frequency", "frequency can be either once or periodic."))
        return None
    misfire = _enum(value, "misfirePolicy", MisfirePolicy, MisfirePolicy.FIRE_ONCE_NOW, errors)
    dst = _enum(value, "dstPolicy", DstPolicy, DstPolicy.FIRE_AFTER_GAP, errors)
    sent: dict[str, Any] = dict.fromkeys(SCHEDULE_FIELDS)
    sent["frequency"] = frequency.value
    for extra in EXTRA_SCHEDULE_FIELDS:
        if value.get(extra) is not None:
            sent[extra] = value[extra]
    if frequency is Frequency.PERIODIC:
        schedule = _periodic(value, sent, misfire, dst, errors)
        if schedule is not None and now is not None:
            assert schedule.cron_expression is not None
            assert schedule.time_zone is not None
            reason = never_fires(
                cached_cron(schedule.cron_expression), ZoneInfo(schedule.time_zone), now, dst
            )
            if reason is not None:
                errors.append(reason)
                return None
        return schedule
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
        errors.append(FieldMessage(CRON, "cronExpression is required for a periodic job."))
    elif not isinstance(cron, str):
        errors.append(FieldMessage(CRON, "cronExpression must be a string."))
    else:
        try:
            cached_cron(cron)
        except CronError as exc:
            errors.extend(FieldMessage(CRON, m) for m in exc.messages)
    zone = value.get("timeZone")
    if zone is None:
        errors.append(FieldMessage(ZONE, "timeZone is required for a periodic job."))
    elif not isinstance(zone, str) or zone_or_none(zone) is None:
        errors.append(FieldMessage(ZONE, f"timeZone {quote(zone)} is not a known IANA time zone."))
    seconds = value.get("dataFromPreviousNSeconds")
    if seconds is None:
        errors.append(
            FieldMessage(WINDOW, "dataFromPreviousNSeconds is required for a periodic job.")
        )
    elif isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds < 2**31:
        errors.append(FieldMessage(WINDOW, "dataFromPreviousNSeconds must be a positive integer."))
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
        errors.append(FieldMessage("dataTo", "dataFrom must be before dataTo."))
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
            errors.append(FieldMessage(key, f"{key} is required for a once job."))
        return None
    try:
        instant = parse_instant(raw)
    except (ValueError, TypeError):
        errors.append(FieldMessage(key, f"{key} must be an ISO-8601 instant with a UTC offset."))
        return None
    if not in_supported_range(instant):
        errors.append(FieldMessage(key, f"{key} must lie between 1970-01-01 and 2100-01-01."))
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
        errors.append(FieldMessage(key, f"{key} can be either {options}."))
        return default


def quote(value: Any) -> str:
    text = str(value)
    return "'" + (text if len(text) <= 80 else text[:77] + "...") + "'"
