"""Combining per-segment predictions (the Segmentation multipleModelMethods)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.runtime.pmml.datatypes import F64, Bool, Column, missing_mask

REGRESSION_METHODS = frozenset(
    {"sum", "weightedSum", "average", "weightedAverage", "median", "weightedMedian", "max"}
)
WEIGHTED_METHODS = frozenset({"weightedAverage", "weightedSum", "weightedMedian"})
"""Methods that use Segment@weight (the others weigh every segment 1)."""
STACKED_METHODS = frozenset({"median", "weightedMedian", "max"})
"""Methods that need every segment's values, not a running total."""
CLASSIFICATION_METHODS = frozenset(
    {"average", "weightedAverage", "median", "max", "majorityVote", "weightedMajorityVote"}
)


class ValueAggregator:
    """Sums, averages, medians or maxima of segment values, one segment at a time.

    ``skip_missing`` (missingPredictionTreatment skipSegment/continue) drops a segment's missing
    prediction instead of making the row missing. ``weightedSum`` adds weight times value;
    ``weightedMedian`` is, as in JPMML, the smallest value (in value order, ties in segment
    order) at which the running sum of weights reaches half of all weights (no averaging of two
    middle values). Under ``x-mathContext="float"`` weights and sums are float32.
    """

    def __init__(self, method: str, n: int, skip_missing: bool, float_math: bool = False) -> None:
        self.method = method
        self.skip_missing = skip_missing
        self.float_math = float_math
        dtype = np.float32 if float_math else np.float64
        self.total: npt.NDArray[Any] = np.zeros(n, dtype=dtype)
        self.weights = np.zeros(n)
        self.uniform_weight = 0.0
        self.count = np.zeros(n)
        """Segments that contributed per row (besides those counted in ``uniform_count``)."""
        self.uniform_count = 0
        self.missing = np.zeros(n, dtype=bool)
        self.values: list[F64] = []
        self.applied: list[Bool] = []
        self.segment_weights: list[float] = []

    def add(
        self, value: F64, weight: float, applied: Bool | None = None, complete: bool = False
    ) -> None:
        """Add one segment's values; ``complete`` promises they have no missing value."""
        w = weight if self.method in WEIGHTED_METHODS else 1.0
        if self.float_math:
            w = float(np.float32(w))
        if (
            applied is None
            and self.method not in STACKED_METHODS
            and (complete or not np.isnan(value).any())
        ):
            contribution = value * w if w != 1.0 else value
            self.total += contribution.astype(np.float32) if self.float_math else contribution
            self.uniform_weight += w
            self.uniform_count += 1
            return
        missing = np.isnan(value)
        use = ~missing if applied is None else applied & ~missing
        if not self.skip_missing:
            self.missing |= missing if applied is None else missing & applied
        if self.method in STACKED_METHODS:
            self.values.append(value)
            self.applied.append(use)
            self.segment_weights.append(w)
            return
        contribution = value * w if w != 1.0 else value
        if self.float_math:
            self.total += np.where(use, contribution, 0.0).astype(np.float32)
        elif applied is None and not missing.any():
            self.total += contribution
        else:
            self.total += np.where(use, contribution, 0.0)
        self.weights += np.where(use, w, 0.0)
        self.count += use

    def result(self) -> F64:
        if self.method == "weightedMedian":
            out = self._weighted_median()
        elif self.method in ("median", "max"):
            stacked = np.vstack(self.values) if self.values else np.empty((0, self.missing.size))
            usable = np.vstack(self.applied) if self.applied else np.zeros_like(stacked, dtype=bool)
            masked = np.where(usable, stacked, np.nan)
            count = usable.sum(axis=0)
            with np.errstate(all="ignore"):
                if self.method == "max":
                    out = np.fmax.reduce(masked, axis=0) if len(masked) else masked.sum(axis=0)
                else:
                    ordered = np.sort(masked, axis=0)
                    cols = np.arange(masked.shape[1])
                    top = max(masked.shape[0] - 1, 0)
                    hi = np.clip(count // 2, 0, top)
                    lo = np.clip((count - 1) // 2, 0, top)
                    out = (ordered[hi, cols] + ordered[lo, cols]) / 2.0
            out = np.where(count > 0, out, np.nan)
        else:
            out = self.total.astype(np.float64)
            if self.method in ("average", "weightedAverage"):
                weights = self._weights
                with np.errstate(all="ignore"):
                    out = np.where(weights > 0, out / weights, np.nan)
            else:
                out = np.where(self.count + self.uniform_count > 0, out, np.nan)
        out[self.missing] = np.nan
        return out

    @property
    def _weights(self) -> F64:
        return self.weights + self.uniform_weight

    def _weighted_median(self) -> F64:
        n = self.missing.size
        if not self.values:
            return np.full(n, np.nan)
        values = np.vstack(self.values)
        usable = np.vstack(self.applied)
        weights = np.where(usable, np.asarray(self.segment_weights)[:, None], 0.0)
        order = np.argsort(np.where(usable, values, np.inf), axis=0, kind="stable")
        ordered = np.take_along_axis(values, order, axis=0)
        running = np.cumsum(np.take_along_axis(weights, order, axis=0), axis=0)
        if self.float_math:
            half = np.float32(0.5) * weights.astype(np.float32).sum(axis=0, dtype=np.float32)
        else:
            half = 0.5 * weights.sum(axis=0)
        reached = running >= half
        first = np.argmax(reached, axis=0)
        cols = np.arange(n)
        out = np.where(reached[first, cols] & usable.any(axis=0), ordered[first, cols], np.nan)
        return np.asarray(out, dtype=np.float64)


class ProbabilityAggregator:
    """Averages, medians or maxima of class distributions, or (weighted) votes."""

    def __init__(self, method: str, labels: tuple[str, ...], n: int, skip_missing: bool) -> None:
        self.method = method
        self.labels = labels
        self.skip_missing = skip_missing
        self.total = np.zeros((n, len(labels)))
        self.weights = np.zeros(n)
        self.uniform_weight = 0.0
        self.missing = np.zeros(n, dtype=bool)
        self.stack: list[F64] = []
        self.applied: list[Bool] = []

    def add_probs(
        self, probs: F64, weight: float, applied: Bool | None = None, complete: bool = False
    ) -> None:
        """Add one segment's distributions; ``complete`` promises no row is missing."""
        if complete and applied is None and self.method in ("average", "weightedAverage"):
            w = weight if self.method == "weightedAverage" else 1.0
            self.total += probs * w if w != 1.0 else probs
            self.uniform_weight += w
            return
        missing: Bool = np.asarray(np.isnan(probs).any(axis=1), dtype=np.bool_)
        use: Bool = ~missing if applied is None else applied & ~missing
        if not self.skip_missing:
            self.missing |= missing if applied is None else missing & applied
        if self.method in ("median", "max"):
            self.stack.append(probs)
            self.applied.append(use)
            return
        w = weight if self.method == "weightedAverage" else 1.0
        if applied is None and not missing.any():
            self.total += probs * w if w != 1.0 else probs
        else:
            self.total += np.where(use[:, None], probs * w, 0.0)
        self.weights += np.where(use, w, 0.0)

    def add_vote(self, labels: Column, weight: float, applied: Bool | None = None) -> None:
        missing = missing_mask(labels)
        use: Bool = ~missing if applied is None else applied & ~missing
        if not self.skip_missing:
            self.missing |= missing if applied is None else missing & applied
        w = weight if self.method == "weightedMajorityVote" else 1.0
        for j, label in enumerate(self.labels):
            self.total[:, j] += np.where(use & (labels == label), w, 0.0)
        self.weights += np.where(use, w, 0.0)

    def result(self) -> F64:
        if self.method in ("median", "max"):
            n = self.missing.size
            stacked = np.stack(self.stack) if self.stack else np.empty((0, n, len(self.labels)))
            usable = np.stack(self.applied) if self.applied else np.zeros((0, n), dtype=bool)
            masked = np.where(usable[:, :, None], stacked, np.nan)
            count = usable.sum(axis=0)
            with np.errstate(all="ignore"):
                if self.method == "max":
                    out = np.fmax.reduce(masked, axis=0) if len(masked) else masked.sum(axis=0)
                else:
                    ordered = np.sort(masked, axis=0)
                    top = max(masked.shape[0] - 1, 0)
                    hi = np.clip(count // 2, 0, top)
                    lo = np.clip((count - 1) // 2, 0, top)
                    rows = np.arange(n)
                    out = (ordered[hi, rows, :] + ordered[lo, rows, :]) / 2.0
                sums = out.sum(axis=1, keepdims=True)
                out = out / sums
            out[count == 0] = np.nan
        else:
            weights = self.weights + self.uniform_weight
            with np.errstate(all="ignore"):
                out = self.total / weights[:, None]
            out[weights == 0] = np.nan
        out[self.missing] = np.nan
        return np.asarray(out, dtype=np.float64)
