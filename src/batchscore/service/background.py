"""The scheduler loop of a process, handing executions to the services' executor."""

from __future__ import annotations

import threading
from datetime import timedelta

from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.container import Services


class Background:
    """Starts and stops the scheduler thread of one process."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.scheduler = Scheduler(
            services.db,
            services.clock,
            services.executor,
            misfire_threshold=timedelta(seconds=settings.misfire_threshold_s),
            lease=timedelta(seconds=settings.lease_s),
            retention=(
                timedelta(days=settings.retention_days) if settings.retention_days else None
            ),
            lookahead=timedelta(seconds=settings.scheduler_lookahead_s),
        )
        self.interval = settings.scheduler_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, *, scheduler: bool = True) -> None:
        if scheduler:
            self._thread = threading.Thread(
                target=self.scheduler.run,
                args=(self._stop, self.interval),
                name="scheduler",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the scheduler loop; the executor stops with ``Services.close()``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
