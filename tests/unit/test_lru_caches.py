"""The LRU caches (on cachetools): what stays, what goes first, what a dropped entry costs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from batchscore.api.inference_pages import InferencePages
from batchscore.domain.jobs import ExecutionStatus
from batchscore.execution import dask_backend


@dataclass
class _Run:
    id: int
    status: ExecutionStatus = ExecutionStatus.SUCCESS
    started_at: datetime | None = datetime(2026, 1, 1, tzinfo=UTC)


def test_inference_pages_keep_the_recently_used_within_the_byte_budget() -> None:
    pages = InferencePages(budget_bytes=160)  # pages of up to 10 bytes are kept
    renders: list[int] = []

    def page(n: int) -> bytes:
        def render() -> bytes:
            renders.append(n)
            return b"%010d" % n

        return pages.get(_Run(n), 1, False, render)  # type: ignore[arg-type]

    for n in range(16):
        page(n)
    assert pages.size_bytes == 160
    page(0)  # a hit: now the most recently used
    page(16)  # pushes out the least recently used: 1, not 0
    assert pages.size_bytes == 160
    renders.clear()
    page(0)
    page(1)
    assert renders == [1]


def test_inference_pages_of_running_executions_and_big_pages_are_not_kept() -> None:
    pages = InferencePages(budget_bytes=160)
    running = _Run(1, ExecutionStatus.RUNNING)
    assert pages.get(running, 1, False, lambda: b"x") == b"x"  # type: ignore[arg-type]
    assert pages.get(_Run(2), 1, False, lambda: b"y" * 11) == b"y" * 11  # type: ignore[arg-type]
    assert pages.size_bytes == 0


class _Db:
    def __init__(self) -> None:
        self.disposed = False

    def dispose(self) -> None:
        self.disposed = True


def test_a_workers_database_pushed_out_of_its_cache_is_disposed_of() -> None:
    kept: Any = dask_backend._OpenDatabases(maxsize=2)
    first, second, third = _Db(), _Db(), _Db()
    kept["a"], kept["b"] = first, second
    assert kept.get("a") is first  # "b" is now the least recently used
    kept["c"] = third
    assert second.disposed
    assert not first.disposed
    assert not third.disposed
    assert sorted(kept) == ["a", "c"]
