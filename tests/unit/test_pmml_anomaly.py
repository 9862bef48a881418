"""AnomalyDetectionModel: scores checked by hand and against JPMML's own iforest outputs.

JPMML-Evaluator 1.7 cannot evaluate AnomalyDetectionModel, so these tests use hand-computed
values, and the sklearn2pmml corpus's isolation forest wrapped into an AnomalyDetectionModel: its
score 2^(-E(h)/c(256)) must equal 0.5 - decisionFunction, which JPMML computed.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml import PmmlEngine
from batchscore.runtime.pmml.anomaly import average_path_length
from tests.unit.pmml_documents import load_document, score_floats

NAN = float("nan")
DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="z" optype="continuous" dataType="double"/>
  </DataDictionary>"""
SCHEMA = '<MiningSchema><MiningField name="x"/><MiningField name="z"/></MiningSchema>'
OUTPUT = """<Output>
    <OutputField name="score" feature="predictedValue" dataType="double" optype="continuous"/>
    <OutputField name="outlier" feature="decision" dataType="boolean" optype="categorical">
      <Apply function="greaterThan"><FieldRef field="score"/><Constant>0.6</Constant></Apply>
    </OutputField>
  </Output>"""
CORPUS_CASE = Path(__file__).resolve().parents[1] / "data/pmml/corpus/iforest_plain"


def load(body: str) -> Any:
    return load_document(DICTIONARY, body)


def score(model: Any, xs: list[float], zs: list[float]) -> dict[str, Any]:
    return score_floats(model, x=xs, z=zs)


def stump(threshold: float, low: float, high: float) -> str:
    """An isolation tree of depth 1 whose leaves score path lengths ``low`` and ``high``."""
    split = f'field="x" value="{threshold}"'
    return f"""<TreeModel functionName="regression">{SCHEMA}
      <Node score="0"><True/>
        <Node score="{low}"><SimplePredicate {split} operator="lessOrEqual"/></Node>
        <Node score="{high}"><SimplePredicate {split} operator="greaterThan"/></Node>
      </Node></TreeModel>"""


def iforest(size: str) -> Any:
    segments = "".join(
        f'<Segment id="{i}"><True/>{stump(t, a, b)}</Segment>'
        for i, (t, a, b) in enumerate([(0.0, 1.0, 5.0), (2.0, 3.0, 7.0)], start=1)
    )
    return load(
        f'<AnomalyDetectionModel functionName="regression" algorithmType="iforest" '
        f'sampleDataSize="{size}">{SCHEMA}{OUTPUT}'
        f'<MiningModel functionName="regression">{SCHEMA}'
        f'<Segmentation multipleModelMethod="average">{segments}</Segmentation></MiningModel>'
        "</AnomalyDetectionModel>"
    )


def test_average_path_length_follows_scikit_learn() -> None:
    assert average_path_length(1) == 0.0
    assert average_path_length(2) == 1.0
    h = math.log(255) + 0.5772156649015329
    assert average_path_length(256) == pytest.approx(2 * h - 2 * 255 / 256, rel=1e-15)
    # The corpus's sklearn2pmml iforest divides by c(256) = 10.244770920119917.
    assert average_path_length(256) == pytest.approx(10.244770920119917, rel=1e-15)


def test_iforest_score_is_two_to_the_minus_normalized_path_length() -> None:
    model = iforest("10")
    out = score(model, [-1.0, 1.0, 3.0, NAN], [0.0] * 4)
    c = 2 * (math.log(9) + 0.5772156649015329) - 2 * 9 / 10
    # mean path lengths: (1 + 3) / 2, (5 + 3) / 2, (5 + 7) / 2; a missing x misses both trees.
    expected = [2 ** (-2.0 / c), 2 ** (-4.0 / c), 2 ** (-6.0 / c)]
    assert list(out["score"][:3]) == pytest.approx(expected, rel=1e-15)
    assert math.isnan(out["score"][3])
    assert list(out["outlier"]) == [True, False, False, None]
    assert [f.name for f in model.outputs] == ["score", "outlier"]


def test_iforest_needs_a_sample_size() -> None:
    with pytest.raises(ModelError, match="sampleDataSize"):
        load(
            f'<AnomalyDetectionModel functionName="regression" algorithmType="iforest">{SCHEMA}'
            f'<MiningModel functionName="regression">{SCHEMA}<Segmentation '
            f'multipleModelMethod="average"><Segment><True/>{stump(0, 1, 2)}</Segment>'
            "</Segmentation></MiningModel></AnomalyDetectionModel>"
        )
    with pytest.raises(ModelError, match="sampleDataSize=1 is too small"):
        iforest("1")


