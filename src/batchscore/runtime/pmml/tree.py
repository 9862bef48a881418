"""TreeModel: nodes compiled into :mod:`forest` state tables.

A node with children c1..ck becomes k test states: state j tests c_j's predicate and enters
c_j when true, moves to state j+1 when false (after the last: noTrueChildStrategy), and
follows the missingValueStrategy when the predicate is unknown. Under the aggregating
strategies (aggregateNodes, weightedConfidence) an unknown predicate ends the walk in the
UNKNOWN result, and only those rows are scored again by :class:`TreeAggregation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import F64, Column, is_numeric
from batchscore.runtime.pmml.forest import Forest, StateTable
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.predicates import (
    PREDICATE_TAGS,
    Predicate,
    compile_predicate,
    predicate_key,
    simple_value,
)
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.targets import TargetSpec, parse_target
from batchscore.runtime.pmml.tree_aggregation import TreeAggregation, compile_aggregation
from batchscore.runtime.pmml.tree_regression import (
    NodeRegression,
    apply_node_regressions,
    node_regression,
)
from batchscore.runtime.pmml.xml import attr, children, float_attr, require_child

AGGREGATING = frozenset({"aggregateNodes", "weightedConfidence"})
MISSING_STRATEGIES = frozenset(
    {"none", "nullPrediction", "lastPrediction", "defaultChild"} | AGGREGATING
)
NO_TRUE_CHILD = frozenset({"returnNullPrediction", "returnLastPrediction"})
THRESHOLD_OPERATORS = frozenset({"lessOrEqual", "lessThan", "greaterThan", "greaterOrEqual"})
NULL = -2
UNKNOWN = -3
"""The result of rows that met an unknown predicate under an aggregating strategy."""


@dataclass
class NodeResult:
    """What a node returns: its score, class distribution and entity id."""

    score: str | None
    distribution: dict[str, float]
    entity_id: str
    confidences: dict[str, float] = field(default_factory=dict)
    """ScoreDistribution@confidence by label (empty when the node declares none)."""
    regression: NodeRegression | None = None
    """The node's embedded Regression, which predicts instead of its score."""


class FeatureRegistry:
    """The feature columns of a forest: numeric split fields and other predicates."""

    def __init__(self) -> None:
        self.columns: list[Expr | Predicate] = []
        self._index: dict[object, int] = {}
        self.all_float = True

    def field(self, expr: Expr) -> int:
        key = ("field", id(expr))
        if key not in self._index:
            self._index[key] = len(self.columns)
            self.columns.append(expr)
            if expr.data_type != "float":
                self.all_float = False
        return self._index[key]

    def predicate(self, key: str, predicate: Predicate) -> int:
        if key not in self._index:
            self._index[key] = len(self.columns)
            self.columns.append(predicate)
        return self._index[key]

    def matrix(self, ctx: Context) -> F64:
        out = np.empty((ctx.n, len(self.columns)))
        for j, column in enumerate(self.columns):
            out[:, j] = np.asarray(column(ctx), dtype=np.float64)
        return out


def _below(value: float, data_type: str) -> float:
    """The largest number below ``value`` in the field's precision."""
    if data_type == "float":
        return float(np.nextafter(np.float32(value), np.float32(-np.inf)))
    return float(np.nextafter(value, -np.inf))


