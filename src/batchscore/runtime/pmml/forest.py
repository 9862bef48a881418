"""The tree kernel: trees compiled to flat state tables, evaluated level by level for all rows.

Every tree is a set of *states*. A test state compares one feature column with a threshold
(``x > t``) and moves to one of two successors, or to a third one when the feature is missing;
a result state loops onto itself. Features are the prepared input columns of simple numeric
splits plus one 1.0/0.0/NaN column per other predicate (set membership, string equality,
compound, surrogate), so every step of every tree is the same few numpy gathers. Tables are
indexed by ``2 * state`` so that the successor is ``succ[2 * state + (x > t)]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.runtime.pmml.datatypes import F64

I32 = npt.NDArray[np.int32]
BLOCK_ROWS = 16384


@dataclass
class StateTable:
    """States of one tree in local numbering, as the tree compiler builds them."""

    feature: list[int]
    """Feature column tested; -1 tests the all-zero column (constant True/False splits)."""
    threshold: list[float]
    below: list[int]
    """Successor when ``x <= t``."""
    above: list[int]
    """Successor when ``x > t``."""
    on_missing: list[int]
    result: list[int]
    """Index of the result (leaf) a state returns, -1 for test states, -2 for the null result."""
    root: int
    depth: int


class Forest:
    """Many trees over one feature matrix, flattened into shared tables."""

    def __init__(self, tables: list[StateTable], n_features: int, use_float32: bool) -> None:
        self.n_features = n_features
        self.dtype = np.float32 if use_float32 else np.float64
        self.zero_column = n_features
        feature: list[int] = []
        threshold: list[float] = []
        succ: list[int] = []
        miss: list[int] = []
        result: list[int] = []
        self.roots: list[int] = []
        self.has_null = any(-2 in table.result for table in tables)
        self.depths: list[int] = []
        offset = 0
        for table in tables:
            count = len(table.result)
            for s in range(count):
                if table.result[s] != -1:  # result state: loop forever on the zero column
                    f, t, a, b, m = self.zero_column, np.inf, s, s, s
                else:
                    f, t = table.feature[s], table.threshold[s]
                    f = self.zero_column if f < 0 else f
                    a, b, m = table.below[s], table.above[s], table.on_missing[s]
                feature += [f, f]
                threshold += [t, t]
                succ += [2 * (a + offset), 2 * (b + offset)]
                miss += [2 * (m + offset), 2 * (m + offset)]
                result += [table.result[s], table.result[s]]
            self.roots.append(2 * (table.root + offset))
            self.depths.append(table.depth)
            offset += count
        self.feature = np.asarray(feature, dtype=np.int32)
        self.threshold: npt.NDArray[Any] = np.asarray(threshold, dtype=self.dtype)
        self.succ = np.asarray(succ, dtype=np.int32)
        self.miss = np.asarray(miss, dtype=np.int32)
        self.result = np.asarray(result, dtype=np.int32)

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def leaves(self, features: F64) -> Iterator[tuple[int, I32]]:
        """For each tree, the result index every row reaches (-2 = null prediction).

        ``features`` is ``[rows, n_features]``; NaN = missing.
        """
        n = features.shape[0]
        matrix = np.zeros((n, self.n_features + 1), dtype=self.dtype)
        matrix[:, : self.n_features] = features
        has_missing = bool(np.isnan(matrix).any())
        width = self.n_features + 1
        out = np.empty((self.n_trees, n), dtype=np.int32)
        for start in range(0, n, BLOCK_ROWS):
            stop = min(n, start + BLOCK_ROWS)
            flat = matrix[start:stop].ravel()
            base = np.arange(stop - start, dtype=np.int32) * np.int32(width)
            for t in range(self.n_trees):
                out[t, start:stop] = self._walk(t, flat, base, has_missing)
        for t in range(self.n_trees):
            yield t, out[t]

    def _walk(self, t: int, flat: npt.NDArray[Any], base: I32, has_missing: bool) -> I32:
        # Preallocated buffers and mode="wrap" (indices are valid by construction) keep numpy
        # from allocating and bounds-checking on every step.
        n = base.shape[0]
        state = np.full(n, self.roots[t], dtype=np.int32)
        index = np.empty(n, dtype=np.int32)
        values = np.empty(n, dtype=flat.dtype)
        limit = np.empty(n, dtype=flat.dtype)
        above = np.empty(n, dtype=np.bool_)
        feature, threshold, succ = self.feature, self.threshold, self.succ
        for _ in range(self.depths[t]):
            feature.take(state, out=index, mode="wrap")
            np.add(index, base, out=index)
            flat.take(index, out=values, mode="wrap")
            threshold.take(state, out=limit, mode="wrap")
            np.greater(values, limit, out=above)
            np.add(state, above, out=index, casting="unsafe")
            if has_missing:
                missing = np.isnan(values)
                if missing.any():
                    fallback = self.miss.take(state[missing])
                    succ.take(index, out=state, mode="wrap")
                    state[missing] = fallback
                    continue
            succ.take(index, out=state, mode="wrap")
        return self.result.take(state)
