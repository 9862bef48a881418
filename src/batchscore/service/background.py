"""The background of one process: its heartbeat, its scheduler loop, and how they stop.

A stop (SIGTERM, SIGINT, or the end of a test) follows design §3.7: stop claiming, hand back
what was claimed and not started, let running executions finish within the grace period (or
stop and hand them back), then mark this instance dead so that anything left is taken over.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.container import Services

log = logging.getLogger(__name__)


class Background:
    """Starts and stops the heartbeat and scheduler threads of one process."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        self.scheduler = Scheduler(
            services.db,
            services.clock,
            services.executor,
            lifecycle=services.lifecycle,
            misfire_threshold=timedelta(seconds=settings.misfire_threshold_s),
            retention=(
                timedelta(days=settings.retention_days) if settings.retention_days else None
            ),
            lookahead=timedelta(seconds=settings.scheduler_lookahead_s),
            backfill_concurrency=settings.backfill_concurrency,
        )
        services.heartbeat.also(self.scheduler.renew_held)
        self.interval = settings.scheduler_interval_s
        self.grace = settings.shutdown_grace_s
        self.scheduling = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def start(self, *, scheduler: bool = True) -> None:
        """Register this instance and beat; with ``scheduler``, run the claim loop too."""
        self._spawn("heartbeat", self.services.heartbeat.run, self._stop)
        self._spawn(
            "actions", self.services.delivery.run, self._stop,
            self.services.settings.action_interval_s,
        )  # fmt: skip
        if scheduler:
            self.scheduling = True
            self._spawn("scheduler", self.scheduler.run, self._stop, self.interval)

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, grace: float | None = None) -> None:
        """Stop as design §3.7 says; ``grace`` overrides ``BATCHSCORE_SHUTDOWN_GRACE_S``."""
        if self._stopped:
            return
        self._stopped = True
        began = time.monotonic()
        self._stop.set()
        for thread in self._threads:
            if thread.name == "scheduler":
                thread.join(timeout=30)
        services = self.services
        try:
            self.scheduler.hand_back_held()
        except Exception as exc:  # still held: taken over once this instance is dead
            log.warning("could not hand back the executions claimed ahead: %s", exc)
        services.executor.stop(self.grace if grace is None else grace)
        for thread in self._threads:
            thread.join(timeout=10)
        try:
            services.lifecycle.hand_back_all()
        except Exception as exc:
            log.warning("could not hand back what this instance still held: %s", exc)
        services.heartbeat.retire()
        log.info("stopped in %.1f s", time.monotonic() - began)

    def readiness(self) -> dict[str, Any]:
        """The scheduler's part of ``GET /health/ready``: off, or up when it ticked (with
        success) within 3 x its interval + 10 s; ``ok`` says whether that holds."""
        if not self.scheduling:
            return {"status": "OFF", "ok": True}
        last = self.scheduler.last_tick
        limit = 3 * self.interval + 10
        age = None if last is None else time.monotonic() - last
        ok = age is not None and age <= limit
        return {
            "status": "UP" if ok else "DOWN",
            "ok": ok,
            "lastTickSecondsAgo": None if age is None else round(age, 3),
            "limitSeconds": limit,
        }
