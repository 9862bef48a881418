"""RegressionModel, TreeModel, MiningModel and NeuralNetwork on small hand-written documents."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from batchscore.errors import ModelError
from batchscore.runtime.pmml.neural import activate
from tests.unit.pmml_documents import load_document, score_floats

NAN = float("nan")
DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="z" optype="continuous" dataType="double"/>
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/><Value value="k"/></DataField>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""
SCHEMA_R = """<MiningSchema><MiningField name="y" usageType="target"/>
    <MiningField name="x"/><MiningField name="z"/></MiningSchema>"""
SCHEMA_C = """<MiningSchema><MiningField name="c" usageType="target"/>
    <MiningField name="x"/><MiningField name="z"/></MiningSchema>"""


def load(body: str) -> Any:
    return load_document(DICTIONARY, body)


def run(model: Any, xs: list[float], zs: list[float] | None = None) -> dict[str, npt.NDArray[Any]]:
    return score_floats(model, x=xs, z=zs if zs is not None else [0.0] * len(xs))


def close(got: npt.NDArray[Any], expected: list[float]) -> bool:
    return all(
        (math.isnan(e) and math.isnan(float(g))) or math.isclose(float(g), e, rel_tol=1e-12)
        for g, e in zip(got, expected, strict=True)
    )


PROBS = """<Output>
    <OutputField name="pa" feature="probability" value="a"/>
    <OutputField name="pb" feature="probability" value="b"/>
    <OutputField name="pk" feature="probability" value="k"/>
  </Output>"""


def classifier(normalization: str, tables: str) -> Any:
    return load(
        f'<RegressionModel functionName="classification" normalizationMethod="{normalization}">'
        f"{SCHEMA_C}{PROBS}{tables}</RegressionModel>"
    )


THREE = """<RegressionTable intercept="0.5" targetCategory="a">
    <NumericPredictor name="x" coefficient="1"/></RegressionTable>
  <RegressionTable intercept="0" targetCategory="b">
    <NumericPredictor name="z" coefficient="2"/></RegressionTable>
  <RegressionTable intercept="1" targetCategory="k"/>"""


def test_softmax_and_simplemax() -> None:
    xs, zs = [0.0, 1.0, NAN], [1.0, 0.5, 0.0]
    out = run(classifier("softmax", THREE), xs, zs)
    for i in range(2):
        raw = np.array([0.5 + xs[i], 2 * zs[i], 1.0])
        expected = np.exp(raw) / np.exp(raw).sum()
        assert close(np.array([out["pa"][i], out["pb"][i], out["pk"][i]]), list(expected))
    assert out["c"][0] == "b"
    assert out["c"][2] is None
    assert math.isnan(out["pa"][2])
    simple = run(classifier("simplemax", THREE), [1.0], [1.0])
    assert close(simple["pa"], [1.5 / 4.5])


@pytest.mark.parametrize(
    ("method", "link"),
    [
        ("logit", lambda v: 1 / (1 + math.exp(-v))),
        ("probit", lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2)))),
        ("cloglog", lambda v: 1 - math.exp(-math.exp(v))),
        ("loglog", lambda v: math.exp(-math.exp(-v))),
        ("cauchit", lambda v: 0.5 + math.atan(v) / math.pi),
    ],
)
def test_binary_links(method: str, link: Any) -> None:
    tables = """<RegressionTable intercept="0.25" targetCategory="a">
        <NumericPredictor name="x" coefficient="1.5"/></RegressionTable>
      <RegressionTable intercept="0" targetCategory="b"/>"""
    xs = [-3.0, -0.5, 0.0, 2.0]
    out = run(classifier(method, tables), xs)
    expected = [link(0.25 + 1.5 * x) for x in xs]
    assert close(out["pa"], expected)
    assert close(out["pb"], [1 - p for p in expected])


def test_regression_table_terms_and_exp() -> None:
    model = load(
        f"""<RegressionModel functionName="regression" normalizationMethod="exp">{SCHEMA_R}
          <RegressionTable intercept="0.1">
            <NumericPredictor name="x" exponent="2" coefficient="0.5"/>
            <PredictorTerm coefficient="0.25">
              <FieldRef field="x"/><FieldRef field="z"/></PredictorTerm>
          </RegressionTable></RegressionModel>"""
    )
    out = run(model, [1.0, 2.0], [2.0, NAN])
    assert close(out["y"], [math.exp(0.5 + 0.5 + 0.1), NAN])


TREE = """<TreeModel functionName="regression" missingValueStrategy="{strategy}"
      noTrueChildStrategy="{no_true}">{schema}
    <Output><OutputField name="node" feature="entityId"/></Output>
    <Node id="root" score="0" defaultChild="R"><True/>
      <Node id="L" score="1"><SimplePredicate field="x" operator="lessThan" value="5"/>
        <Node id="LL" score="11">
          <SimplePredicate field="z" operator="lessOrEqual" value="0"/></Node>
      </Node>
      <Node id="R" score="2"><SimplePredicate field="x" operator="greaterOrEqual" value="5"/>
        <Node id="RR" score="22">
          <CompoundPredicate booleanOperator="surrogate">
            <SimplePredicate field="z" operator="greaterThan" value="1"/>
            <SimplePredicate field="x" operator="greaterThan" value="8"/>
            <False/>
          </CompoundPredicate>
        </Node>
      </Node>
    </Node></TreeModel>"""


def tree(strategy: str, no_true: str = "returnLastPrediction") -> Any:
    return load(TREE.format(strategy=strategy, no_true=no_true, schema=SCHEMA_R))


def test_tree_paths_and_entity_ids() -> None:
    out = run(tree("none"), [1.0, 1.0, 5.0, 9.0, 6.0], [0.0, 1.0, 2.0, NAN, NAN])
    assert close(out["y"], [11.0, 1.0, 22.0, 22.0, 2.0])
    assert list(out["node"]) == ["LL", "L", "RR", "RR", "R"]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("none", [0.0, 1.0]),  # unknown counts as false: no true child, the parent's score
        ("nullPrediction", [NAN, NAN]),
        ("lastPrediction", [0.0, 1.0]),
        ("defaultChild", [2.0, NAN]),  # L declares no defaultChild
    ],
)
def test_tree_missing_value_strategies(strategy: str, expected: list[float]) -> None:
    out = run(tree(strategy), [NAN, 1.0], [0.0, NAN])
    assert close(out["y"], expected)


def test_tree_no_true_child_null() -> None:
    out = run(tree("none", "returnNullPrediction"), [1.0], [5.0])
    assert close(out["y"], [NAN])


def test_tree_simple_set_predicate_and_classification() -> None:
    model = load(
        f"""<TreeModel functionName="classification">{SCHEMA_C}{PROBS}
          <Node score="a"><True/>
            <Node score="b">
              <SimpleSetPredicate field="x" booleanOperator="isIn"><Array type="real">1 2</Array>
              </SimpleSetPredicate>
              <ScoreDistribution value="a" recordCount="1"/>
              <ScoreDistribution value="b" recordCount="3"/>
            </Node>
            <Node score="k"><True/></Node>
          </Node></TreeModel>"""
    )
    out = run(model, [2.0, 3.0])
    assert list(out["c"]) == ["b", "k"]
    assert close(out["pb"], [0.75, 0.0])
    assert close(out["pk"], [0.0, 1.0])


def segment_tree(score: float, threshold: float, weight: float = 1.0) -> str:
    return f"""<Segment weight="{weight}"><True/>
      <TreeModel functionName="regression">
        <MiningSchema><MiningField name="x"/></MiningSchema>
        <Node score="0"><True/>
          <Node score="{score}">
            <SimplePredicate field="x" operator="greaterThan" value="{threshold}"/>
          </Node>
          <Node score="-1"><True/></Node>
        </Node></TreeModel></Segment>"""


def ensemble(method: str, treatment: str = "returnMissing") -> Any:
    segments = segment_tree(10, 0, 1) + segment_tree(20, 1, 2) + segment_tree(40, 2, 3)
    return load(
        f"""<MiningModel functionName="regression">{SCHEMA_R}
          <Segmentation multipleModelMethod="{method}" missingPredictionTreatment="{treatment}">
          {segments}</Segmentation></MiningModel>"""
    )


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("sum", [-3.0, 8.0, 70.0]),
        ("average", [-1.0, 8 / 3, 70 / 3]),
        ("weightedAverage", [-1.0, (10 - 2 - 3) / 6, (10 + 40 + 120) / 6]),
        ("median", [-1.0, -1.0, 20.0]),
        ("max", [-1.0, 10.0, 40.0]),
    ],
)
def test_regression_segmentations(method: str, expected: list[float]) -> None:
    assert close(run(ensemble(method), [-5.0, 0.5, 3.0])["y"], expected)


def test_missing_prediction_treatments() -> None:
    # Missing x: each tree's predicate is unknown -> missingValueStrategy none -> "-1" leaf.
    assert close(run(ensemble("sum"), [NAN])["y"], [-3.0])


def vote_segment(label: str, threshold: float, weight: float) -> str:
    return f"""<Segment weight="{weight}"><True/>
      <TreeModel functionName="classification" noTrueChildStrategy="returnLastPrediction">
        <MiningSchema><MiningField name="x"/></MiningSchema>
        <Node score="k"><True/>
          <Node score="{label}">
            <SimplePredicate field="x" operator="greaterThan" value="{threshold}"/>
          </Node></Node></TreeModel></Segment>"""


@pytest.mark.parametrize(
    ("method", "labels", "pk"),
    [
        ("majorityVote", ["k", "a", "a"], [1.0, 1 / 3, 0.0]),
        ("weightedMajorityVote", ["k", "b", "b"], [1.0, 1 / 6, 0.0]),
    ],
)
def test_vote_segmentations(method: str, labels: list[str], pk: list[float]) -> None:
    segments = vote_segment("a", 0, 1) + vote_segment("a", 5, 1) + vote_segment("b", 1, 4)
    model = load(
        f"""<MiningModel functionName="classification">{SCHEMA_C}{PROBS}
          <Segmentation multipleModelMethod="{method}">{segments}</Segmentation></MiningModel>"""
    )
    out = run(model, [-1.0, 3.0, 9.0])
    assert list(out["c"]) == labels
    assert close(out["pk"], pk)


def test_select_first_and_model_chain() -> None:
    select = load(
        f"""<MiningModel functionName="regression">{SCHEMA_R}
          <Segmentation multipleModelMethod="selectFirst">
            <Segment><SimplePredicate field="x" operator="lessThan" value="0"/>
              <RegressionModel functionName="regression">
                <MiningSchema><MiningField name="x"/></MiningSchema>
                <RegressionTable intercept="100"/></RegressionModel></Segment>
            <Segment><True/>
              <RegressionModel functionName="regression">
                <MiningSchema><MiningField name="x"/></MiningSchema>
                <RegressionTable intercept="0"><NumericPredictor name="x" coefficient="2"/>
                </RegressionTable></RegressionModel></Segment>
          </Segmentation></MiningModel>"""
    )
    assert close(run(select, [-1.0, 3.0])["y"], [100.0, 6.0])
    chain = load(
        f"""<MiningModel functionName="regression">{SCHEMA_R}
          <Segmentation multipleModelMethod="modelChain">
            <Segment><True/>
              <RegressionModel functionName="regression">
                <MiningSchema><MiningField name="x"/></MiningSchema>
                <Output><OutputField name="first" feature="predictedValue"/></Output>
                <RegressionTable intercept="1"><NumericPredictor name="x" coefficient="3"/>
                </RegressionTable></RegressionModel></Segment>
            <Segment><True/>
              <RegressionModel functionName="regression">
                <MiningSchema><MiningField name="first"/></MiningSchema>
                <Output><OutputField name="final" feature="predictedValue"/></Output>
                <RegressionTable intercept="0"><NumericPredictor name="first" coefficient="10"/>
                </RegressionTable></RegressionModel></Segment>
          </Segmentation></MiningModel>"""
    )
    out = run(chain, [1.0, 2.0])
    assert list(out) == ["y", "final"]
    assert close(out["y"], [40.0, 70.0])
    assert close(out["final"], [40.0, 70.0])


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("threshold", lambda z: 1.0 if z > 0 else 0.0),
        ("logistic", lambda z: 1 / (1 + math.exp(-z))),
        ("tanh", math.tanh),
        ("identity", lambda z: z),
        ("exponential", math.exp),
        ("reciprocal", lambda z: 1 / z),
        ("square", lambda z: z * z),
        ("Gauss", lambda z: math.exp(-z * z)),
        ("sine", math.sin),
        ("cosine", math.cos),
        ("Elliott", lambda z: z / (1 + abs(z))),
        ("arctan", lambda z: 2 * math.atan(z) / math.pi),
        ("rectifier", lambda z: max(z, 0.0)),
    ],
)
def test_activation_functions(name: str, function: Any) -> None:
    zs = np.array([-1.5, -0.2, 0.3, 2.0])
    assert close(activate(name, zs), [function(z) for z in zs])


def test_neural_network_regression() -> None:
    model = load(
        f"""<NeuralNetwork functionName="regression" activationFunction="tanh">{SCHEMA_R}
          <NeuralInputs>
            <NeuralInput id="i1"><DerivedField optype="continuous" dataType="double">
              <FieldRef field="x"/></DerivedField></NeuralInput>
            <NeuralInput id="i2"><DerivedField optype="continuous" dataType="double">
              <FieldRef field="z"/></DerivedField></NeuralInput>
          </NeuralInputs>
          <NeuralLayer>
            <Neuron id="h1" bias="0.1">
              <Con from="i1" weight="0.5"/><Con from="i2" weight="-1"/></Neuron>
            <Neuron id="h2" bias="-0.2"><Con from="i1" weight="1.5"/></Neuron>
          </NeuralLayer>
          <NeuralLayer activationFunction="identity">
            <Neuron id="o" bias="1"><Con from="h1" weight="2"/><Con from="h2" weight="-3"/></Neuron>
          </NeuralLayer>
          <NeuralOutputs><NeuralOutput outputNeuron="o">
            <DerivedField optype="continuous" dataType="double">
              <NormContinuous field="y"><LinearNorm orig="0" norm="0"/>
                <LinearNorm orig="100" norm="1"/></NormContinuous>
            </DerivedField></NeuralOutput></NeuralOutputs>
        </NeuralNetwork>"""
    )
    xs, zs = [0.5, -1.0, NAN], [1.0, 0.25, 0.0]
    out = run(model, xs, zs)
    expected = []
    for x, z in zip(xs[:2], zs[:2], strict=True):
        h1, h2 = math.tanh(0.1 + 0.5 * x - z), math.tanh(-0.2 + 1.5 * x)
        expected.append(100 * (1 + 2 * h1 - 3 * h2))
    assert close(out["y"], [*expected, NAN])


@pytest.mark.parametrize("element", ["TextModel", "AssociationModel"])
def test_unsupported_model_elements_fail_at_load(element: str) -> None:
    with pytest.raises(ModelError, match=f"Unsupported PMML element: {element}."):
        load(f'<{element} functionName="regression">{SCHEMA_R}</{element}>')


def test_unsupported_tree_strategy_fails_at_load() -> None:
    with pytest.raises(ModelError, match="missingValueStrategy=aggregateNodes"):
        tree("aggregateNodes")
