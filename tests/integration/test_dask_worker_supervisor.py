"""`batchscore worker`'s supervision (issue 16): a fresh `dask worker` process when the Dask
scheduler restarted (another identity) or the process exited; none while the scheduler is
away; the child stopped on the way out. The child here is a stand-in that only sleeps."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

from batchscore.execution.dask_worker import WorkerSupervisor
from tests.integration.live_server import wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
QUICK_EXIT = [sys.executable, "-c", "pass"]


class Scheduler:
    """The identities a probe sees, in turn (the last one repeats)."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.asked = 0
        self.lock = threading.Lock()

    def __call__(self, address: str, timeout: float) -> str | None:
        with self.lock:
            self.asked += 1
            return self.answers[min(self.asked, len(self.answers)) - 1]


def running(supervisor: WorkerSupervisor) -> Iterator[threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop,), daemon=True)
    thread.start()
    yield stop
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_a_restarted_scheduler_gets_fresh_workers() -> None:
    scheduler = Scheduler("A", "A", "A", None, None, "B")
    supervisor = WorkerSupervisor(
        "tcp://x:1", [], probe_s=0.05, grace=5, command=SLEEPER, identity=scheduler
    )
    for _ in running(supervisor):
        wait_until(lambda: supervisor.starts == 2, "a second worker process", timeout=20)
        wait_until(lambda: scheduler.asked > 10, "more probes", timeout=20)
        assert supervisor.starts == 2  # only one restart: the identity changed once
    assert supervisor._child is None  # stopped on the way out


def test_nothing_starts_while_the_scheduler_is_away() -> None:
    scheduler = Scheduler(None)
    supervisor = WorkerSupervisor(
        "tcp://x:1", [], probe_s=0.05, command=SLEEPER, identity=scheduler
    )
    for _ in running(supervisor):
        wait_until(lambda: scheduler.asked > 5, "some probes", timeout=20)
        assert supervisor.starts == 0


def test_a_worker_process_that_exits_is_started_again() -> None:
    supervisor = WorkerSupervisor(
        "tcp://x:1", [], probe_s=0.05, command=QUICK_EXIT, identity=Scheduler("A")
    )
    for _ in running(supervisor):
        wait_until(lambda: supervisor.starts >= 3, "the exited process restarted", timeout=30)
