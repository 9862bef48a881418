"""The Jinja2 environment of the console and its filters.

Every instant is shown one way: ``2026-01-14 17:30:00 CET`` in the viewer's time zone (the page
context's ``viewer_zone``), with milliseconds only when there are some; a job's own zone is
added as a hint where the schedule is read in it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from batchscore.domain.timefmt import parse_instant
from batchscore.scheduling.schedules import zone_or_none
from batchscore.web.cron_words import describe_cron

STATUS_CLASSES = {
    "Success": "ok",
    "Warning": "warn",
    "Failure": "fail",
    "Running": "run",
    "Pending": "pending",
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_when(instant: datetime | None, zone: str) -> str:
    """``2026-01-14 17:30:00 CET`` (``17:30:00.250`` with milliseconds) in ``zone``; empty for
    None."""
    if instant is None:
        return ""
    local = instant.astimezone(zone_or_none(zone) or UTC)
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    if local.microsecond:
        text += f".{local.microsecond // 1000:03d}"
    return f"{text} {local.tzname() or 'UTC'}"


@pass_context
def when(context: Context, instant: datetime | None, zone: str | None = None) -> str:
    """An instant in ``zone``, by default the viewer's."""
    return format_when(instant, zone or str(context.get("viewer_zone") or "UTC"))


def ns_instant(ns: int) -> datetime:
    """Epoch nanoseconds as an aware datetime (microseconds)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


@pass_context
def ns_when(context: Context, ns: int) -> str:
    """Epoch nanoseconds as :func:`when` shows instants."""
    return when(context, ns_instant(ns))


def iso(instant: datetime | None) -> str:
    return instant.astimezone(UTC).isoformat() if instant is not None else ""


def instant(text: object) -> datetime | None:
    """An ISO-8601 instant as stored in a schedule, or None."""
    if not isinstance(text, str):
        return None
    try:
        return parse_instant(text)
    except ValueError:
        return None


def status_class(status: str | None) -> str:
    return STATUS_CLASSES.get(status or "Pending", "pending")


def duration(ms: int | str | None) -> str:
    """``1.234 s`` / ``820 ms`` for a duration in milliseconds."""
    if ms is None or ms == "":
        return ""
    value = int(ms)
    return f"{value / 1000:.3f} s" if value >= 1000 else f"{value} ms"


def span(seconds: float | int | None) -> str:
    """A length of time in the largest whole unit that fits: ``90 s``, ``5 min``, ``2 h``."""
    if seconds is None:
        return ""
    value = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return f"{value} s"


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("batchscore.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        ns_when=ns_when,
        ns_instant=ns_instant,
        iso=iso,
        instant=instant,
        status_class=status_class,
        duration=duration,
        span=span,
        cron_words=describe_cron,
    )
    return env


ENVIRONMENT = make_environment()


def render_page(name: str, context: dict[str, Any]) -> str:
    return ENVIRONMENT.get_template(name).render(**context)
