"""A stand-in executor until scoring lands: it records each fired execution and finishes it.

Executions finish as Failure with a message that says plainly that nothing was scored, so no
history ever claims a success that did not happen. Finishes are written in batches from one
background thread, so the scheduler's transactions stay short.
"""

from __future__ import annotations

import queue
import threading

from batchscore.clock import Clock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.scheduling.scheduler import StartedExecution
from batchscore.store import executions as repo
from batchscore.store.db import Database

NOT_SCORED = "Scoring is not available in this version of batchscore; the fire was recorded only."


class RecordingExecutor:
    """Implements the scheduler's ExecutionHandoff; ``drain()`` finishes what is queued."""

    def __init__(self, db: Database, clock: Clock, batch: int = 500) -> None:
        self.db = db
        self.clock = clock
        self.batch = batch
        self._queue: queue.Queue[StartedExecution] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def submit(self, execution: StartedExecution) -> None:
        self._queue.put(execution)

    def drain(self) -> int:
        """Finish every queued execution now; returns how many were finished."""
        done = 0
        while True:
            items: list[StartedExecution] = []
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not items:
                return done
            now = self.clock.now()
            with self.db.write() as conn:
                for item in items:
                    messages = [*item.messages, NOT_SCORED]
                    repo.finish_execution(conn, item.id, ExecutionStatus.FAILURE, messages, now)
            done += len(items)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="recording-executor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.drain()
            self._stop.wait(0.2)
        self.drain()
