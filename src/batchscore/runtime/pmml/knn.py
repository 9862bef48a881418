"""NearestNeighborModel: k nearest training instances (InlineTable) by the ComparisonMeasure.

As JPMML: instances are ranked by a stable sort (equal distances keep table order); a
categorical target takes the (weighted) majority vote of the k neighbours, ties going to the
category most frequent in the whole training table, then to the smallest value; a continuous
target takes their average, weighted average (weights ``1 / (distance + threshold)``) or
median. ``entityId`` of rank r is the r-th nearest instance's id (``instanceIdVariable``, else
its 1-based row in the table).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.arrays import chunk_rows, chunks
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import (
    F64,
    Column,
    cast_column,
    format_scalar,
    is_numeric,
    missing_mask,
)
from batchscore.runtime.pmml.measures import (
    FieldCompare,
    Measure,
    distances,
    nearest_first,
    parse_field_compare,
    parse_measure,
)
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.transforms import column_key, inline_table
from batchscore.runtime.pmml.xml import (
    attr,
    children,
    float_attr,
    require_attr,
    require_child,
    require_children,
)

CHUNK_CELLS = 1 << 18
"""Cells of the [rows x instances] distance block of a chunk of rows (2 MiB, cache-sized)."""
SMALL_DEPTH = 16
"""Up to this many ranks, neighbours are found by repeated argmin instead of a sort."""

CATEGORICAL = frozenset({"majorityVote", "weightedMajorityVote"})
CONTINUOUS = frozenset({"average", "weightedAverage", "median"})


class KnnPlan(ModelPlan):
    def __init__(
        self,
        inputs: list[tuple[Expr, dict[str, float] | None]],
        compares: list[FieldCompare],
        measure: Measure,
        instances: F64,
        targets: Column,
        classes: tuple[tuple[str, ...], npt.NDArray[np.intp], F64],
        ids: Column,
        k: int,
        method: str,
        threshold: float,
    ) -> None:
        super().__init__()
        self.inputs = inputs
        self.compares = compares
        self.measure = measure
        self.instances = instances
        self.targets = targets
        self.classes = classes
        self.ids = ids
        self.k = k
        self.method = method
        self.threshold = threshold

    def _matrix(self, ctx: Context) -> F64:
        x = np.empty((ctx.n, len(self.inputs)))
        for j, (expr, codes) in enumerate(self.inputs):
            column = expr(ctx)
            if codes is None:
                x[:, j] = column
            else:
                x[:, j] = _encode(column, codes)
        return x

    def _evaluate(self, ctx: Context) -> ModelResult:
        x = self._matrix(ctx)
        width = self.instances.shape[0]
        depth = min(max(self.k, self.ranks_wanted), width)
        order = np.empty((ctx.n, depth), dtype=np.intp)
        near = np.empty((ctx.n, depth))
        block = np.empty((chunk_rows(width, CHUNK_CELLS), width))
        for rows in chunks(ctx.n, width, CHUNK_CELLS):
            out = block[: rows.stop - rows.start]
            d = distances(self.measure, self.compares, x[rows], self.instances, out=out)
            order[rows], near[rows] = _nearest(d, depth, self.measure)
        undefined = np.isnan(near[:, 0]) | ctx.invalid
        neighbours = order[:, : self.k]
        value = self._score(neighbours, near[:, : self.k])
        if value.dtype == object:
            value[undefined] = None
        else:
            value[undefined] = np.nan
        ranking = self.ids[order]
        ranking[undefined] = None
        near[undefined] = np.nan
        return ModelResult(
            value,
            entity_ids=ranking[:, 0].copy(),
            entity_ranking=ranking,
            affinity_ranking=near,
        )

    def _weights(self, near: F64) -> F64:
        with np.errstate(divide="ignore"):
            return 1.0 / (near + self.threshold)

    def _score(self, neighbours: npt.NDArray[np.intp], near: F64) -> Column:
        if self.method in CONTINUOUS:
            y = np.asarray(self.targets, dtype=np.float64)[neighbours]
            if self.method == "median":
                return np.asarray(np.median(y, axis=1), dtype=np.float64)
            if self.method == "average":
                total = np.zeros(y.shape[0])
                for j in range(y.shape[1]):
                    total += y[:, j]
                out: F64 = total / y.shape[1]
                return out
            w = self._weights(near)
            total = np.zeros(y.shape[0])
            weights = np.zeros(y.shape[0])
            for j in range(y.shape[1]):
                total += y[:, j] * w[:, j]
                weights += w[:, j]
            return total / weights
        classes, codes_of, rank = self.classes
        codes = codes_of[neighbours]
        w = self._weights(near) if self.method == "weightedMajorityVote" else np.ones(near.shape)
        votes = np.zeros((neighbours.shape[0], len(classes)))
        rows = np.arange(neighbours.shape[0])
        for j in range(neighbours.shape[1]):
            votes[rows, codes[:, j]] += w[:, j]
        tied = votes == votes.max(axis=1, keepdims=True)
        best = np.argmax(np.where(tied, rank[None, :], -1.0), axis=1)
        predicted: Column = np.array(classes, dtype=object)[best]
        return predicted


def _nearest(d: F64, depth: int, measure: Measure) -> tuple[npt.NDArray[np.intp], F64]:
    """The ``depth`` nearest references per row and their distances, in the order of a stable
    sort of :func:`nearest_first` (ties in table order).

    For a few neighbours, ``depth`` passes of argmin (the first minimum, so ties keep table
    order), each marking its pick with +inf in ``d`` (restored at the end); rows whose pick is
    NaN or infinite, where marks and values could be confused, get the stable sort.
    """
    if depth > SMALL_DEPTH:
        ranked = np.argsort(nearest_first(d, measure), axis=1, kind="stable")[:, :depth]
        return ranked, np.take_along_axis(d, ranked, axis=1)
    pick = np.argmin if measure.is_distance else np.argmax
    mark = np.inf if measure.is_distance else -np.inf
    rows = np.arange(d.shape[0])
    ranked = np.empty((d.shape[0], depth), dtype=np.intp)
    near = np.empty((d.shape[0], depth))
    for r in range(depth):
        best = pick(d, axis=1)
        ranked[:, r] = best
        near[:, r] = d[rows, best]
        d[rows, best] = mark
    for r in reversed(range(depth)):  # a re-picked mark is restored before the value
        d[rows, ranked[:, r]] = near[:, r]
    odd = ~np.isfinite(near).all(axis=1)
    if odd.any():
        ranked[odd] = np.argsort(nearest_first(d[odd], measure), axis=1, kind="stable")[:, :depth]
        near[odd] = np.take_along_axis(d[odd], ranked[odd], axis=1)
    return ranked, near


def _encode(column: Column, codes: dict[str, float]) -> F64:
    out = np.full(column.shape[0], np.nan)
    present = ~missing_mask(column)
    for value in np.unique(column[present].astype(str)):
        out[present & (column == value)] = codes.get(value, -1.0)
    return out


def _classes(targets: Column, numeric: bool) -> tuple[tuple[str, ...], npt.NDArray[np.intp], F64]:
    """The target categories, each instance's category index and each category's tie-break
    rank (higher wins: more frequent in the table, then the smaller value)."""
    if any(x is None for x in targets):
        raise ModelError("Invalid PMML: a training instance has no target value.")
    counts: dict[str, int] = {}
    for x in targets:
        counts[x] = counts.get(x, 0) + 1
    classes = tuple(counts)
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index[x] for x in targets], dtype=np.intp)

    def order(c: str) -> tuple[int, float | str]:
        return (-counts[c], float(c) if numeric else c)

    ordered = sorted(classes, key=order)
    rank = np.array([float(len(ordered) - ordered.index(c)) for c in classes])
    return classes, codes, rank


def compile_knn(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    if header.function not in ("classification", "regression"):
        raise ModelError(
            f"Unsupported PMML feature: NearestNeighborModel@functionName={header.function}."
        )
    if header.target is None or header.target_name is None:
        raise ModelError("Invalid PMML: NearestNeighborModel has no target field.")
    k = int(require_attr(element, "numberOfNeighbors"))
    measure = parse_measure(require_child(element, "ComparisonMeasure", owner="the model"))
    training = require_child(element, "TrainingInstances")
    fields_el = require_child(element, "TrainingInstances/InstanceFields", what="TrainingInstances")
    columns = {
        require_attr(f, "field"): column_key(require_attr(f, "column"))
        for f in children(fields_el, "InstanceField")
    }
    rows = inline_table(training)
    if k < 1 or k > len(rows):
        raise ModelError(f"Invalid PMML: numberOfNeighbors={k} for {len(rows)} instances.")
    raw = {
        name: np.array([row.get(column) or None for row in rows], dtype=object)
        for name, column in columns.items()
    }
    table_ctx = Context(len(rows), raw)
    require_children(element, "KNNInputs/KNNInput", what="KNNInputs")
    knn_inputs = require_child(element, "KNNInputs")
    inputs: list[tuple[Expr, dict[str, float] | None]] = []
    compares: list[FieldCompare] = []
    instance_columns: list[F64] = []
    for item in children(knn_inputs, "KNNInput"):
        name = require_attr(item, "field")
        expr = scope.resolve(name)
        values = cast_column(expr.data_type, raw[name]) if name in raw else expr(table_ctx)
        compares.append(parse_field_compare(item, measure))
        if is_numeric(expr.data_type):
            inputs.append((expr, None))
            instance_columns.append(np.asarray(values, dtype=np.float64))
        else:
            texts = [str(v) for v in values if v is not None]
            codes = {v: float(i) for i, v in enumerate(dict.fromkeys(texts))}
            inputs.append((expr, codes))
            instance_columns.append(_encode(values, codes))
    instances = np.column_stack(instance_columns)
    target_name = header.target_name
    if target_name not in raw:
        raise ModelError(f"Invalid PMML: InstanceFields has no column for {target_name!r}.")
    categorical = header.target.optype != "continuous"
    method_attr = "categoricalScoringMethod" if categorical else "continuousScoringMethod"
    method = attr(element, method_attr) or ("majorityVote" if categorical else "average")
    if method not in (CATEGORICAL if categorical else CONTINUOUS):
        raise ModelError(f"Unsupported PMML feature: {method_attr}={method}.")
    if categorical:
        targets = cast_column(header.target.data_type, raw[target_name])
        if is_numeric(header.target.data_type):
            targets = np.array(
                [format_scalar(float(v)) if not np.isnan(v) else None for v in targets],
                dtype=object,
            )
    else:
        targets = cast_column("double", raw[target_name])
        if np.isnan(targets).any():
            raise ModelError(f"Invalid PMML: a training instance has no {target_name!r}.")
    id_name = attr(element, "instanceIdVariable")
    if id_name is not None:
        if id_name not in raw:
            raise ModelError(f"Invalid PMML: InstanceFields has no column for {id_name!r}.")
        ids = np.asarray(raw[id_name], dtype=object)
    else:
        ids = np.array([str(i + 1) for i in range(len(rows))], dtype=object)
    plan = KnnPlan(
        inputs,
        compares,
        measure,
        instances,
        targets,
        _classes(targets, is_numeric(header.target.data_type))
        if categorical
        else ((), np.zeros(0, dtype=np.intp), np.zeros(0)),
        ids,
        k,
        method,
        float_attr(element, "threshold", 0.001),
    )
    labels = header.target.labels if categorical else ()
    init_plan(plan, header, labels)
    return plan
