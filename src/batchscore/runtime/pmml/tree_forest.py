"""A segmentation of plain TreeModels under <True/> compiled as one forest: every tree walks
in one kernel (:mod:`batchscore.runtime.pmml.forest`) and the segment results are aggregated
without building a ModelResult per tree."""

from __future__ import annotations

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.aggregate import ProbabilityAggregator, ValueAggregator
from batchscore.runtime.pmml.compiler import find_model, init_plan
from batchscore.runtime.pmml.context import Context, Scope
from batchscore.runtime.pmml.forest import Forest
from batchscore.runtime.pmml.plan import ModelHeader, ModelPlan
from batchscore.runtime.pmml.predicates import find_predicate
from batchscore.runtime.pmml.result import ModelResult, predicted_from_probs
from batchscore.runtime.pmml.targets import TargetSpec
from batchscore.runtime.pmml.tree import (
    AGGREGATING,
    FeatureRegistry,
    LeafTables,
    NodeResult,
    compile_tree,
    result_rows,
    tree_labels,
)
from batchscore.runtime.pmml.xml import attr, child, children, float_attr


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


def plain_tree_forest(segments: list[etree._Element], function: str) -> bool:
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
        if attr(model, "missingValueStrategy") in AGGREGATING:
            return False
        if any(True for _ in model.iter("Regression", "DecisionTree")):
            return False  # embedded models in nodes are evaluated per tree
    return True


def tree_scope(model: etree._Element, scope: Scope) -> Scope:
    """A segment tree sees the parent's fields; its MiningSchema must name known fields."""
    schema = child(model, "MiningSchema")
    for mining_field in children(schema if schema is not None else model, "MiningField"):
        name = mining_field.get("name") or ""
        usage = mining_field.get("usageType", "active")
        if usage == "active" and not scope.has(name):
            raise ModelError(f"Invalid PMML: field {name!r} is not declared.")
    return scope


def compile_forest(
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
        tables.append(compile_tree(model, tree_scope(model, scope), registry, results))
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