def test_wrapped_corpus_iforest_matches_jpmml_decision_function() -> None:
    document = etree.fromstring((CORPUS_CASE / "model.pmml").read_bytes())
    ns = "{http://www.dmg.org/PMML-4_4}"
    forest = document.find(f"{ns}MiningModel")
    assert forest is not None
    forest.remove(forest.find(f"{ns}Output"))
    wrapper = etree.SubElement(document, f"{ns}AnomalyDetectionModel")
    wrapper.set("functionName", "regression")
    wrapper.set("algorithmType", "iforest")
    wrapper.set("sampleDataSize", "256")
    wrapper.append(etree.fromstring(etree.tostring(forest.find(f"{ns}MiningSchema"))))
    output = etree.SubElement(wrapper, f"{ns}Output")
    etree.SubElement(output, f"{ns}OutputField", name="score", dataType="double")
    wrapper.append(forest)  # moves the forest under the wrapper
    model = PmmlEngine().load(etree.tostring(document))
    with (CORPUS_CASE / "input.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = {name: np.array([float(r[name]) for r in rows]) for name in rows[0]}
    with (CORPUS_CASE / "expected.csv").open(newline="") as handle:
        decision = [float(r["decisionFunction"]) for r in csv.DictReader(handle)]
    got = model.score(columns)["score"]
    assert list(got) == pytest.approx([0.5 - d for d in decision], rel=1e-12, abs=1e-15)


def test_ocsvm_score_is_the_svm_prediction() -> None:
    model = load(
        f'<AnomalyDetectionModel functionName="regression" algorithmType="ocsvm">{SCHEMA}'
        f"{OUTPUT}"
        f'<SupportVectorMachineModel functionName="regression">{SCHEMA}'
        '<LinearKernelType/><VectorDictionary numberOfVectors="1">'
        '<VectorFields numberOfFields="2"><FieldRef field="x"/><FieldRef field="z"/></VectorFields>'
        '<VectorInstance id="v"><REAL-SparseArray n="2"><Indices>1 2</Indices>'
        "<REAL-Entries>2 -1</REAL-Entries></REAL-SparseArray></VectorInstance></VectorDictionary>"
        '<SupportVectorMachine><SupportVectors numberOfAttributes="2" numberOfSupportVectors="1">'
        '<SupportVector vectorId="v"/></SupportVectors><Coefficients absoluteValue="0.5">'
        '<Coefficient value="3"/></Coefficients></SupportVectorMachine>'
        "</SupportVectorMachineModel></AnomalyDetectionModel>"
    )
    out = score(model, [1.0, 0.0], [1.0, 2.0])
    # 3 * (2x - z) + 0.5
    assert list(out["score"]) == pytest.approx([3.5, -5.5])


def cluster_model(means: str, measure: str = "<squaredEuclidean/>") -> Any:
    return load(
        f'<AnomalyDetectionModel functionName="regression" algorithmType="clusterMeanDist">'
        f"{SCHEMA}{OUTPUT}"
        f'<ClusteringModel functionName="clustering" modelClass="centerBased" '
        f'numberOfClusters="2">{SCHEMA}'
        f'<ComparisonMeasure kind="distance">{measure}</ComparisonMeasure>'
        '<ClusteringField field="x"/><ClusteringField field="z"/>'
        '<Cluster id="near"><Array n="2" type="real">0 0</Array></Cluster>'
        '<Cluster id="far"><Array n="2" type="real">10 10</Array></Cluster>'
        f"</ClusteringModel>{means}</AnomalyDetectionModel>"
    )


def test_cluster_mean_distance_divides_by_the_winning_clusters_mean() -> None:
    model = cluster_model(
        '<MeanClusterDistances><Array n="2" type="real">2 8</Array></MeanClusterDistances>'
    )
    out = score(model, [1.0, 9.0, NAN], [1.0, 12.0, NAN])
    # (1 + 1) / 2 for "near"; (1 + 4) / 8 for "far"; a row of missing values has no cluster.
    assert list(out["score"][:2]) == pytest.approx([1.0, 0.625])
    assert math.isnan(out["score"][2])


def test_cluster_mean_distance_needs_one_mean_per_cluster() -> None:
    with pytest.raises(ModelError, match="MeanClusterDistances"):
        cluster_model("")
    with pytest.raises(ModelError):
        cluster_model(
            '<MeanClusterDistances><Array n="1" type="real">2</Array></MeanClusterDistances>'
        )


def test_embedded_model_must_fit_the_algorithm() -> None:
    with pytest.raises(ModelError, match="embeds a MiningModel, not a TreeModel"):
        load(
            f'<AnomalyDetectionModel functionName="regression" algorithmType="iforest" '
            f'sampleDataSize="10">{SCHEMA}{stump(0, 1, 2)}</AnomalyDetectionModel>'
        )
    with pytest.raises(ModelError, match="algorithmType=lof"):
        load(
            f'<AnomalyDetectionModel functionName="regression" algorithmType="lof">{SCHEMA}'
            f"{stump(0, 1, 2)}</AnomalyDetectionModel>"
        )


def test_other_algorithm_passes_the_embedded_prediction_through() -> None:
    model = load(
        f'<AnomalyDetectionModel functionName="regression" algorithmType="other">{SCHEMA}'
        f"{OUTPUT}{stump(0, 1, 2)}</AnomalyDetectionModel>"
    )
    assert list(score(model, [-1.0, 1.0], [0.0, 0.0])["score"]) == [1.0, 2.0]
