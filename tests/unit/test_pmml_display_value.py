"""OutputField feature="predictedDisplayValue" (PMML 4.4 Output: "the display value of the
predicted value": Target/TargetValue@displayValue, and for a clustering model the name of the
winning Cluster)."""

from __future__ import annotations

import numpy as np

from tests.unit.pmml_documents import load_document


def test_classification_shows_the_target_value_display_value() -> None:
    dictionary = """<DataDictionary>
        <DataField name="x" optype="continuous" dataType="double"/>
        <DataField name="c" optype="categorical" dataType="string">
          <Value value="a"/><Value value="b"/></DataField></DataDictionary>"""
    body = """<TreeModel functionName="classification"><MiningSchema>
        <MiningField name="c" usageType="target"/><MiningField name="x"/></MiningSchema>
        <Output><OutputField name="shown" feature="predictedDisplayValue"/></Output>
        <Targets><Target field="c"><TargetValue value="a" displayValue="Alpha"/>
          <TargetValue value="b"/></Target></Targets>
        <Node><True/><Node score="a"><SimplePredicate field="x" operator="lessThan" value="0"/>
        </Node><Node score="b"><True/></Node></Node></TreeModel>"""
    model = load_document(dictionary, body)
    got = model.score({"x": np.array([-1.0, 1.0, np.nan])})["shown"]
    assert list(got) == ["Alpha", "b", "b"]  # unknown is false under missingValueStrategy none


def test_clustering_shows_the_cluster_name() -> None:
    dictionary = """<DataDictionary>
        <DataField name="x" optype="continuous" dataType="double"/></DataDictionary>"""
    body = """<ClusteringModel functionName="clustering" modelClass="centerBased"
        numberOfClusters="2"><MiningSchema><MiningField name="x"/></MiningSchema>
        <Output><OutputField name="id" feature="predictedValue"/>
          <OutputField name="shown" feature="predictedDisplayValue"/></Output>
        <ComparisonMeasure kind="distance"><squaredEuclidean/></ComparisonMeasure>
        <ClusteringField field="x"/>
        <Cluster id="low" name="Low load"><Array n="1" type="real">0</Array></Cluster>
        <Cluster id="high"><Array n="1" type="real">10</Array></Cluster>
        </ClusteringModel>"""
    model = load_document(dictionary, body)
    got = model.score({"x": np.array([1.0, 9.0])})
    assert list(got["id"]) == ["low", "high"]
    assert list(got["shown"]) == ["Low load", "high"]
