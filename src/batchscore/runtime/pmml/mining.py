"""MiningModel: segmentations, with a fast path that runs tree ensembles as one forest."""

from __future__ import annotations

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
from batchscore.runtime.pmml.compiler import (
    ModelHeader,
    compile_model,
    find_model,
    init_plan,
    register,
)
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import Bool, Column, missing_column
from batchscore.runtime.pmml.forest import Forest
from batchscore.runtime.pmml.plan import Environment, ModelPlan, OutputColumn
from batchscore.runtime.pmml.predicates import Predicate, compile_predicate, find_predicate
from batchscore.runtime.pmml.result import ModelResult, predicted_from_probs
from batchscore.runtime.pmml.targets import TargetSpec, parse_target
from batchscore.runtime.pmml.tree import (
    FeatureRegistry,
    LeafTables,
    NodeResult,
    compile_tree,
    result_rows,
    tree_labels,
)
from batchscore.runtime.pmml.xml import attr, child, children, float_attr

METHODS = REGRESSION_METHODS | CLASSIFICATION_METHODS | {"selectFirst", "modelChain"}
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

    def _evaluate(self, ctx: Context) -> ModelResult:
        if self.method in ("selectFirst", "modelChain"):
            return self._select(ctx)
        if self.function == "regression":
            values = ValueAggregator(self.method, ctx.n, self.skip_missing, self.float_math)
            for segment in self.segments:
                result = segment.plan.evaluate(ctx)
                value = np.asarray(result.value, dtype=np.float64)
                values.add(value, segment.weight, _applied(segment, ctx))
            return ModelResult(self.target.apply(values.result(), self.float_math))
        probs = ProbabilityAggregator(self.method, self.labels, ctx.n, self.skip_missing)
        for segment in self.segments:
            result = segment.plan.evaluate(ctx)
            applied = _applied(segment, ctx)
            if self.method in ("majorityVote", "weightedMajorityVote"):
                probs.add_vote(result.value, segment.weight, applied)
            else:
                aligned = np.column_stack([result.probability_of(x) for x in self.labels])
                probs.add_probs(aligned, segment.weight, applied)
        distribution = probs.result()
        return ModelResult(
            predicted_from_probs(self.labels, distribution), self.labels, distribution
        )

    def _select(self, ctx: Context) -> ModelResult:
        """selectFirst: the first applicable segment per row; modelChain: the last one."""
        chosen: list[tuple[Bool | None, ModelResult]] = []
        taken = np.zeros(ctx.n, dtype=bool)
        order = self.segments if self.method == "selectFirst" else self.segments[::-1]
        for segment in order:
            applied = _applied(segment, ctx)
            rows = ~taken if applied is None else applied & ~taken
            if not rows.any():
                continue
            chosen.append((rows, segment.plan.evaluate(ctx)))
            taken |= rows
            if taken.all():
                break
        return _merge(chosen, ctx.n, self.function, self.labels)


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


class ForestPlan(ModelPlan):
    """A segmentation of plain TreeModels under <True/>: all trees walk in one kernel."""

    def __init__(
        self,
        method: str,
        registry: FeatureRegistry,
        forest: Forest,
        tables: LeafTables,
        n_results: int,
        weights: list[float],
        skip: bool,
        target: TargetSpec,
        float_math: bool,
        function: str,
    ) -> None:
        super().__init__()
        self.function_hint = function
        self.method = method
        self.registry = registry
        self.forest = forest
        self.tables = tables
        self.n_results = n_results
        self.weights = weights
        self.skip_missing = skip
        self.target = target
        self.tree_float_math = float_math
        values = tables.values.astype(np.float32) if float_math else tables.values
        self.leaf_values = values
        if self.function_hint == "classification":
            self.leaves_complete = not np.isnan(tables.probs[:-1]).any()
        else:
            self.leaves_complete = not np.isnan(values[:-1]).any()

    def _evaluate(self, ctx: Context) -> ModelResult:
        features = self.registry.matrix(ctx)
        may_be_null = self.forest.has_null
        if self.function == "regression":
            values = ValueAggregator(self.method, ctx.n, self.skip_missing, self.tree_float_math)
            for t, leaves in self.forest.leaves(features):
                complete = self.leaves_complete and not (may_be_null and (leaves < 0).any())
                rows = result_rows(leaves, self.n_results) if not complete else leaves
                value = self.leaf_values.take(rows)
                values.add(value.astype(np.float64), self.weights[t], complete=complete)
            return ModelResult(self.target.apply(values.result(), self.float_math))
        probs = ProbabilityAggregator(self.method, self.labels, ctx.n, self.skip_missing)
        vote = self.method in ("majorityVote", "weightedMajorityVote")
        for t, leaves in self.forest.leaves(features):
            complete = self.leaves_complete and not (may_be_null and (leaves < 0).any())
            rows = result_rows(leaves, self.n_results) if not complete else leaves
            if vote:
                probs.add_vote(self.tables.labels[rows], self.weights[t])
            else:
                gathered = self.tables.probs.take(rows, axis=0)
                probs.add_probs(gathered, self.weights[t], complete=complete)
        distribution = probs.result()
        return ModelResult(
            predicted_from_probs(self.labels, distribution), self.labels, distribution
        )


