"""How a background loop survives its errors: log, wait a growing delay, go on (design §3.7).

Every loop that must never die (the scheduler's ticks, the heartbeat, an execution's writes and
finish, the Dask hand-off) keeps one :class:`Backoff`. The first failure of a streak is logged
with its traceback, later ones as one line each, and the end of a streak says how long it
lasted, so a database outage of a minute costs a handful of log lines, not thousands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from batchscore.errors import BatchscoreError


class Backoff:
    """Delays after consecutive failures: ``first``, doubled each time, at most ``cap`` seconds."""

    def __init__(
        self,
        what: str,
        logger: logging.Logger,
        *,
        first: float = 0.5,
        cap: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.log = logger
        self.first = first
        self.cap = cap
        self._monotonic = monotonic
        self.failures = 0
        self._since: float | None = None

    def failed(self, exc: BaseException) -> float:
        """Note a failure and log it; returns how long to wait before trying again."""
        self.failures += 1
        if self.failures == 1:
            self._since = self._monotonic()
            # A traceback helps with a bug, not with a database that is away or full.
            trace = None if isinstance(exc, BatchscoreError) else exc
            self.log.warning("%s failed: %s", self.what, _one_line(exc), exc_info=trace)
        else:
            self.log.warning(
                "%s failed again (%d times in a row): %s", self.what, self.failures, _one_line(exc)
            )
        return self.delay()

    def delay(self) -> float:
        """The wait after the current streak of failures (0 without one)."""
        if not self.failures:
            return 0.0
        return float(min(self.cap, self.first * 2 ** (self.failures - 1)))

    def succeeded(self) -> None:
        """Note a success; ends a streak of failures (logged once)."""
        if self.failures:
            lasted = self._monotonic() - (self._since or self._monotonic())
            self.log.warning(
                "%s works again after %d failures in %.1f s", self.what, self.failures, lasted
            )
        self.failures = 0
        self._since = None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]
