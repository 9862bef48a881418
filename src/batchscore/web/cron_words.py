"""Quartz cron expressions in words, for people reading a schedule."""

from __future__ import annotations

from functools import lru_cache

from cron_descriptor import ExpressionDescriptor, Options

from batchscore.errors import Invalid
from batchscore.scheduling.fire_times import cached_cron


def _options() -> Options:
    options = Options()
    # Quartz numbers the days of the week 1 (Sunday) to 7 (Saturday).
    options.day_of_week_start_index_zero = False
    options.use_24hour_time_format = True
    return options


@lru_cache(maxsize=1024)
def describe_cron(expression: str) -> str | None:
    """ "At 05:00, Monday through Friday" for ``0 0 5 ? * MON-FRI``; None if not valid Quartz."""
    try:
        cached_cron(expression)
    except Invalid:
        return None
    try:
        return str(ExpressionDescriptor(expression, _options()).get_description())
    except Exception:  # the descriptor's error types vary by field; words are optional
        return None
