"""MiningModel: segmentations, with a fast path that runs tree ensembles as one forest.

``selectAll`` evaluates every segment whose predicate is true. JPMML's prediction is then the
list of those segments' predictions; batchscore's columns hold scalars, so such a MiningModel
has no target column and its segments are read through OutputField@segmentId. For every
method, ``ModelResult.segments`` holds each segment's result where JPMML evaluates the
segment (its predicate is true; for selectFirst, it is the first such segment) and missing
values elsewhere.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.aggregate import (
    CLASSIFICATION_METHODS,
    REGRESSION_METHODS,
    ProbabilityAggregator,
    ValueAggregator,
)
from batchscore.runtime.pmml.compiler import compile_model, find_model, init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import Bool, Column, missing_column
from batchscore.runtime.pmml.multi_target import MULTI_CHAIN, compile_multi_chain
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan, OutputColumn
from batchscore.runtime.pmml.predicates import (
    PREDICATE_TAGS,
    Predicate,
    compile_predicate,
)
from batchscore.runtime.pmml.result import ModelResult, predicted_from_probs, restrict_result
from batchscore.runtime.pmml.targets import TargetSpec, parse_target
from batchscore.runtime.pmml.tree_forest import compile_forest, plain_tree_forest
from batchscore.runtime.pmml.xml import (
    attr,
    child,
    children,
    float_attr,
    require_child,
    require_children,
)

SELECTING = frozenset({"selectFirst", "modelChain", "selectAll"})
CHAINING = frozenset({"modelChain", MULTI_CHAIN})
"""Methods whose later segments read the Output fields of earlier ones."""
VOTING = frozenset({"majorityVote", "weightedMajorityVote"})
METHODS = REGRESSION_METHODS | CLASSIFICATION_METHODS | SELECTING | {MULTI_CHAIN}
METHODS_BY_FUNCTION = {
    "regression": REGRESSION_METHODS | SELECTING | {MULTI_CHAIN},
    "classification": CLASSIFICATION_METHODS | SELECTING | {MULTI_CHAIN},
    "clustering": VOTING | SELECTING,
    "mixed": SELECTING | {MULTI_CHAIN},
}
"""The methods PMML 4.4 (and JPMML, for x-multiModelChain) defines for each function."""
PREDICTION_TREATMENTS = frozenset({"returnMissing", "skipSegment", "continue"})


@dataclass
class Segment:
    id: str
    weight: float
    predicate: Predicate | None
    """None for <True/> (applies to every row)."""
    plan: ModelPlan


def _applied(segment: Segment, ctx: Context) -> Bool | None:
    if segment.predicate is None:
        return None
    return np.asarray(segment.predicate(ctx) == 1.0, dtype=bool)


class MiningPlan(ModelPlan):
    """Generic segmentation: every segment is its own plan."""

    def __init__(self, method: str, segments: list[Segment], skip: bool, target: TargetSpec):
        super().__init__()
        self.method = method
        self.segments = segments
        self.skip_missing = skip
        self.target = target
        self.expose_segments = False
        """Whether the Output reads segments (OutputField@segmentId): fill ``segments``."""

    def _evaluate(self, ctx: Context) -> ModelResult:
        if self.method == "selectAll":
            return self._select_all(ctx)
        if self.method in ("selectFirst", "modelChain"):
            return self._select(ctx)
        evaluated: dict[str, tuple[Bool | None, ModelResult]] = {}
        if self.function == "regression":
            values = ValueAggregator(self.method, ctx.n, self.skip_missing, self.float_math)
            for segment in self.segments:
                result = segment.plan.evaluate(ctx)
                applied = _applied(segment, ctx)
                evaluated[segment.id] = (applied, result)
                value = np.asarray(result.value, dtype=np.float64)
                values.add(value, segment.weight, applied)
            combined = ModelResult(self.target.apply(values.result(), self.float_math))
            return self._with_segments(combined, evaluated, ctx.n)
        probs = ProbabilityAggregator(self.method, self.labels, ctx.n, self.skip_missing)
        for segment in self.segments:
            result = segment.plan.evaluate(ctx)
            applied = _applied(segment, ctx)
            evaluated[segment.id] = (applied, result)
            if self.method in ("majorityVote", "weightedMajorityVote"):
                probs.add_vote(result.value, segment.weight, applied)
            else:
                aligned = np.column_stack([result.probability_of(x) for x in self.labels])
                probs.add_probs(aligned, segment.weight, applied)
        distribution = probs.result()
        combined = ModelResult(
            predicted_from_probs(self.labels, distribution), self.labels, distribution
        )
        return self._with_segments(combined, evaluated, ctx.n)

    def _select(self, ctx: Context) -> ModelResult:
        """selectFirst: the first applicable segment per row; modelChain: the last segment,
        missing where its predicate is not true (as JPMML)."""
        if self.method == "modelChain":
            return self._chain(ctx)
        evaluated: dict[str, tuple[Bool | None, ModelResult]] = {}
        chosen: list[tuple[Bool | None, ModelResult]] = []
        taken = np.zeros(ctx.n, dtype=bool)
        for segment in self.segments:
            applied = _applied(segment, ctx)
            rows = ~taken if applied is None else applied & ~taken
            if not rows.any():
                continue
            chosen.append((rows, segment.plan.evaluate(ctx)))
            evaluated[segment.id] = chosen[-1]
            taken |= rows
            if taken.all():
                break
        combined = _merge(chosen, ctx.n, self.function, self.labels)
        return self._with_segments(combined, evaluated, ctx.n)

    def _chain(self, ctx: Context) -> ModelResult:
        evaluated: dict[str, tuple[Bool | None, ModelResult]] = {}
        if self.expose_segments:
            # JPMML evaluates every applicable segment of a chain, not only the deciding one.
            evaluated = {s.id: (_applied(s, ctx), s.plan.evaluate(ctx)) for s in self.segments}
        last = self.segments[-1]
        applied = _applied(last, ctx)
        if applied is not None and not applied.any():
            combined = _merge([], ctx.n, self.function, self.labels)
        else:
            combined = _merge(
                [(applied, last.plan.evaluate(ctx))], ctx.n, self.function, self.labels
            )
        return self._with_segments(combined, evaluated, ctx.n)

    def _select_all(self, ctx: Context) -> ModelResult:
        evaluated: dict[str, tuple[Bool | None, ModelResult]] = {}
        for segment in self.segments:
            applied = _applied(segment, ctx)
            if applied is None or applied.any():
                evaluated[segment.id] = (applied, segment.plan.evaluate(ctx))
        numeric = self.function == "regression"
        combined = ModelResult(missing_column("double" if numeric else "string", ctx.n))
        return self._with_segments(combined, evaluated, ctx.n, always=True)

    def _with_segments(
        self,
        combined: ModelResult,
        evaluated: dict[str, tuple[Bool | None, ModelResult]],
        n: int,
        always: bool = False,
    ) -> ModelResult:
        """``combined`` with each segment's result where the segment was evaluated."""
        if not (self.expose_segments or always):
            return combined
        segments: dict[str, ModelResult] = {}
        for segment in self.segments:
            if segment.id in evaluated:
                rows, result = evaluated[segment.id]
                segments[segment.id] = restrict_result(result, rows)
            else:
                segments[segment.id] = missing_result(segment.plan, n)
        return dataclasses.replace(combined, segments=segments)