@dataclass
class _Builder:
    registry: FeatureRegistry
    results: list[NodeResult]
    scope: Scope
    missing_strategy: str
    no_true_child: str
    table: StateTable = field(default_factory=lambda: StateTable([], [], [], [], [], [], 0, 0))
    _result_states: dict[int, int] = field(default_factory=dict)
    _entered: dict[int, int] = field(default_factory=dict)
    _null: int | None = None
    _unknown: int | None = None
    _ids: dict[int, str] = field(default_factory=dict)
    _nodes: list[etree._Element] = field(default_factory=list)
    _todo: list[tuple[int, etree._Element, list[etree._Element], int]] = field(default_factory=list)

    def _new(self, result: int) -> int:
        t = self.table
        t.feature.append(-1)
        t.threshold.append(math.inf)
        t.below.append(-1)
        t.above.append(-1)
        t.on_missing.append(-1)
        t.result.append(result)
        return len(t.result) - 1

    def null_state(self) -> int:
        if self._null is None:
            self._null = self._new(NULL)
        return self._null

    def unknown_state(self) -> int:
        if self._unknown is None:
            self._unknown = self._new(UNKNOWN)
        return self._unknown

    def result_state(self, node: etree._Element) -> int:
        key = id(node)
        if key not in self._result_states:
            result = _node_result(node, self._ids[key])
            result.regression = node_regression(node, self.scope)
            self.results.append(result)
            self._result_states[key] = self._new(len(self.results) - 1)
        return self._result_states[key]

    def build(self, root: etree._Element) -> StateTable:
        # Keeping every proxy alive keeps id(node) stable while the tree is built.
        self._nodes = list(root.iter("Node"))
        for index, node in enumerate(self._nodes, start=1):
            self._ids[id(node)] = attr(node, "id") or str(index)
        predicate = require_child(root, PREDICATE_TAGS, what="predicate")
        if predicate.tag == "True":
            start = self.enter(root)
        else:
            start = self._new(-1)
            aggregating = self.missing_strategy in AGGREGATING
            on_missing = self.unknown_state() if aggregating else self.null_state()
            self._set_test(start, predicate, self.enter(root), self.null_state(), on_missing)
        self._fill()
        self.table.root = start
        self.table.depth = self._depth(start)
        return self.table

    def enter(self, node: etree._Element) -> int:
        key = id(node)
        if key in self._entered:
            return self._entered[key]
        kids = children(node, "Node")
        state = self._new(-1) if kids else self.result_state(node)
        self._entered[key] = state
        if kids:
            self._todo.append((state, node, kids, 0))
        return state

    def _fill(self) -> None:
        while self._todo:
            state, parent, kids, j = self._todo.pop()
            child = kids[j]
            if j + 1 < len(kids):
                on_false = self._new(-1)
                self._todo.append((on_false, parent, kids, j + 1))
            elif self.no_true_child == "returnLastPrediction" and attr(parent, "score") is not None:
                # JPMML returns the parent only when it has a score.
                on_false = self.result_state(parent)
            else:
                on_false = self.null_state()
            strategy = self.missing_strategy
            if strategy == "nullPrediction":
                on_missing = self.null_state()
            elif strategy == "lastPrediction":
                on_missing = self.result_state(parent)
            elif strategy == "none":
                on_missing = on_false
            elif strategy in AGGREGATING:
                on_missing = self.unknown_state()
            else:  # defaultChild
                wanted = attr(parent, "defaultChild")
                target = next((k for k in kids if attr(k, "id") == wanted), None)
                on_missing = self.enter(target) if target is not None else self.null_state()
            predicate = require_child(child, PREDICATE_TAGS, what="predicate")
            self._set_test(state, predicate, self.enter(child), on_false, on_missing)

    def _set_test(
        self,
        state: int,
        predicate: etree._Element,
        on_true: int,
        on_false: int,
        on_missing: int,
    ) -> None:
        t = self.table
        t.on_missing[state] = on_missing
        if predicate.tag in ("True", "False"):
            # Test the zero column: 0 > -inf always, 0 > inf never.
            t.feature[state] = -1
            t.threshold[state] = -math.inf if predicate.tag == "True" else math.inf
            t.below[state], t.above[state] = on_false, on_true
            return
        operator = predicate.get("operator")
        if predicate.tag == "SimplePredicate" and operator in THRESHOLD_OPERATORS:
            expr = self.scope.resolve(predicate.get("field") or "")
            if is_numeric(expr.data_type) and expr.data_type != "boolean":
                value = float(simple_value(expr, predicate.get("value") or ""))
                t.feature[state] = self.registry.field(expr)
                if operator in ("lessThan", "greaterOrEqual"):
                    value = _below(value, expr.data_type)
                t.threshold[state] = value
                if operator in ("lessOrEqual", "lessThan"):
                    t.below[state], t.above[state] = on_true, on_false
                else:
                    t.below[state], t.above[state] = on_false, on_true
                return
        compiled = compile_predicate(predicate, self.scope)
        t.feature[state] = self.registry.predicate(predicate_key(predicate), compiled)
        t.threshold[state] = 0.5
        t.below[state], t.above[state] = on_false, on_true

    def _depth(self, start: int) -> int:
        t = self.table
        depth: dict[int, int] = {}
        stack = [start]
        while stack:
            s = stack[-1]
            if t.result[s] != -1:
                depth[s] = 0
                stack.pop()
                continue
            nexts = {t.below[s], t.above[s], t.on_missing[s]}
            pending = [x for x in nexts if x not in depth]
            if pending:
                stack.extend(pending)
                continue
            depth[s] = 1 + max(depth[x] for x in nexts)
            stack.pop()
        return depth[start]


