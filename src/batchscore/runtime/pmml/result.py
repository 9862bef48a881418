"""What a model produces for a batch, before its Output fields are derived."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from batchscore.runtime.pmml.datatypes import F64, Bool, Column


@dataclass
class ModelResult:
    """Predictions for every row of a batch.

    ``value`` is the predicted value: float64 for regression, an object array of category
    labels (document text) for classification and clustering. ``probs`` is ``[rows, labels]``.
    """

    value: Column
    labels: tuple[str, ...] = ()
    probs: F64 | None = None
    entity_ids: Column | None = None
    affinities: F64 | None = None
    affinity_ids: tuple[str, ...] = ()
    entity_ranking: Column | None = None
    """[rows, r]: the ids of the r best entities (nearest first), for OutputField@rank."""
    affinity_ranking: F64 | None = None
    """[rows, r]: the affinities of those entities."""
    extra: dict[str, Column] = field(default_factory=dict)
    """Model-specific output features by OutputField@feature name (``reasonCode``,
    ``ruleValue``, ``warning``, ``standardError``, ...): a column ``[rows]`` or, for features
    that take OutputField@rank, a table ``[rows, r]`` best first."""
    segments: dict[str, ModelResult] = field(default_factory=dict)
    """Per-segment results by Segment@id, for OutputField@segmentId (MiningModel)."""

    def probability_of(self, label: str) -> F64:
        n = self.value.shape[0]
        if self.probs is None or label not in self.labels:
            missing = np.full(n, np.nan)
            if self.probs is not None:
                missing[~np.isnan(self.probs).any(axis=1)] = 0.0
            return missing
        return self.probs[:, self.labels.index(label)]


def predicted_from_probs(labels: tuple[str, ...], probs: F64) -> Column:
    """The first label of highest probability per row (None where the row is missing)."""
    out = np.full(probs.shape[0], None, dtype=object)
    if not labels:
        return out
    present = ~np.isnan(probs).any(axis=1)
    best = np.argmax(np.where(np.isnan(probs), -np.inf, probs), axis=1)
    out[present] = np.array(labels, dtype=object)[best[present]]
    return out


def restrict_result(result: ModelResult, rows: Bool | None) -> ModelResult:
    """``result`` with every value outside ``rows`` missing (None: every row kept)."""
    if rows is None or bool(rows.all()):
        return result
    off = ~rows

    def maybe(column: Column | None) -> Column | None:
        return None if column is None else _blank(column, off)

    return dataclasses.replace(
        result,
        value=_blank(result.value, off),
        probs=maybe(result.probs),
        entity_ids=maybe(result.entity_ids),
        affinities=maybe(result.affinities),
        entity_ranking=maybe(result.entity_ranking),
        affinity_ranking=maybe(result.affinity_ranking),
        extra={key: _blank(column, off) for key, column in result.extra.items()},
        segments={key: restrict_result(r, rows) for key, r in result.segments.items()},
    )


def _blank(column: Column, off: Bool) -> Column:
    out = column.copy()
    out[off] = None if out.dtype == object else np.nan
    return out
