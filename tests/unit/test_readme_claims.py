"""The README's "every" and "all" claims, each checked against the list it quantifies over.

The lists come from the PMML 4.4 specification (its XSD enumerations) and from ``Settings``, not
from our own code, so a value the engine drops or a setting the README forgets fails here.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from batchscore.errors import ModelError
from batchscore.runtime.pmml.neural import ACTIVATIONS
from batchscore.settings import Settings
from tests.unit.test_pmml_models import SCHEMA_C, SCHEMA_R, load, run, segment_tree, tree

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()

SPEC_ACTIVATIONS = {
    "threshold",
    "logistic",
    "tanh",
    "identity",
    "exponential",
    "reciprocal",
    "square",
    "Gauss",
    "sine",
    "cosine",
    "Elliott",
    "arctan",
    "rectifier",
    "radialBasis",
}
"""PMML 4.4 ``ACTIVATION-FUNCTION``."""
SPEC_REGRESSION_NORMALIZATIONS = {
    "none",
    "simplemax",
    "softmax",
    "logit",
    "probit",
    "cloglog",
    "exp",
    "loglog",
    "cauchit",
}
"""PMML 4.4 ``REGRESSIONNORMALIZATIONMETHOD``."""
SPEC_TREE_MISSING = {
    "lastPrediction",
    "nullPrediction",
    "defaultChild",
    "weightedConfidence",
    "aggregateNodes",
    "none",
}
"""PMML 4.4 ``MISSING-VALUE-STRATEGY`` of TreeModel."""
SPEC_NO_TRUE_CHILD = {"returnNullPrediction", "returnLastPrediction"}
SPEC_MINING_METHODS = {
    "majorityVote",
    "weightedMajorityVote",
    "average",
    "weightedAverage",
    "median",
    "weightedMedian",
    "max",
    "sum",
    "weightedSum",
    "selectFirst",
    "selectAll",
    "modelChain",
}
"""PMML 4.4 ``MULTIPLE-MODEL-METHOD``."""
README_MINING_METHODS = SPEC_MINING_METHODS
"""The README's model table claims every multipleModelMethod for MiningModel."""


def test_every_activation_function_is_accepted() -> None:
    assert SPEC_ACTIVATIONS == ACTIVATIONS


def test_radial_basis_neurons_follow_the_specification() -> None:
    """``exp(fanIn * ln(altitude) - ||x - w||^2 / (2 width^2))`` for a fully connected layer."""
    model = load(
        f"""<NeuralNetwork functionName="regression" activationFunction="radialBasis"
              width="2" altitude="1.5">{SCHEMA_R}
          <NeuralInputs>
            <NeuralInput id="i1"><DerivedField optype="continuous" dataType="double">
              <FieldRef field="x"/></DerivedField></NeuralInput>
            <NeuralInput id="i2"><DerivedField optype="continuous" dataType="double">
              <FieldRef field="z"/></DerivedField></NeuralInput>
          </NeuralInputs>
          <NeuralLayer>
            <Neuron id="h"><Con from="i1" weight="0.5"/><Con from="i2" weight="-1"/></Neuron>
          </NeuralLayer>
          <NeuralLayer activationFunction="identity">
            <Neuron id="o" bias="0"><Con from="h" weight="1"/></Neuron>
          </NeuralLayer>
          <NeuralOutputs><NeuralOutput outputNeuron="o">
            <DerivedField optype="continuous" dataType="double"><FieldRef field="y"/>
            </DerivedField></NeuralOutput></NeuralOutputs>
        </NeuralNetwork>"""
    )
    xs, zs = [0.0, 1.5, -2.0], [0.0, 0.25, 3.0]
    expected = [
        math.exp(2 * math.log(1.5) - ((x - 0.5) ** 2 + (z + 1) ** 2) / (2 * 2.0**2))
        for x, z in zip(xs, zs, strict=True)
    ]
    assert np.allclose(run(model, xs, zs)["y"], expected, rtol=1e-12, atol=0)


def test_radial_basis_neurons_sum_over_their_own_connections() -> None:
    """A neuron connected to one input of two: its distance and fan-in count that input only
    (the other input's centre is not 0, it does not exist)."""
    model = load(
        f"""<NeuralNetwork functionName="regression" activationFunction="radialBasis"
              width="1" altitude="2">{SCHEMA_R}
          <NeuralInputs>
            <NeuralInput id="i1"><DerivedField optype="continuous" dataType="double">
              <FieldRef field="x"/></DerivedField></NeuralInput>
            <NeuralInput id="i2"><DerivedField optype="continuous" dataType="double">
              <FieldRef field="z"/></DerivedField></NeuralInput>
          </NeuralInputs>
          <NeuralLayer>
            <Neuron id="h"><Con from="i2" weight="3"/></Neuron>
          </NeuralLayer>
          <NeuralLayer activationFunction="identity">
            <Neuron id="o" bias="0"><Con from="h" weight="1"/></Neuron>
          </NeuralLayer>
          <NeuralOutputs><NeuralOutput outputNeuron="o">
            <DerivedField optype="continuous" dataType="double"><FieldRef field="y"/>
            </DerivedField></NeuralOutput></NeuralOutputs>
        </NeuralNetwork>"""
    )
    xs, zs = [5.0, -4.0], [3.0, 1.0]
    expected = [math.exp(math.log(2.0) - (z - 3) ** 2 / 2.0) for z in zs]
    assert np.allclose(run(model, xs, zs)["y"], expected, rtol=1e-12, atol=0)


