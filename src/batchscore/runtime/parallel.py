"""Scoring large batches on several cores: row blocks of one batch scored on a thread pool.

The evaluators spend their time in numpy, which releases the GIL inside its loops, so threads
over row blocks use more than one core without copying the model into other processes. Small
batches are scored in the calling thread: below :data:`MIN_BLOCK_ROWS` rows per block the
hand-off costs more than it saves.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.runtime.engine import CompiledModel, FieldInfo

MIN_BLOCK_ROWS = 8192


def default_threads() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ScoringPool:
    """One thread pool per process, shared by every model it scores (made on first use)."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, threads)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="scoring")
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


class BlockParallelModel:
    """A :class:`CompiledModel` that scores batches of many rows in blocks on a pool.

    The outputs are those of the wrapped model on the whole batch: each row is scored on its
    own by every engine, so cutting the batch into blocks and joining the block outputs in
    order changes nothing.
    """

    def __init__(
        self, model: CompiledModel, pool: ScoringPool, min_block_rows: int = MIN_BLOCK_ROWS
    ) -> None:
        self.model = model
        self.pool = pool
        self.min_block_rows = min_block_rows

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def inputs(self) -> Sequence[FieldInfo]:
        return self.model.inputs

    @property
    def outputs(self) -> Sequence[FieldInfo]:
        return self.model.outputs

    def score(self, columns: Mapping[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        rows = len(next(iter(columns.values()))) if columns else 0
        blocks = min(self.pool.threads, rows // self.min_block_rows)
        if blocks <= 1:
            return self.model.score(columns)
        edges = np.linspace(0, rows, blocks + 1).astype(int)
        parts = list(
            self.pool.executor().map(
                lambda bounds: self.model.score(
                    {k: v[bounds[0] : bounds[1]] for k, v in columns.items()}
                ),
                itertools.pairwise(edges),
            )
        )
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def parallel(model: CompiledModel, pool: ScoringPool | None) -> CompiledModel:
    """``model`` scoring on ``pool`` when it has more than one thread, else ``model`` itself."""
    if pool is None or pool.threads <= 1:
        return model
    return BlockParallelModel(model, pool)
