"""A Dask cluster without workers fails an execution after ``no_workers_s`` instead of waiting
forever; workers coming back in time reset the deadline."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from batchscore.execution.dask_backend import DaskRunner
from batchscore.execution.partitions import Partition, ScoredPiece
from batchscore.execution.runner import PartitionFailed


class NeverDone:
    """A Dask future whose task never finishes (no worker will ever run it)."""

    key = "batchscore-1-0-test"

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        del callback


class Cluster:
    """A Dask client stub: ``nthreads()`` answers from a script, then stays on the last."""

    def __init__(self, *answers: dict[str, int]) -> None:
        self.answers = list(answers)
        self.asked = 0

    def nthreads(self) -> dict[str, int]:
        self.asked += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Sink:
    def __init__(self) -> None:
        self.beats = 0

    def add(self, piece: ScoredPiece) -> None:
        raise AssertionError("nothing is scored")

    def heartbeat(self) -> None:
        self.beats += 1


def runner(no_workers_s: float) -> DaskRunner:
    """Heartbeats every 1 ms; its clock advances one second each time it is read."""
    seconds = itertools.count()
    return DaskRunner(
        "tcp://127.0.0.1:1",
        "sqlite://",
        heartbeat_s=0.001,
        no_workers_s=no_workers_s,
        monotonic=lambda: float(next(seconds)),
    )


def wait(runner: DaskRunner, cluster: Cluster, sink: Sink, devices: tuple[int, ...]) -> None:
    runner._result(cluster, NeverDone(), Partition(0, devices), 2, sink)  # type: ignore[arg-type]


def test_no_workers_fails_the_partition_once_the_deadline_passes() -> None:
    cluster, sink = Cluster({}), Sink()
    with pytest.raises(PartitionFailed) as failed:
        wait(runner(5), cluster, sink, (7, 8))
    message = str(failed.value)
    assert message.startswith("The devices 7 to 8 (partition 1 of 2) could not be scored")
    assert "has had no workers for 5 s" in message
    assert "batchscore worker" in message
    assert cluster.asked == 6  # seconds 0..5: fails when 5 s have passed since the first
    assert sink.beats == 6  # the lease was kept while waiting


def test_workers_coming_back_reset_the_deadline() -> None:
    # 4 s without workers, a worker, then none again: the 5 s count from the second gap.
    cluster, sink = Cluster({}, {}, {}, {}, {"w": 1}, {}), Sink()
    with pytest.raises(PartitionFailed, match="no workers for 5 s"):
        wait(runner(5), cluster, sink, (7,))
    assert cluster.asked == 4 + 1 + 6