def classifier(method: str) -> Any:
    return load(
        f'<RegressionModel functionName="classification" normalizationMethod="{method}">'
        f"""{SCHEMA_C}
          <RegressionTable intercept="0.25" targetCategory="a">
            <NumericPredictor name="x" coefficient="1.5"/></RegressionTable>
          <RegressionTable intercept="0" targetCategory="b"/></RegressionModel>"""
    )


def regression(method: str) -> Any:
    return load(
        f'<RegressionModel functionName="regression" normalizationMethod="{method}">'
        f"""{SCHEMA_R}<RegressionTable intercept="0.25">
            <NumericPredictor name="x" coefficient="1.5"/></RegressionTable></RegressionModel>"""
    )


@pytest.mark.parametrize("method", sorted(SPEC_REGRESSION_NORMALIZATIONS))
def test_every_regression_normalization_scores(method: str) -> None:
    """Each method scores a classification (or, for ``exp``, a regression) to finite values;
    the values themselves are checked one by one in ``test_pmml_models``."""
    model = regression(method) if method in {"exp", "none"} else classifier(method)
    out = run(model, [-1.0, 0.0, 2.0])
    column = out["y"] if "y" in out else out["c"]
    assert all(value is not None for value in column)


CLASSIFICATION_ONLY = {"weightedConfidence", "aggregateNodes"}


@pytest.mark.parametrize("strategy", sorted(SPEC_TREE_MISSING - CLASSIFICATION_ONLY))
@pytest.mark.parametrize("no_true", sorted(SPEC_NO_TRUE_CHILD))
def test_every_tree_strategy_scores_missing_inputs(strategy: str, no_true: str) -> None:
    out = run(tree(strategy, no_true), [float("nan"), 1.0, 9.0], [0.0, float("nan"), 2.0])
    assert len(out["y"]) == 3


@pytest.mark.parametrize("strategy", sorted(SPEC_TREE_MISSING))
def test_every_tree_strategy_scores_a_classification(strategy: str) -> None:
    model = load(
        f"""<TreeModel functionName="classification" missingValueStrategy="{strategy}">
          {SCHEMA_C}
          <Node score="a" recordCount="4"><True/>
            <ScoreDistribution value="a" recordCount="3"/>
            <ScoreDistribution value="b" recordCount="1"/>
            <Node score="b" recordCount="2">
              <SimplePredicate field="x" operator="greaterThan" value="1"/>
              <ScoreDistribution value="a" recordCount="0"/>
              <ScoreDistribution value="b" recordCount="2"/></Node>
            <Node score="a" recordCount="2">
              <SimplePredicate field="x" operator="lessOrEqual" value="1"/>
              <ScoreDistribution value="a" recordCount="2"/>
              <ScoreDistribution value="b" recordCount="0"/></Node>
          </Node></TreeModel>"""
    )
    assert list(run(model, [0.0, 2.0])["c"]) == ["a", "b"]


@pytest.mark.parametrize("method", sorted(README_MINING_METHODS))
def test_every_mining_method_the_readme_names_scores(method: str) -> None:
    function, schema = (
        ("classification", SCHEMA_C)
        if method in {"majorityVote", "weightedMajorityVote"}
        else ("regression", SCHEMA_R)
    )
    segments = segment_tree(10, 0, 1) + segment_tree(20, 1, 2)
    if function == "classification":
        segments = segments.replace('functionName="regression"', 'functionName="classification"')
    output = '<Output><OutputField name="s" feature="predictedValue" segmentId="1"/></Output>'
    model = load(
        f"""<MiningModel functionName="{function}">{schema}{output}
          <Segmentation multipleModelMethod="{method}">{segments}</Segmentation></MiningModel>"""
    )
    # segment 1 (the first, so selectFirst picks it) scores 10 above x = 0, else -1
    assert [float(v) for v in run(model, [-0.5, 3.0])["s"]] == [-1.0, 10.0]


def test_the_readme_names_exactly_these_mining_methods_and_refusals() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| MiningModel |"))
    claimed, _, rest = row.partition("(not yet")
    refused, _, _ = rest.partition(")")
    assert set(re.findall(r"`(\w+)`", claimed)) - {"multipleModelMethod"} == README_MINING_METHODS
    for method in re.findall(r"`(\w+)`", refused):
        with pytest.raises(ModelError, match=f"multipleModelMethod={method}"):
            load(
                f"""<MiningModel functionName="regression">{SCHEMA_R}
                  <Segmentation multipleModelMethod="{method}">{segment_tree(10, 0)}
                  </Segmentation></MiningModel>"""
            )


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"BATCHSCORE_{name.upper()}"
        for name in Settings.model_fields
        if f"`BATCHSCORE_{name.upper()}`" not in README
    ]
    assert not missing, f"settings missing from the README's configuration table: {missing}"
