"""The Jinja2 environment of the console and its filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from batchscore.api.render import format_instant_ns
from batchscore.scheduling.schedules import zone_or_none
from batchscore.web.cron_words import describe_cron

STATUS_CLASSES = {
    "Success": "ok",
    "Warning": "warn",
    "Failure": "fail",
    "Running": "run",
    "Pending": "pending",
}


def when(instant: datetime | None, zone: str | None = None) -> str:
    """``2026-01-14 17:30:00 IST`` in ``zone`` (UTC by default); empty for None."""
    if instant is None:
        return ""
    tz: ZoneInfo | None = zone_or_none(zone) if zone else None
    local = instant.astimezone(tz or UTC)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "UTC")


def iso(instant: datetime | None) -> str:
    return instant.astimezone(UTC).isoformat() if instant is not None else ""


def status_class(status: str | None) -> str:
    return STATUS_CLASSES.get(status or "Pending", "pending")


def duration(ms: int | str | None) -> str:
    """``1.234 s`` / ``820 ms`` for a duration in milliseconds."""
    if ms is None or ms == "":
        return ""
    value = int(ms)
    return f"{value / 1000:.3f} s" if value >= 1000 else f"{value} ms"


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
        iso=iso,
        status_class=status_class,
        duration=duration,
        cron_words=describe_cron,
        ns_time=format_instant_ns,
    )
    return env


ENVIRONMENT = make_environment()


def render_page(name: str, context: dict[str, Any]) -> str:
    return ENVIRONMENT.get_template(name).render(**context)
