"""Segmentation@multipleModelMethod weightedSum and weightedMedian (PMML 4.4 MultipleModels:
"weightedSum: the weighted sum of the segments' predictions"; "weightedMedian: the median of
the predictions, each segment counting by its weight"). As JPMML: the weighted median is the
first value, in increasing order, at which the running weight reaches half the total weight."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.unit.pmml_documents import load_document

DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""
SCHEMA = '<MiningSchema><MiningField name="y" usageType="target"/><MiningField name="x"/>'
SCHEMA += "</MiningSchema>"


def linear(intercept: float, slope: float) -> str:
    return (
        f'<RegressionModel functionName="regression">{SCHEMA}'
        f'<RegressionTable intercept="{intercept}"><NumericPredictor name="x" '
        f'coefficient="{slope}"/></RegressionTable></RegressionModel>'
    )


def tree(low: float, high: float) -> str:
    return (
        f'<TreeModel functionName="regression">{SCHEMA}<Node><True/>'
        f'<Node score="{low}"><SimplePredicate field="x" operator="lessThan" value="0"/></Node>'
        f'<Node score="{high}"><True/></Node></Node></TreeModel>'
    )


def mining(method: str, segments: list[tuple[float, str]], extra: str = "") -> str:
    body = "".join(
        f'<Segment id="{i}" weight="{w}"><True/>{model}</Segment>'
        for i, (w, model) in enumerate(segments, start=1)
    )
    return (
        f'<MiningModel functionName="regression" {extra}>{SCHEMA}'
        f'<Segmentation multipleModelMethod="{method}">{body}</Segmentation></MiningModel>'
    )


def predict(body: str, xs: list[float]) -> list[float]:
    model = load_document(DICTIONARY, body)
    return list(model.score({"x": np.array(xs)})["y"])


def test_weighted_sum_weighs_each_prediction() -> None:
    body = mining("weightedSum", [(0.5, linear(1, 2)), (2.0, linear(-1, 1)), (1, linear(0, 0))])
    # 0.5 * (1 + 2x) + 2 * (x - 1) + 1 * 0
    assert predict(body, [0.0, 1.0, -3.0]) == [-1.5, 1.5, -10.5]


def test_weighted_sum_of_trees_runs_in_the_forest() -> None:
    body = mining("weightedSum", [(0.25, tree(1, 2)), (4.0, tree(10, 20))])
    assert predict(body, [-1.0, 1.0]) == [40.25, 80.5]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        # segments 1, 2, 3 predict 3, 1, 2: in value order 1 (w2), 2 (w3), 3 (w1)
        ((1.0, 1.0, 1.0), 2.0),  # the plain median
        ((5.0, 1.0, 1.0), 3.0),  # running weight 1, 2, 7 reaches 3.5 only at 3
        ((1.0, 1.0, 2.0), 2.0),  # running weight 1, 3 reaches half of 4 at 2
        ((1.0, 5.0, 1.0), 1.0),  # the lowest value already holds half the weight
        ((1.0, 1.0), 1.0),  # two values of equal weight: the lower one, not their average
    ],
)
def test_weighted_median_is_the_first_value_reaching_half_the_weight(
    weights: tuple[float, ...], expected: float
) -> None:
    models = [linear(3, 0), linear(1, 0), linear(2, 0)][: len(weights)]
    body = mining("weightedMedian", list(zip(weights, models, strict=True)))
    assert predict(body, [0.0]) == [expected]


def test_weighted_median_skips_missing_predictions() -> None:
    # the first segment is missing where x is missing; the constant ones are not
    models = [(4.0, linear(10, 1)), (1.0, linear(1, 0)), (1.0, linear(2, 0))]
    body = mining("weightedMedian", models).replace(
        'multipleModelMethod="weightedMedian"',
        'multipleModelMethod="weightedMedian" missingPredictionTreatment="skipSegment"',
    )
    got = predict(body, [0.0, math.nan])
    assert got[0] == 10.0
    assert math.isnan(got[1])  # x itself is missing for every segment's input


def test_weighted_median_of_trees() -> None:
    body = mining("weightedMedian", [(1.0, tree(1, 2)), (1.0, tree(5, 6)), (3.0, tree(3, 4))])
    assert predict(body, [-1.0, 1.0]) == [3.0, 4.0]


def test_weighted_sum_in_float32() -> None:
    body = mining(
        "weightedSum", [(0.1, linear(0.1, 0)), (0.2, linear(0.7, 0))], 'x-mathContext="float"'
    )
    f = np.float32
    expected = float(f(0.1) * f(0.1) + f(0.2) * f(0.7))
    assert predict(body, [0.0]) == [expected]
