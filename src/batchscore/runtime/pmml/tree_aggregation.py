"""The aggregating TreeModel missing-value strategies, for the rows that meet an unknown predicate.

JPMML-Evaluator 1.7 refuses both; this follows the PMML 4.4 text:

* ``aggregateNodes``: a child whose predicate is unknown is followed as if true and its later
  siblings are tried too (up to the first true one); the ScoreDistribution record counts of
  every leaf reached are summed per class and the class with the largest sum is predicted.
  The probabilities are the summed counts' shares; the confidence is the predicted class's share.
* ``weightedConfidence``: where the first child that is not false is unknown, every child that
  is not false is scored and its class confidences are weighted by its share of the parent's
  record count (recursively); the class of highest total confidence is predicted, with that
  total as its confidence. Probabilities are weighted the same way and rescaled to sum to one.

A non-leaf node none of whose children applies counts as a leaf itself when
noTrueChildStrategy is returnLastPrediction and the node has a score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.context import Context, Scope
from batchscore.runtime.pmml.datatypes import F64, Column
from batchscore.runtime.pmml.predicates import (
    PREDICATE_TAGS,
    Predicate,
    compile_predicate,
)
from batchscore.runtime.pmml.xml import attr, children, float_attr, require_child


@dataclass
class _Node:
    predicate: Predicate | None
    """None for <True/>."""
    kids: list[int]
    record_count: float
    counts: dict[str, float]
    shares: dict[str, float]
    """The class distribution: ScoreDistribution probabilities, else record count shares."""
    confidences: dict[str, float]
    final: bool
    """Whether the node is a result: a leaf, or a scored node under returnLastPrediction."""


class TreeAggregation:
    """A tree's nodes in pre-order, scored for a subset of rows by one strategy."""

    def __init__(self, strategy: str, nodes: list[_Node], labels: tuple[str, ...]) -> None:
        self.strategy = strategy
        self.nodes = nodes
        self.labels = labels
        self._counts = np.zeros((len(nodes), 0))
        self._shares = np.zeros((len(nodes), 0))
        self._confidences = np.zeros((len(nodes), 0))

    def bind(self, labels: tuple[str, ...]) -> TreeAggregation:
        """Align the per-node class tables with the plan's labels."""
        bound = TreeAggregation(self.strategy, self.nodes, labels)
        bound._counts = np.array([[n.counts.get(x, 0.0) for x in labels] for n in self.nodes])
        bound._shares = np.array([[n.shares.get(x, 0.0) for x in labels] for n in self.nodes])
        bound._confidences = np.array(
            [[n.confidences.get(x, 0.0) for x in labels] for n in self.nodes]
        )
        return bound

    def evaluate(self, ctx: Context, rows: np.ndarray) -> tuple[Column, F64, F64]:
        """Predicted labels, probabilities and confidences of ``rows``."""
        m = rows.shape[0]
        truth = [np.ones(m) if n.predicate is None else n.predicate(ctx)[rows] for n in self.nodes]
        weight = np.zeros((len(self.nodes), m))
        weight[0] = np.where(truth[0] != 0.0, 1.0, 0.0)  # an unknown root is followed too
        totals = np.zeros((m, len(self.labels)))
        probs = np.zeros((m, len(self.labels)))
        weighted = self.strategy == "weightedConfidence"
        for i, node in enumerate(self.nodes):
            w = weight[i]
            if not w.any():
                continue
            if node.kids:
                unclaimed = self._split(node, weight, truth, w, weighted)
                if not node.final:
                    continue
                w = np.where(unclaimed, w, 0.0)
            if weighted:
                totals += w[:, None] * self._confidences[i]
                probs += w[:, None] * self._shares[i]
            else:
                totals += w[:, None] * self._counts[i]
        return self._finish(totals, probs if weighted else totals, weighted)

    def _split(
        self, node: _Node, weight: F64, truth: list[F64], w: F64, weighted: bool
    ) -> np.ndarray:
        """Pass the node's weight on to its children; True where no child took it."""
        states = np.column_stack([truth[k] for k in node.kids])
        known_true = states == 1.0
        open_ = np.isnan(states) | known_true
        taken = open_.any(axis=1) & (w > 0)
        if weighted:
            first = np.argmax(open_, axis=1)
            unknown_first = np.isnan(states[np.arange(w.shape[0]), first])
            for j, k in enumerate(node.kids):
                plain = ~unknown_first & (first == j)
                share = self.nodes[k].record_count / node.record_count if node.record_count else 0.0
                weight[k] = np.where(taken & plain, w, 0.0)
                weight[k] += np.where(taken & unknown_first & open_[:, j], w * share, 0.0)
        else:
            # Children up to and including the first true one, skipping false ones.
            stopped = np.cumsum(known_true, axis=1) - known_true > 0
            for j, k in enumerate(node.kids):
                weight[k] = np.where(taken & open_[:, j] & ~stopped[:, j], w, 0.0)
        return np.asarray(~taken, dtype=np.bool_)

    def _finish(self, totals: F64, probs: F64, weighted: bool) -> tuple[Column, F64, F64]:
        m = totals.shape[0]
        value = np.full(m, None, dtype=object)
        confidence = np.full(m, np.nan)
        sums = probs.sum(axis=1)
        present = sums > 0
        out = np.full_like(probs, np.nan)
        out[present] = probs[present] / sums[present, None]
        if self.labels:
            best = np.argmax(totals, axis=1)
            value[present] = np.array(self.labels, dtype=object)[best[present]]
            winner = totals[np.arange(m), best]
            if weighted:
                confidence[present] = winner[present]
            else:
                confidence[present] = winner[present] / sums[present]
        return value, out, confidence


