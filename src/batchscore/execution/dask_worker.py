"""`batchscore worker`: Dask workers that come back by themselves (design §3.7).

A Dask worker does not reconnect to a scheduler that restarted: its nannies close, some wait
for the old scheduler, and the process may never serve again. So ``batchscore worker``
supervises: it runs ``dask worker`` as a child process and asks the scheduler who it is every
second. When the scheduler answers with another identity (it restarted), or the child exits,
it starts a fresh child as soon as the scheduler answers. SIGTERM or SIGINT stop the child
(it finishes its tasks within the grace period) and then the supervisor, with exit code 0.

The child is ``python -m batchscore.execution.dask_worker ADDRESS [dask worker options]``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

import dask.config
from distributed.cli import dask_worker
from distributed.comm.core import CommClosedError, connect

from batchscore.backoff import Backoff
from batchscore.errors import BatchscoreError

log = logging.getLogger(__name__)

# Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which cost 28 % on an
# IsolationForest workload (design §3.6); None leaves glibc's own (dynamic) threshold.
MALLOC_OVERRIDE = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def how_to_run(address: str) -> str:
    """The commands of a Dask deployment for ``address`` (printed by `batchscore worker`)."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    return "\n".join(
        [
            f"Executions of BATCHSCORE_EXECUTOR=dask://{host}:{port} run on the Dask cluster:",
            f"  scheduler (once):     dask scheduler --host {host} --port {port}",
            "  workers (per machine; each needs batchscore installed and the database",
            "  reachable at the BATCHSCORE_DATABASE_URL of the instances):",
            f"                        batchscore worker --nworkers 2        # or: dask worker "
            f"tcp://{host}:{port} --nthreads 1",
            "  API/scheduler instances: BATCHSCORE_EXECUTOR=dask://... batchscore serve | "
            "batchscore scheduler",
        ]
    )


def start_worker(address: str, args: Sequence[str]) -> None:
    """Run ``dask worker`` connected to ``address`` in this process, with batchscore's worker
    settings (one thread per process unless ``args`` say otherwise, no malloc-trim override)."""
    argv = [address, *args]
    if not any(a == "--nthreads" or a.startswith("--nthreads=") for a in args):
        argv += ["--nthreads", "1"]
    with dask.config.set(MALLOC_OVERRIDE):
        dask_worker.main(args=argv, prog_name="batchscore worker", standalone_mode=True)


def scheduler_identity(address: str, timeout: float = 1.0) -> str | None:
    """The id of the Dask scheduler at ``address`` (it changes when the scheduler restarts),
    or None when it does not answer within ``timeout`` seconds."""

    async def ask() -> str:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            info = await asyncio.wait_for(comm.read(), timeout)
        finally:
            await comm.close()
        return str(info["id"])

    try:
        return asyncio.run(ask())
    except (OSError, CommClosedError, TimeoutError, KeyError, TypeError):
        return None


class WorkerExited(BatchscoreError):
    """The supervised `dask worker` process exited."""


class WorkerSupervisor:
    """Keeps one ``dask worker`` child connected to the scheduler at ``address``."""

    def __init__(
        self,
        address: str,
        args: Sequence[str],
        *,
        grace: float = 30.0,
        probe_s: float = 1.0,
        command: Sequence[str] | None = None,
        identity: Callable[[str, float], str | None] = scheduler_identity,
    ) -> None:
        self.address = address
        self.args = list(args)
        self.grace = grace
        self.probe_s = probe_s
        self.command = list(command) if command is not None else [
            sys.executable, "-m", "batchscore.execution.dask_worker", address, *args,
        ]  # fmt: skip
        self._identity = identity
        self.starts = 0
        self._child: subprocess.Popen[bytes] | None = None

    def run(self, stop: threading.Event) -> None:
        """Supervise until ``stop`` is set, then stop the child."""
        backoff = Backoff("the Dask worker", log, first=1.0, cap=10.0)
        serving: str | None = None  # the scheduler the child was started for
        waiting_logged = False
        try:
            while not stop.is_set():
                scheduler = self._identity(self.address, self.probe_s)
                child = self._child
                if child is not None and child.poll() is not None:
                    exited = WorkerExited(
                        f"the process exited with code {child.returncode} (its scheduler went "
                        "away, or it failed); it starts again once the scheduler answers"
                    )
                    self._child = None
                    stop.wait(backoff.failed(exited))
                    continue
                if child is not None and scheduler is not None and scheduler != serving:
                    log.warning(
                        "the Dask scheduler at %s restarted; starting fresh workers", self.address
                    )
                    self._terminate()
                    continue
                if child is None and scheduler is not None:
                    self._spawn()
                    serving, waiting_logged = scheduler, False
                elif child is None and not waiting_logged:
                    log.warning("waiting for the Dask scheduler at %s to answer", self.address)
                    waiting_logged = True
                elif child is not None and time.monotonic() - self._spawned > 60:
                    backoff.succeeded()  # a child that stayed up a minute ends a streak
                stop.wait(self.probe_s)
        finally:
            self._terminate()

    def _spawn(self) -> None:
        # Its own process group: a kill reaches the nannies and their worker processes too.
        self._child = subprocess.Popen(self.command, start_new_session=True)  # noqa: S603
        self._spawned = time.monotonic()
        self.starts += 1
        log.info("started Dask worker process %d for %s", self._child.pid, self.address)

    _spawned: float = 0.0

    def _terminate(self) -> None:
        child, self._child = self._child, None
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)  # `dask worker` closes its nannies gracefully
        try:
            child.wait(timeout=self.grace + 5)
        except subprocess.TimeoutExpired:
            log.warning("the Dask worker did not stop within %g s; killing it", self.grace)
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            child.wait(timeout=10)


if __name__ == "__main__":  # the supervised child
    start_worker(sys.argv[1], sys.argv[2:])
