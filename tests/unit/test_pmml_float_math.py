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


MULTI = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="float"/>
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/><Value value="c"/></DataField></DataDictionary>"""


def multinomial(method: str, float_math: bool) -> list[float]:
    context = 'x-mathContext="float"' if float_math else ""
    tables = "".join(
        f'<RegressionTable intercept="{b}" targetCategory="{k}"><NumericPredictor name="x" '
        f'coefficient="{w}"/></RegressionTable>'
        for k, b, w in [("a", 0.3, 1.1), ("b", -0.2, 0.7), ("c", 0.0, -0.4)]
    )
    body = f"""<RegressionModel functionName="classification" normalizationMethod="{method}"
        {context}><MiningSchema><MiningField name="c" usageType="target"/>
        <MiningField name="x"/></MiningSchema>
        <Output><OutputField name="pa" feature="probability" value="a"/></Output>
        {tables}</RegressionModel>"""
    model = load_document(MULTI, body)
    return [float(v) for v in model.score({"x": np.array([0.8])})["pa"]]


def test_softmax_in_float_subtracts_the_maximum_and_sums_in_float32() -> None:
    f = np.float32
    raw = [f(f(f(1.1) * f(0.8)) + f(0.3)), f(f(f(0.7) * f(0.8)) + f(-0.2)), f(f(-0.4) * f(0.8))]
    top = max(raw)
    exps = [f(java_float_exp(float(f(r - top)))) for r in raw]
    total = f(f(exps[0] + exps[1]) + exps[2])
    assert multinomial("softmax", float_math=True) == [float(f(exps[0] / total))]


def test_multinomial_logit_is_the_share_of_inverse_logits() -> None:
    x = float(np.float32(0.8))  # a float field
    raw = [x * 1.1 + 0.3, x * 0.7 - 0.2, x * -0.4]
    inverse = [1.0 / (1.0 + math.exp(-r)) for r in raw]
    got = multinomial("logit", float_math=False)[0]
    assert abs(got - inverse[0] / sum(inverse)) < 1e-15