def _node_result(node: etree._Element, entity_id: str) -> NodeResult:
    distribution: dict[str, float] = {}
    scores = children(node, "ScoreDistribution")
    confidences = {
        s.get("value") or "": float_attr(s, "confidence")
        for s in scores
        if s.get("confidence") is not None
    }
    if scores:
        if all(s.get("probability") is not None for s in scores):
            for s in scores:
                distribution[s.get("value") or ""] = float_attr(s, "probability")
        else:
            counts = [(s.get("value") or "", float_attr(s, "recordCount")) for s in scores]
            total = 0.0
            for _, count in counts:
                total += count
            for label, count in counts:
                distribution[label] = count / total if total else 0.0
    return NodeResult(attr(node, "score"), distribution, entity_id, confidences)


def compile_tree(
    element: etree._Element,
    scope: Scope,
    registry: FeatureRegistry,
    results: list[NodeResult],
) -> StateTable:
    """Add one TreeModel's states (and its node results to ``results``)."""
    strategy = attr(element, "missingValueStrategy", "none") or "none"
    if strategy not in MISSING_STRATEGIES:
        raise ModelError(f"Unsupported PMML feature: TreeModel@missingValueStrategy={strategy}.")
    no_true = attr(element, "noTrueChildStrategy", "returnNullPrediction") or ""
    if no_true not in NO_TRUE_CHILD:
        raise ModelError(f"Unsupported PMML feature: TreeModel@noTrueChildStrategy={no_true}.")
    roots = children(element, "Node")
    if len(roots) != 1:
        raise ModelError("Invalid PMML: TreeModel needs exactly one root Node.")
    builder = _Builder(registry, results, scope, strategy, no_true)
    return builder.build(roots[0])


def tree_labels(results: list[NodeResult], known: tuple[str, ...]) -> tuple[str, ...]:
    """Class labels: the target's, then any others in order of first appearance."""
    labels = list(known)
    for result in results:
        for label in [*result.distribution, *([result.score] if result.score else [])]:
            if label not in labels:
                labels.append(label)
    return tuple(labels)


@dataclass
class LeafTables:
    """Per-result lookup tables; the last row is the null result."""

    values: F64
    probs: F64
    labels: Column
    entity_ids: Column
    confidences: F64
    """The confidence of each result's predicted label: 0.0 where its ScoreDistributions
    declare none (as JPMML), NaN for results without ScoreDistributions."""

    @classmethod
    def build(
        cls, results: list[NodeResult], labels: tuple[str, ...], classify: bool
    ) -> LeafTables:
        n = len(results)
        values = np.full(n + 1, np.nan)
        probs = np.full((n + 1, len(labels)), np.nan)
        predicted = np.full(n + 1, None, dtype=object)
        ids = np.full(n + 1, None, dtype=object)
        confidences = np.full(n + 1, np.nan)
        for i, result in enumerate(results):
            ids[i] = result.entity_id
            if classify:
                if result.distribution:
                    probs[i] = [result.distribution.get(label, 0.0) for label in labels]
                elif result.score is not None:
                    probs[i] = [1.0 if label == result.score else 0.0 for label in labels]
                if result.score is not None:
                    predicted[i] = result.score
                elif result.distribution:
                    predicted[i] = labels[int(np.argmax(probs[i]))]
                if result.distribution and predicted[i] is not None:
                    confidences[i] = result.confidences.get(predicted[i], 0.0)
            elif result.score is not None:
                values[i] = float(result.score)
        return cls(values, probs, predicted, ids, confidences)


def result_rows(leaves: np.ndarray, n_results: int) -> np.ndarray:
    return np.where(leaves < 0, n_results, leaves)


