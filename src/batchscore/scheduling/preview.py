"""Fire-time previews for the API and the CLI, in the wire format (offset, never ``Z``)."""

from __future__ import annotations

from datetime import datetime

from batchscore.domain.timefmt import in_supported_range, parse_instant
from batchscore.errors import FieldMessage, Invalid
from batchscore.scheduling.cron import DstPolicy, next_fire_times
from batchscore.scheduling.fire_times import cached_cron, never_fires
from batchscore.scheduling.schedules import zone_or_none

MAX_COUNT = 1000


def preview_fire_times(
    cron: str, zone_name: str, start: str | None, count: int, policy: str, now: datetime
) -> list[str]:
    """The next ``count`` fire instants after ``start`` (default ``now``), ISO-8601 with offset."""
    errors: list[str] = []
    expression = None
    try:
        expression = cached_cron(cron)
    except Invalid as exc:
        errors.extend(FieldMessage("cronExpression", m) for m in exc.messages)
    zone = zone_or_none(zone_name)
    if zone is None:
        errors.append(
            FieldMessage("timeZone", f"timeZone '{zone_name[:80]}' is not a known IANA time zone.")
        )
    after = now
    if start is not None:
        try:
            after = parse_instant(start)
            if not in_supported_range(after):
                errors.append("from must lie between 1970-01-01 and 2100-01-01.")
        except ValueError:
            errors.append("from must be an ISO-8601 instant with a UTC offset.")
    try:
        dst = DstPolicy(policy)
    except ValueError:
        errors.append("dstPolicy can be either fireAfterGap or quartz.")
    if not 1 <= count <= MAX_COUNT:
        errors.append(f"count must be between 1 and {MAX_COUNT}.")
    if errors:
        raise Invalid.collect(errors)
    assert expression is not None
    assert zone is not None
    reason = never_fires(expression, zone, now, dst)
    if reason is not None:
        raise Invalid(reason)
    return [t.isoformat() for t in next_fire_times(expression, zone, after, count, dst)]