def _segments(segmentation: etree._Element) -> list[etree._Element]:
    segments = children(segmentation, "Segment")
    if not segments:
        raise ModelError("Invalid PMML: Segmentation has no Segment.")
    return segments


def _plain_tree_forest(segments: list[etree._Element], function: str) -> bool:
    for segment in segments:
        predicate = find_predicate(segment)
        model = find_model(segment)
        if predicate is None or predicate.tag != "True" or model.tag != "TreeModel":
            return False
        if attr(model, "functionName") != function:
            return False
        if any(child(model, tag) is not None for tag in ("Output", "LocalTransformations")):
            return False
        if child(model, "Targets") is not None:
            return False
    return True


def _tree_scope(model: etree._Element, scope: Scope) -> Scope:
    """A segment tree sees the parent's fields; its MiningSchema must name known fields."""
    schema = child(model, "MiningSchema")
    for mining_field in children(schema if schema is not None else model, "MiningField"):
        name = mining_field.get("name") or ""
        usage = mining_field.get("usageType", "active")
        if usage == "active" and not scope.has(name):
            raise ModelError(f"Invalid PMML: field {name!r} is not declared.")
    return scope


def compile_mining(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    segmentation = child(element, "Segmentation")
    if segmentation is None:
        raise ModelError("Invalid PMML: MiningModel has no Segmentation.")
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
    if function == "regression" and method not in REGRESSION_METHODS | {
        "selectFirst",
        "modelChain",
    }:
        raise ModelError(f"Invalid PMML: multipleModelMethod={method} for regression.")
    if function == "classification" and method not in CLASSIFICATION_METHODS | {
        "selectFirst",
        "modelChain",
    }:
        raise ModelError(f"Invalid PMML: multipleModelMethod={method} for classification.")
    if function not in ("regression", "classification"):
        raise ModelError(f"Unsupported PMML feature: MiningModel@functionName={function}.")
    segments = _segments(segmentation)
    target = parse_target(element, header.target_name)
    known = header.target.labels if header.target is not None else ()
    if method not in ("selectFirst", "modelChain") and _plain_tree_forest(segments, function):
        return _compile_forest(segments, scope, header, method, skip, target, known)
    compiled: list[Segment] = []
    chain = Scope(scope)
    for element_segment in segments:
        predicate_el = find_predicate(element_segment)
        if predicate_el is None:
            raise ModelError("Invalid PMML: Segment has no predicate.")
        predicate = None if predicate_el.tag == "True" else compile_predicate(predicate_el, chain)
        plan = compile_model(find_model(element_segment), env, chain, top_level=False)
        segment = Segment(
            attr(element_segment, "id") or str(len(compiled) + 1),
            float_attr(element_segment, "weight", 1.0),
            predicate,
            plan,
        )
        compiled.append(segment)
        if method == "modelChain":
            for column in plan.outputs:
                chain.define(column.name, _masked(column.expr, predicate))
    labels = known
    if function == "classification" and not labels:
        seen: list[str] = []
        for segment in compiled:
            seen += [x for x in segment.plan.labels if x not in seen]
        labels = tuple(seen)
    plan = MiningPlan(method, compiled, skip, target)
    init_plan(plan, header, labels)
    plan.outputs = _nested_outputs(method, compiled)
    return plan


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


def _compile_forest(
    segments: list[etree._Element],
    scope: Scope,
    header: ModelHeader,
    method: str,
    skip: bool,
    target: TargetSpec,
    known: tuple[str, ...],
) -> ModelPlan:
    registry = FeatureRegistry()
    results: list[NodeResult] = []
    tables = []
    weights = []
    float_math = False
    for segment in segments:
        model = find_model(segment)
        tables.append(compile_tree(model, _tree_scope(model, scope), registry, results))
        weights.append(float_attr(segment, "weight", 1.0))
        float_math = float_math or attr(model, "x-mathContext") == "float"
    forest = Forest(tables, len(registry.columns), registry.all_float)
    classify = header.function == "classification"
    labels = tree_labels(results, known) if classify else ()
    plan = ForestPlan(
        method,
        registry,
        forest,
        LeafTables.build(results, labels, classify),
        len(results),
        weights,
        skip,
        target,
        float_math,
        header.function,
    )
    init_plan(plan, header, labels)
    return plan


register("MiningModel", compile_mining)
