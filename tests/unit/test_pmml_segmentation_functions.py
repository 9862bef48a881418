"""MiningModels beyond one regression or classification target: JPMML's x-multiModelChain
(several targets, one per segment), ``mixed`` segmentations (PMML 4.4 MultipleModels: "the
mining function of the MiningModel is mixed when its segments differ"), clustering ensembles
(majorityVote over the segments' cluster ids) and models with several targets otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from batchscore.errors import ModelError
from tests.unit.pmml_documents import load_document

DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y1" optype="continuous" dataType="double"/>
    <DataField name="y2" optype="continuous" dataType="double"/>
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="lo"/><Value value="hi"/></DataField>
  </DataDictionary>"""


def regression(target: str, intercept: float, slope: float, output: str = "") -> str:
    return f"""<RegressionModel functionName="regression"><MiningSchema>
        <MiningField name="{target}" usageType="target"/><MiningField name="x"/></MiningSchema>
        {output}<RegressionTable intercept="{intercept}"><NumericPredictor name="x"
        coefficient="{slope}"/></RegressionTable></RegressionModel>"""


def multi_chain(second_predicate: str = "<True/>") -> str:
    first = regression(
        "y1", 1, 2, '<Output><OutputField name="p1" feature="predictedValue"/></Output>'
    )
    second = """<RegressionModel functionName="regression"><MiningSchema>
        <MiningField name="y2" usageType="target"/><MiningField name="p1"/></MiningSchema>
        <RegressionTable intercept="0"><NumericPredictor name="p1" coefficient="10"/>
        </RegressionTable></RegressionModel>"""
    return f"""<MiningModel functionName="regression"><MiningSchema>
        <MiningField name="y1" usageType="target"/><MiningField name="y2" usageType="target"/>
        <MiningField name="x"/></MiningSchema>
        <Segmentation multipleModelMethod="x-multiModelChain">
          <Segment id="1"><True/>{first}</Segment>
          <Segment id="2">{second_predicate}{second}</Segment>
        </Segmentation></MiningModel>"""


def test_multi_model_chain_outputs_every_target() -> None:
    model = load_document(DICTIONARY, multi_chain())
    assert [(f.name, f.usage) for f in model.outputs] == [
        ("y1", "target"),
        ("y2", "target"),
        ("p1", "output"),
    ]
    got = model.score({"x": np.array([0.0, 1.0])})
    assert list(got["y1"]) == [1.0, 3.0]
    assert list(got["y2"]) == [10.0, 30.0]  # the second segment reads the first's output


def test_multi_model_chain_segment_target_is_missing_where_its_predicate_is_false() -> None:
    predicate = '<SimplePredicate field="x" operator="greaterThan" value="0"/>'
    model = load_document(DICTIONARY, multi_chain(predicate))
    got = model.score({"x": np.array([-1.0, 1.0])})
    assert list(got["y1"]) == [-1.0, 3.0]
    assert math.isnan(got["y2"][0])
    assert got["y2"][1] == 30.0


def test_several_targets_elsewhere_are_refused_rather_than_one_silently() -> None:
    body = regression("y1", 0, 1).replace(
        '<MiningField name="y1" usageType="target"/>',
        '<MiningField name="y1" usageType="target"/><MiningField name="y2" usageType="target"/>',
    )
    with pytest.raises(ModelError, match="RegressionModel with 2 target fields"):
        load_document(DICTIONARY, body)


CLUSTERS = """<ClusteringModel functionName="clustering" modelClass="centerBased"
    numberOfClusters="2"><MiningSchema><MiningField name="x"/></MiningSchema>
    <ComparisonMeasure kind="distance"><squaredEuclidean/></ComparisonMeasure>
    <ClusteringField field="x"/>
    <Cluster id="lo"><Array n="1" type="real">{lo}</Array></Cluster>
    <Cluster id="hi"><Array n="1" type="real">{hi}</Array></Cluster></ClusteringModel>"""


def test_clustering_ensemble_by_majority_vote() -> None:
    segments = "".join(
        f'<Segment id="{i}"><True/>{CLUSTERS.format(lo=lo, hi=hi)}</Segment>'
        for i, (lo, hi) in enumerate([(0, 10), (0, 4), (3, 5)], start=1)
    )
    body = f"""<MiningModel functionName="clustering"><MiningSchema>
        <MiningField name="x"/></MiningSchema>
        <Output><OutputField name="cluster" feature="predictedValue"/></Output>
        <Segmentation multipleModelMethod="majorityVote">{segments}</Segmentation>
        </MiningModel>"""
    model = load_document(DICTIONARY, body)
    # x=2.4: lo, hi, lo -> lo; x=4.5: lo, hi, hi -> hi
    assert list(model.score({"x": np.array([2.4, 4.5])})["cluster"]) == ["lo", "hi"]


def test_mixed_model_chain_predicts_what_its_last_segment_predicts() -> None:
    first = regression(
        "y1", 0, 1, '<Output><OutputField name="score" feature="predictedValue"/></Output>'
    )
    tree = """<TreeModel functionName="classification"><MiningSchema>
        <MiningField name="c" usageType="target"/><MiningField name="score"/></MiningSchema>
        <Node><True/><Node score="lo"><SimplePredicate field="score" operator="lessThan"
        value="0"/></Node><Node score="hi"><True/></Node></Node></TreeModel>"""
    body = f"""<MiningModel functionName="mixed"><MiningSchema>
        <MiningField name="c" usageType="target"/><MiningField name="x"/></MiningSchema>
        <Segmentation multipleModelMethod="modelChain">
          <Segment id="1"><True/>{first}</Segment><Segment id="2"><True/>{tree}</Segment>
        </Segmentation></MiningModel>"""
    model = load_document(DICTIONARY, body)
    assert {f.name: f.data_type for f in model.outputs}["c"] == "string"
    assert list(model.score({"x": np.array([-2.0, 2.0])})["c"]) == ["lo", "hi"]