def compile_aggregation(element: etree._Element, scope: Scope, strategy: str) -> TreeAggregation:
    """The tree of ``element`` (a TreeModel) for ``strategy``; checks the counts it needs."""
    last = attr(element, "noTrueChildStrategy") == "returnLastPrediction"
    nodes: list[_Node] = []
    labels: list[str] = []

    def visit(node: etree._Element) -> int:
        predicate_el = require_child(node, PREDICATE_TAGS, what="predicate")
        predicate = None if predicate_el.tag == "True" else compile_predicate(predicate_el, scope)
        counts: dict[str, float] = {}
        probabilities: dict[str, float] = {}
        confidences: dict[str, float] = {}
        scores = children(node, "ScoreDistribution")
        for score in scores:
            label = score.get("value") or ""
            labels.append(label)
            if score.get("recordCount") is None and strategy == "aggregateNodes":
                raise ModelError(
                    "Invalid PMML: missingValueStrategy=aggregateNodes needs "
                    "ScoreDistribution@recordCount."
                )
            counts[label] = float_attr(score, "recordCount", 0.0)
            probabilities[label] = float_attr(score, "probability", -1.0)
            if score.get("confidence") is not None:
                confidences[label] = float_attr(score, "confidence")
        kids = children(node, "Node")
        if strategy == "weightedConfidence" and node.get("recordCount") is None:
            raise ModelError(
                "Invalid PMML: missingValueStrategy=weightedConfidence needs Node@recordCount."
            )
        total = sum(counts.values())
        if scores and all(p >= 0.0 for p in probabilities.values()):
            shares = probabilities
        else:
            shares = {x: c / total if total else 0.0 for x, c in counts.items()}
        index = len(nodes)
        nodes.append(
            _Node(
                predicate,
                [],
                float_attr(node, "recordCount", 0.0),
                counts,
                shares,
                confidences,
                not kids or (last and node.get("score") is not None),
            )
        )
        nodes[index].kids = [visit(kid) for kid in kids]
        return index

    roots = children(element, "Node")
    visit(roots[0])
    return TreeAggregation(strategy, nodes, tuple(dict.fromkeys(labels)))
