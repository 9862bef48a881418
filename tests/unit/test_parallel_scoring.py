"""Scoring in row blocks on threads gives the same outputs as one call, for every output kind,
and leaves small batches in the calling thread."""

from __future__ import annotations

import csv
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.runtime.parallel import BlockParallelModel, ScoringPool, parallel
from batchscore.runtime.pmml import PmmlEngine
from tests.conftest import DATA


def corpus_columns(case: str, repeat: int) -> tuple[Any, dict[str, npt.NDArray[Any]]]:
    folder = DATA / "pmml" / "corpus" / case
    model = PmmlEngine().load((folder / "model.pmml").read_bytes())
    with (folder / "input.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    types = {f.name: f.data_type for f in model.inputs}
    columns: dict[str, npt.NDArray[Any]] = {}
    for name in rows[0]:
        cells = [row[name] for row in rows] * repeat
        if types.get(name) == "string":
            columns[name] = np.array([c or None for c in cells], dtype=object)
        else:
            columns[name] = np.array([float(c) if c else np.nan for c in cells])
    return model, columns


def equal(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    if a.dtype == np.float64:
        return bool(np.array_equal(a, b, equal_nan=True))
    return list(a) == list(b)


def test_blocks_give_the_outputs_of_one_call() -> None:
    pool = ScoringPool(3)
    try:
        for case in ("iforest_plain", "rfc_50", "hgbc_multiclass_categorical"):
            model, columns = corpus_columns(case, repeat=40)  # 12,000 rows: 3 blocks of 4,000
            whole = model.score(columns)
            blocked = BlockParallelModel(model, pool, min_block_rows=1000).score(columns)
            assert list(blocked) == list(whole)
            for name in whole:
                assert equal(whole[name], blocked[name]), (case, name)
    finally:
        pool.close()


class Recording:
    """A model that records the block sizes and threads it was called with."""

    name = "recording"
    inputs: tuple[Any, ...] = ()
    outputs: tuple[Any, ...] = ()

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    def score(self, columns: Mapping[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        x = columns["x"]
        with self.lock:
            self.calls.append((len(x), threading.current_thread().name))
        return {"y": x * 2}


def test_large_batches_are_cut_into_one_block_per_thread() -> None:
    pool = ScoringPool(4)
    recording = Recording()
    try:
        out = BlockParallelModel(recording, pool, min_block_rows=100).score(
            {"x": np.arange(1000.0)}
        )
    finally:
        pool.close()
    assert np.array_equal(out["y"], np.arange(1000.0) * 2)
    assert sorted(size for size, _ in recording.calls) == [250, 250, 250, 250]
    assert all(thread.startswith("scoring") for _, thread in recording.calls)


def test_small_batches_stay_in_the_calling_thread() -> None:
    pool = ScoringPool(4)
    recording = Recording()
    BlockParallelModel(recording, pool, min_block_rows=100).score({"x": np.arange(150.0)})
    assert recording.calls == [(150, threading.current_thread().name)]
    assert pool._pool is None  # never started


def test_one_thread_means_the_model_itself() -> None:
    recording = Recording()
    assert parallel(recording, ScoringPool(1)) is recording
    assert parallel(recording, None) is recording
