"""Regression models embedded in tree nodes (PMML 4.4 TreeModel: a Node's EMBEDDED-MODEL), as
LightGBM's linear trees are written: a row that ends in such a node is predicted by the node's
Regression (its RegressionTable and normalizationMethod) instead of the node's score. A row
the Regression cannot predict (one of its predictors is missing) keeps the node's score, as
JPMML (and LightGBM, whose linear leaves fall back to the constant output on NaN)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.context import Context, Scope
from batchscore.runtime.pmml.datatypes import F64
from batchscore.runtime.pmml.normalize import regression_link, regression_link_float32
from batchscore.runtime.pmml.regression import NORMALIZATIONS, Table, parse_table
from batchscore.runtime.pmml.xml import attr, child, require_children


@dataclass(frozen=True)
class NodeRegression:
    table: Table
    normalization: str

    def evaluate(self, ctx: Context, float_math: bool) -> F64:
        raw = self.table.evaluate(ctx, float_math)
        if float_math:
            return regression_link_float32(self.normalization, raw)
        return regression_link(self.normalization, raw)


def node_regression(node: etree._Element, scope: Scope) -> NodeRegression | None:
    """The Regression embedded in ``node``, if any (a DecisionTree is refused)."""
    if child(node, "DecisionTree") is not None:
        raise ModelError("Unsupported PMML element: DecisionTree.")
    element = child(node, "Regression")
    if element is None:
        return None
    if attr(element, "functionName", "regression") != "regression":
        raise ModelError(
            "Unsupported PMML feature: a classification Regression embedded in a tree Node."
        )
    normalization = attr(element, "normalizationMethod", "none") or "none"
    if normalization not in NORMALIZATIONS or normalization == "simplemax":
        raise ModelError(f"Invalid PMML: Regression@normalizationMethod={normalization}.")
    tables = require_children(element, "RegressionTable")
    if len(tables) != 1:
        raise ModelError("Invalid PMML: a regression Regression needs one RegressionTable.")
    return NodeRegression(parse_table(tables[0], scope), normalization)


def apply_node_regressions(
    ctx: Context,
    value: F64,
    results: np.ndarray,
    regressions: dict[int, NodeRegression],
    float_math: bool,
) -> F64:
    """``value`` with the rows that reached a result with a Regression predicted by it."""
    if not regressions:
        return value
    out = value.copy()
    for index, regression in regressions.items():
        rows = results == index
        if rows.any():
            predicted = regression.evaluate(ctx, float_math)
            # A row the Regression cannot predict (a missing predictor) keeps the node's score.
            rows &= ~np.isnan(predicted)
            out[rows] = predicted[rows]
    return out