class TreePlan(ModelPlan):
    def __init__(
        self,
        registry: FeatureRegistry,
        forest: Forest,
        tables: LeafTables,
        n_results: int,
        target: TargetSpec,
    ) -> None:
        super().__init__()
        self.registry = registry
        self.forest = forest
        self.tables = tables
        self.n_results = n_results
        self.target = target
        self.penalized: StateTable | None = None
        """The tree's states when defaultChild hops cost missingValuePenalty in confidence."""
        self.penalty = 1.0
        self.aggregation: TreeAggregation | None = None
        self.regressions: dict[int, NodeRegression] = {}
        """Embedded Regressions by result index (LightGBM linear trees)."""

    def _evaluate(self, ctx: Context) -> ModelResult:
        features = self.registry.matrix(ctx)
        _, leaves = next(self.forest.leaves(features))
        rows = result_rows(leaves, self.n_results)
        ids = self.tables.entity_ids[rows]
        if self.function != "classification":
            value = self.tables.values[rows]
            if self.float_math:  # a node's score is a float32 under x-mathContext="float"
                value = value.astype(np.float32).astype(np.float64)
            value = apply_node_regressions(ctx, value, rows, self.regressions, self.float_math)
            return ModelResult(self.target.apply(value, self.float_math), entity_ids=ids)
        value = self.tables.labels[rows]
        probs = self.tables.probs[rows]
        confidence = self.tables.confidences[rows]
        if self.penalized is not None:
            levels = missing_levels(self.penalized, features)
            confidence = confidence * np.power(self.penalty, levels)
        unknown = leaves == UNKNOWN
        if self.aggregation is not None and unknown.any():
            picked = np.flatnonzero(unknown)
            value[picked], probs[picked], confidence[picked] = self.aggregation.evaluate(
                ctx, picked
            )
        return ModelResult(
            value, self.labels, probs, entity_ids=ids, extra={"confidence": confidence}
        )


def missing_levels(table: StateTable, features: F64) -> F64:
    """How many times each row took a test state's missing-value branch (a defaultChild hop)."""
    n = features.shape[0]
    feature = np.asarray(table.feature)
    threshold = np.asarray(table.threshold)
    below, above = np.asarray(table.below), np.asarray(table.above)
    on_missing = np.asarray(table.on_missing)
    testing = np.asarray(table.result) == -1
    padded = np.column_stack([features, np.zeros(n)])
    state = np.full(n, table.root)
    levels = np.zeros(n)
    everyone = np.arange(n)
    for _ in range(table.depth):
        test = testing[state]
        x = padded[everyone, feature[state]]  # feature -1 reads the zero column
        missing = test & np.isnan(x)
        levels += missing
        with np.errstate(invalid="ignore"):
            step = np.where(x > threshold[state], above[state], below[state])
        step = np.where(missing, on_missing[state], step)
        state = np.where(test, step, state)
    return levels


def compile_tree_model(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    if header.function not in ("classification", "regression"):
        raise ModelError(f"Unsupported PMML feature: TreeModel@functionName={header.function}.")
    classify = header.function == "classification"
    strategy = attr(element, "missingValueStrategy", "none") or "none"
    if strategy in AGGREGATING and not classify:
        raise ModelError(
            f"Unsupported PMML feature: TreeModel@missingValueStrategy={strategy} for "
            "regression (PMML defines it for classification trees)."
        )
    registry = FeatureRegistry()
    results: list[NodeResult] = []
    table = compile_tree(element, scope, registry, results)
    forest = Forest([table], len(registry.columns), registry.all_float)
    known = header.target.labels if header.target is not None else ()
    aggregation = None
    if strategy in AGGREGATING:
        aggregation = compile_aggregation(element, scope, strategy)
        known = tuple(dict.fromkeys([*known, *aggregation.labels]))
    labels = tree_labels(results, known) if classify else ()
    plan = TreePlan(
        registry,
        forest,
        LeafTables.build(results, labels, classify),
        len(results),
        parse_target(element, header.target_name),
    )
    init_plan(plan, header, labels)
    if not classify:
        plan.regressions = {i: r.regression for i, r in enumerate(results) if r.regression}
        return plan
    if any(r.regression is not None for r in results):
        raise ModelError("Unsupported PMML feature: a Regression in a classification tree.")
    plan.aggregation = aggregation.bind(labels) if aggregation is not None else None
    plan.penalty = float_attr(element, "missingValuePenalty", 1.0)
    surrogates = any(
        p.get("booleanOperator") == "surrogate" for p in element.iter("CompoundPredicate")
    )
    if plan.penalty != 1.0 and strategy == "defaultChild":
        plan.penalized = table
    if plan.penalty == 1.0 or not surrogates:
        # JPMML also penalizes the use of a surrogate's alternatives, which predicate
        # columns do not record: confidence is then refused rather than wrong.
        plan.extra_features = frozenset({"confidence"})
    return plan
