"""Two results JPMML defines where the document leaves a gap: a modelChain whose last
segment's predicate is false predicts nothing (PMML 4.4 MultipleModels: "the result of the
model chain is the result of the last model"), and a NeuralNetwork category without an output
neuron has probability 0."""

from __future__ import annotations

import math

import numpy as np

from tests.unit.pmml_documents import load_document

DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""
SCHEMA = '<MiningSchema><MiningField name="y" usageType="target"/><MiningField name="x"/>'
SCHEMA += "</MiningSchema>"


def constant(value: float, output: str = "") -> str:
    return (
        f'<RegressionModel functionName="regression">{SCHEMA}{output}'
        f'<RegressionTable intercept="{value}"/></RegressionModel>'
    )


def test_model_chain_is_missing_where_the_last_predicate_is_false() -> None:
    first = constant(1, '<Output><OutputField name="first" feature="predictedValue"/></Output>')
    body = f"""<MiningModel functionName="regression">{SCHEMA}
      <Segmentation multipleModelMethod="modelChain">
        <Segment id="1"><True/>{first}</Segment>
        <Segment id="2"><SimplePredicate field="x" operator="greaterThan" value="0"/>
          {constant(2)}</Segment>
      </Segmentation></MiningModel>"""
    model = load_document(DICTIONARY, body)
    got = model.score({"x": np.array([1.0, -1.0])})["y"]
    assert got[0] == 2.0
    assert math.isnan(got[1])  # not segment 1's value


def test_network_category_without_an_output_neuron_has_probability_zero() -> None:
    dictionary = """<DataDictionary>
        <DataField name="x" optype="continuous" dataType="double"/>
        <DataField name="c" optype="categorical" dataType="string">
          <Value value="a"/><Value value="b"/><Value value="rare"/></DataField>
      </DataDictionary>"""
    body = """<NeuralNetwork functionName="classification" activationFunction="logistic">
      <MiningSchema><MiningField name="c" usageType="target"/><MiningField name="x"/>
      </MiningSchema>
      <Output><OutputField name="pa" feature="probability" value="a"/>
        <OutputField name="prare" feature="probability" value="rare"/></Output>
      <NeuralInputs><NeuralInput id="0"><DerivedField optype="continuous" dataType="double">
        <FieldRef field="x"/></DerivedField></NeuralInput></NeuralInputs>
      <NeuralLayer activationFunction="identity">
        <Neuron id="1" bias="0"><Con from="0" weight="1"/></Neuron>
        <Neuron id="2" bias="0"><Con from="0" weight="-1"/></Neuron></NeuralLayer>
      <NeuralLayer activationFunction="identity" normalizationMethod="softmax">
        <Neuron id="3"><Con from="1" weight="1"/></Neuron>
        <Neuron id="4"><Con from="2" weight="1"/></Neuron></NeuralLayer>
      <NeuralOutputs>
        <NeuralOutput outputNeuron="3"><DerivedField optype="categorical" dataType="string">
          <NormDiscrete field="c" value="a"/></DerivedField></NeuralOutput>
        <NeuralOutput outputNeuron="4"><DerivedField optype="categorical" dataType="string">
          <NormDiscrete field="c" value="b"/></DerivedField></NeuralOutput>
      </NeuralOutputs></NeuralNetwork>"""
    model = load_document(dictionary, body)
    got = model.score({"x": np.array([1.0, -1.0])})
    assert list(got["c"]) == ["a", "b"]
    assert list(got["prare"]) == [0.0, 0.0]
    assert abs(got["pa"][0] - 1.0 / (1.0 + math.exp(-2.0))) < 1e-15