def missing_result(plan: ModelPlan, n: int) -> ModelResult:
    """The result of a model that was not evaluated for any row."""
    return ModelResult(missing_column(plan.target_type, n), plan.labels)


def _merge(
    chosen: list[tuple[Bool | None, ModelResult]], n: int, function: str, labels: tuple[str, ...]
) -> ModelResult:
    if len(chosen) == 1 and bool(np.all(chosen[0][0])):
        return chosen[0][1]
    numeric = function == "regression"
    value: Column = np.full(n, np.nan) if numeric else np.full(n, None, dtype=object)
    probs = np.full((n, len(labels)), np.nan) if labels else None
    ids: Column = missing_column("string", n)
    for rows, result in chosen:
        mask = np.ones(n, dtype=bool) if rows is None else rows
        value[mask] = result.value[mask]
        if probs is not None:
            for j, label in enumerate(labels):
                probs[mask, j] = result.probability_of(label)[mask]
        if result.entity_ids is not None:
            ids[mask] = result.entity_ids[mask]
    return ModelResult(value, labels, probs, entity_ids=ids)


def _segments(segmentation: etree._Element) -> list[etree._Element]:
    return require_children(segmentation, "Segment")


def compile_mining(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    segmentation = require_child(element, "Segmentation")
    if child(segmentation, "LocalTransformations") is not None:
        raise ModelError("Unsupported PMML feature: Segmentation/LocalTransformations.")
    method = attr(segmentation, "multipleModelMethod") or ""
    if method not in METHODS:
        raise ModelError(f"Unsupported PMML feature: Segmentation@multipleModelMethod={method}.")
    treatment = attr(segmentation, "missingPredictionTreatment", "continue") or "continue"
    if treatment not in PREDICTION_TREATMENTS:
        raise ModelError(f"Unsupported PMML feature: missingPredictionTreatment={treatment}.")
    skip = treatment != "returnMissing"
    function = header.function
    allowed = METHODS_BY_FUNCTION.get(function)
    if allowed is None and method != "selectAll":
        raise ModelError(f"Unsupported PMML feature: MiningModel@functionName={function}.")
    if allowed is not None and method not in allowed:
        raise ModelError(f"Invalid PMML: multipleModelMethod={method} for {function}.")
    segments = _segments(segmentation)
    target = parse_target(element, header.target_name)
    known = header.target.labels if header.target is not None else ()
    wanted = _segment_outputs(element)
    if method == "selectAll":
        _refuse_combined_outputs(element)
    elif (
        method in REGRESSION_METHODS | CLASSIFICATION_METHODS
        and not wanted
        and (plain_tree_forest(segments, function))
    ):
        return compile_forest(segments, scope, header, method, skip, target, known)
    compiled: list[Segment] = []
    chain = Scope(scope)
    for element_segment in segments:
        predicate_el = require_child(element_segment, PREDICATE_TAGS, what="predicate")
        predicate = None if predicate_el.tag == "True" else compile_predicate(predicate_el, chain)
        plan = compile_model(find_model(element_segment), env, chain, top_level=False)
        segment = Segment(
            attr(element_segment, "id") or str(len(compiled) + 1),
            float_attr(element_segment, "weight", 1.0),
            predicate,
            plan,
        )
        compiled.append(segment)
        if method in CHAINING:
            for column in plan.outputs:
                chain.define(column.name, _masked(column.expr, predicate))
    if method == MULTI_CHAIN:
        return compile_multi_chain(
            header,
            [
                (s.plan, s.predicate, [_masked_column(c, s.predicate) for c in s.plan.outputs])
                for s in compiled
            ],
        )
    labels = known
    if function in ("classification", "clustering") and not labels:
        seen: list[str] = []
        for segment in compiled:
            seen += [x for x in segment.plan.labels if x not in seen]
        labels = tuple(seen)
    plan = MiningPlan(method, compiled, skip, target)
    init_plan(plan, header, labels)
    plan.outputs = _nested_outputs(method, compiled)
    for segment in compiled:
        if segment.id in plan.segment_plans:
            raise ModelError(f"Invalid PMML: Segment id {segment.id!r} is used twice.")
        plan.segment_plans[segment.id] = segment.plan
    plan.expose_segments = wanted
    if method == "selectAll":
        plan.target_name = None
    elif function == "mixed":
        _take_target_facts(plan, compiled[-1 if method == "modelChain" else 0].plan)
    return plan


def _take_target_facts(plan: ModelPlan, decider: ModelPlan) -> None:
    """A ``mixed`` MiningModel predicts what its deciding segment predicts."""
    plan.function = decider.function
    plan.target_type = decider.target_type
    plan.target_optype = decider.target_optype
    plan.labels = decider.labels
    plan.display_values = decider.display_values | plan.display_values


def _masked_column(column: OutputColumn, predicate: Predicate | None) -> OutputColumn:
    return OutputColumn(column.name, _masked(column.expr, predicate))


def _output_fields(element: etree._Element) -> list[etree._Element]:
    output = child(element, "Output")
    return children(output, "OutputField") if output is not None else []


def _segment_outputs(element: etree._Element) -> bool:
    """Whether the model's Output reads its segments' results (OutputField@segmentId)."""
    return any(field.get("segmentId") is not None for field in _output_fields(element))


def _refuse_combined_outputs(element: etree._Element) -> None:
    """selectAll has no combined prediction to read (JPMML's is a list per row)."""
    for field in _output_fields(element):
        feature = field.get("feature", "predictedValue")
        if field.get("segmentId") is None and feature not in ("transformedValue", "decision"):
            raise ModelError(
                f"Unsupported PMML feature: OutputField@feature={feature} without segmentId "
                f"of a selectAll MiningModel ({field.get('name')}): its prediction is a list "
                "of segment predictions."
            )


def _masked(expr: Expr, predicate: Predicate | None) -> Expr:
    if predicate is None:
        return expr
    inner = expr.fn

    def evaluate(ctx: Context) -> Column:
        column = inner(ctx).copy()
        off = np.asarray(predicate(ctx) != 1.0, dtype=bool)
        column[off] = None if column.dtype == object else np.nan
        return column

    return Expr(evaluate, expr.data_type, expr.optype)


def _nested_outputs(method: str, segments: list[Segment]) -> list[OutputColumn]:
    """JPMML exposes the outputs of the segments that can decide the result, depth first."""
    if method == "modelChain":
        tail: list[Segment] = []
        for segment in reversed(segments):
            tail.insert(0, segment)
            if segment.predicate is None:
                break
        active = tail
    elif method == "selectFirst":
        active = []
        for segment in segments:
            active.append(segment)
            if segment.predicate is None:
                break
    else:
        return []
    columns: list[OutputColumn] = []
    for segment in active:
        for column in segment.plan.outputs:
            columns.append(OutputColumn(column.name, _masked(column.expr, segment.predicate)))
    return columns
