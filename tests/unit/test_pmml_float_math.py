"""JPMML's ``x-mathContext="float"`` (models converted from XGBoost and LightGBM): values and
sums are float32, and exp is JPMML-Evaluator 1.7.7's ``(float) Math.pow(2.7182817d, x)``
(the double constant, as its bytecode loads it), so results agree to the last float32 bit."""

from __future__ import annotations

import math

import numpy as np

from batchscore.runtime.pmml.normalize import float_exp
from tests.unit.pmml_documents import load_document

DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="float"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""
SCHEMA = '<MiningSchema><MiningField name="y" usageType="target"/><MiningField name="x"/>'
SCHEMA += "</MiningSchema>"


def java_float_exp(x: float) -> float:
    """``(float) Math.pow(2.7182817d, (double) x)`` for a float32 ``x``."""
    return float(np.float32(math.pow(2.7182817, float(np.float32(x)))))


def test_float_exp_is_the_power_of_the_double_constant() -> None:
    xs = np.array([-7.0, -0.1234567, 0.0, 0.35, 3.3], dtype=np.float32)
    assert [float(v) for v in float_exp(xs)] == [java_float_exp(float(x)) for x in xs]
    # not exp itself: the two differ in the last bits for some x
    assert any(java_float_exp(float(x)) != float(np.float32(math.exp(float(x)))) for x in xs)


def test_regression_exp_link_in_float() -> None:
    body = f"""<RegressionModel functionName="regression" normalizationMethod="exp"
        x-mathContext="float">{SCHEMA}<RegressionTable intercept="0.1">
        <NumericPredictor name="x" coefficient="0.7"/></RegressionTable></RegressionModel>"""
    model = load_document(DICTIONARY, body)
    got = model.score({"x": np.array([0.3, -2.0])})["y"]
    f = np.float32
    for x, value in zip([0.3, -2.0], got, strict=True):
        linear = f(f(0.7) * f(x)) + f(0.1)
        assert value == java_float_exp(float(linear))


def test_tree_scores_are_float32() -> None:
    body = f"""<TreeModel functionName="regression" x-mathContext="float">{SCHEMA}
        <Node><True/><Node score="0.1"><SimplePredicate field="x" operator="lessThan"
        value="0"/></Node><Node score="0.2"><True/></Node></Node></TreeModel>"""
    model = load_document(DICTIONARY, body)
    assert list(model.score({"x": np.array([-1.0, 1.0])})["y"]) == [
        float(np.float32(0.1)),
        float(np.float32(0.2)),
    ]
