"""This process as an owner of executions: its id, and its heartbeat in the database.

Every process that holds executions (`serve`, `scheduler`, `job run`) beats every
``heartbeat`` (5 s) from a thread of its own, so a long tick or a busy executor never makes it
look dead; others take it for dead once it is silent for the dead-after setting (20 s). Each
beat also renews the leases of the executions the process holds but has not started (claimed
ahead, queued behind busy executor threads): those are renewed by whoever holds them, not by
their own work loop, which has not begun.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from batchscore import metrics
from batchscore.backoff import Backoff
from batchscore.clock import Clock
from batchscore.store import instances as repo
from batchscore.store.db import Database

log = logging.getLogger(__name__)


def new_instance_id(kind: str) -> str:
    """A name unique to this process's lifetime that an operator can trace: kind, host, pid."""
    host = socket.gethostname()[:64] or "host"
    return f"{kind}@{host}:{os.getpid()}/{uuid.uuid4().hex[:6]}"


class Heartbeat:
    """Registers the instance ``instance_id`` and beats for it until stopped."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        instance_id: str,
        kind: str,
        *,
        every: timedelta = timedelta(seconds=5),
    ) -> None:
        self.db = db
        self.clock = clock
        self.id = instance_id
        self.kind = kind
        self.every = every
        self.started_at = clock.now()
        self.last_beat: datetime | None = None
        self._on_beat: list[Callable[[], object]] = []
        self._backoff = Backoff("the heartbeat", log, first=1.0, cap=every.total_seconds())

    def also(self, renew: Callable[[], object]) -> None:
        """Call ``renew`` at every beat (it renews the leases of held, unstarted executions)."""
        self._on_beat.append(renew)

    def beat(self) -> None:
        """One heartbeat, then the renewals; raises on a database error."""
        now = self.clock.now()
        row = repo.InstanceRow(
            self.id, self.kind, socket.gethostname()[:255], os.getpid(), self.started_at, now
        )
        with self.db.write() as conn:
            known = repo.beat(conn, row)
        if not known and self.last_beat is not None:
            log.warning(
                "this instance (%s) was silent long enough to be taken for dead; what it held "
                "has been taken over by others",
                self.id,
            )
        self.last_beat = now
        for renew in self._on_beat:
            renew()

    def run(self, stop: threading.Event) -> None:
        """Beat every ``every`` until ``stop`` is set; errors are logged and retried."""
        while not stop.is_set():
            try:
                self.beat()
            except Exception as exc:
                metrics.LOOP_ERRORS.labels("heartbeat").inc()
                stop.wait(self._backoff.failed(exc))
                continue
            self._backoff.succeeded()
            stop.wait(self.every.total_seconds())

    def retire(self) -> None:
        """Mark this instance dead at once (a clean stop, after handing back what it held)."""
        try:
            with self.db.write() as conn:
                repo.retire(conn, self.id)
        except Exception as exc:  # others take it for dead when its beats stop, a bit later
            log.warning("could not retire instance %s: %s", self.id, exc)
