"""NaiveBayesModel, SupportVectorMachineModel, ClusteringModel and NearestNeighborModel on small
hand-written documents (expected values computed by hand from the PMML 4.4 definitions)."""

from __future__ import annotations

import math
from typing import Any

import numpy.typing as npt
import pytest

from batchscore.errors import ModelError
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
SCHEMA_U = """<MiningSchema><MiningField name="x"/><MiningField name="z"/></MiningSchema>"""


def load(body: str) -> Any:
    return load_document(DICTIONARY, body)


def run(model: Any, xs: list[float], zs: list[float]) -> dict[str, npt.NDArray[Any]]:
    return score_floats(model, x=xs, z=zs)


def close(got: npt.NDArray[Any], expected: list[float]) -> bool:
    return all(
        (math.isnan(e) and math.isnan(float(g))) or math.isclose(float(g), e, rel_tol=1e-12)
        for g, e in zip(got, expected, strict=True)
    )


# --- NaiveBayesModel -------------------------------------------------------------------------

NB = """<NaiveBayesModel functionName="classification" threshold="0.01">{schema}
  <Output><OutputField name="pa" feature="probability" value="a"/>
    <OutputField name="pb" feature="probability" value="b"/></Output>
  <BayesInputs>
    <BayesInput fieldName="x"><TargetValueStats>
      <TargetValueStat value="a"><GaussianDistribution mean="0" variance="1"/></TargetValueStat>
      <TargetValueStat value="b"><GaussianDistribution mean="2" variance="4"/></TargetValueStat>
    </TargetValueStats></BayesInput>
    <BayesInput fieldName="z">
      <DerivedField name="zbin" optype="categorical" dataType="string">
        <Discretize field="z">
          <DiscretizeBin binValue="low">
            <Interval closure="openOpen" rightMargin="0"/></DiscretizeBin>
          <DiscretizeBin binValue="high">
            <Interval closure="closedOpen" leftMargin="0"/></DiscretizeBin>
        </Discretize></DerivedField>
      <PairCounts value="low"><TargetValueCounts>
        <TargetValueCount value="a" count="3"/><TargetValueCount value="b" count="0"/>
      </TargetValueCounts></PairCounts>
      <PairCounts value="high"><TargetValueCounts>
        <TargetValueCount value="a" count="1"/><TargetValueCount value="b" count="4"/>
      </TargetValueCounts></PairCounts>
    </BayesInput>
  </BayesInputs>
  <BayesOutput fieldName="c"><TargetValueCounts>
    <TargetValueCount value="a" count="4"/><TargetValueCount value="b" count="6"/>
  </TargetValueCounts></BayesOutput>
</NaiveBayesModel>"""


def _gauss(x: float, mean: float, variance: float) -> float:
    return math.exp(-((x - mean) ** 2) / (2 * variance)) / math.sqrt(2 * math.pi * variance)


def test_naive_bayes_gaussian_discrete_threshold_and_missing() -> None:
    model = load(NB.format(schema=SCHEMA_C))
    out = run(model, [0.5, 9.0, NAN, 1.0], [-1.0, 1.0, 1.0, NAN])
    expected = []
    for x, z in [(0.5, -1.0), (9.0, 1.0), (NAN, 1.0), (1.0, NAN)]:
        a, b = 4.0, 6.0
        if not math.isnan(x):
            a *= max(_gauss(x, 0, 1), 0.01)
            b *= max(_gauss(x, 2, 4), 0.01)
        if not math.isnan(z):
            a *= 3 / 4 if z < 0 else 1 / 4
            b *= 0.01 if z < 0 else 4 / 4
        expected.append(a / (a + b))
    assert close(out["pa"], expected)
    assert close(out["pb"], [1 - e for e in expected])
    assert list(out["c"]) == ["a" if e > 0.5 else "b" for e in expected]


# --- SupportVectorMachineModel ---------------------------------------------------------------

VECTORS = """<VectorDictionary numberOfVectors="3">
    <VectorFields><FieldRef field="x"/><FieldRef field="z"/></VectorFields>
    <VectorInstance id="v1"><Array type="real">1 0</Array></VectorInstance>
    <VectorInstance id="v2"><REAL-SparseArray n="2"><Indices>2</Indices>
      <REAL-Entries>2</REAL-Entries></REAL-SparseArray></VectorInstance>
    <VectorInstance id="v3"><Array type="real">-1 1</Array></VectorInstance>
  </VectorDictionary>"""


def _machine(ids: str, coefficients: str, b: float, extra: str = "") -> str:
    vectors = "".join(f'<SupportVector vectorId="{i}"/>' for i in ids.split())
    coefs = "".join(f'<Coefficient value="{c}"/>' for c in coefficients.split())
    return (
        f"<SupportVectorMachine {extra}><SupportVectors>{vectors}</SupportVectors>"
        f'<Coefficients absoluteValue="{b}">{coefs}</Coefficients></SupportVectorMachine>'
    )


REFS = {"v1": (1.0, 0.0), "v2": (0.0, 2.0), "v3": (-1.0, 1.0)}


@pytest.mark.parametrize(
    ("kernel", "function"),
    [
        ("<LinearKernelType/>", lambda d, s: d),
        (
            '<PolynomialKernelType gamma="0.5" coef0="1" degree="3"/>',
            lambda d, s: (0.5 * d + 1) ** 3,
        ),
        ('<SigmoidKernelType gamma="0.3" coef0="-0.2"/>', lambda d, s: math.tanh(0.3 * d - 0.2)),
        ('<RadialBasisKernelType gamma="0.7"/>', lambda d, s: math.exp(-0.7 * s)),
    ],
)
def test_svm_regression_kernels(kernel: str, function: Any) -> None:
    model = load(
        f'<SupportVectorMachineModel functionName="regression">{SCHEMA_R}{kernel}{VECTORS}'
        f"{_machine('v1 v2 v3', '0.5 -1.5 2', 0.25)}</SupportVectorMachineModel>"
    )
    xs, zs = [0.3, -2.0, NAN], [1.2, 0.5, 0.0]
    out = run(model, xs, zs)
    expected = []
    for x, z in zip(xs[:2], zs[:2], strict=True):
        total = 0.25
        for coefficient, ref in zip((0.5, -1.5, 2.0), REFS.values(), strict=True):
            dot = x * ref[0] + z * ref[1]
            squared = (x - ref[0]) ** 2 + (z - ref[1]) ** 2
            total += coefficient * function(dot, squared)
        expected.append(total)
    assert close(out["y"], [*expected, NAN])


def test_svm_coefficients_representation() -> None:
    model = load(
        '<SupportVectorMachineModel functionName="regression" svmRepresentation="Coefficients">'
        f"{SCHEMA_R}<LinearKernelType/>{VECTORS}"
        '<SupportVectorMachine><Coefficients absoluteValue="1"><Coefficient value="2"/>'
        '<Coefficient value="-3"/></Coefficients></SupportVectorMachine>'
        "</SupportVectorMachineModel>"
    )
    assert close(run(model, [1.0, 2.0], [0.5, -1.0])["y"], [1.5, 8.0])


def test_svm_one_against_one_votes_and_threshold() -> None:
    machines = (
        _machine("v1", "1", 0.0, 'targetCategory="a" alternateTargetCategory="b"')
        + _machine("v2", "1", 0.0, 'targetCategory="a" alternateTargetCategory="k"')
        + _machine("v3", "1", 0.0, 'targetCategory="b" alternateTargetCategory="k" threshold="1"')
    )
    model = load(
        '<SupportVectorMachineModel functionName="classification" '
        f'classificationMethod="OneAgainstOne">{SCHEMA_C}<LinearKernelType/>{VECTORS}'
        f"{machines}</SupportVectorMachineModel>"
    )
    # decisions: x, 2z, z - x; "a" when x < 0 / 2z < 0; "b" when z - x < 1
    out = run(model, [-1.0, 1.0, 1.0, 1.0], [-1.0, 1.0, -1.0, 3.0])
    # row 0: a, a, b -> a; row 1: b, k, b -> b; row 2: b, a, b -> b; row 3: b, k, k -> k
    assert list(out["c"]) == ["a", "b", "b", "k"]


def test_svm_one_against_all_takes_the_smallest_value() -> None:
    machines = (
        _machine("v1", "1", 0.0, 'targetCategory="a"')
        + _machine("v2", "1", 0.0, 'targetCategory="b"')
        + _machine("v3", "1", 0.5, 'targetCategory="k"')
    )
    model = load(
        f'<SupportVectorMachineModel functionName="classification">{SCHEMA_C}'
        f"<LinearKernelType/>{VECTORS}{machines}</SupportVectorMachineModel>"
    )
    out = run(model, [-1.0, 2.0, 0.0], [0.0, -1.0, NAN])
    # values (x, 2z, z - x + 0.5): (-1, 0, 1.5) -> a; (2, -2, -2.5) -> k; missing input
    assert list(out["c"]) == ["a", "k", None]


# --- ClusteringModel -------------------------------------------------------------------------

CLUSTERS = """<Cluster id="near"><Array type="real">0 0</Array></Cluster>
  <Cluster id="far"><Array type="real">3 4</Array></Cluster>"""
CLUSTER_OUT = """<Output><OutputField name="id" feature="predictedValue"/>
    <OutputField name="second" feature="entityId" rank="2"/>
    <OutputField name="d_far" feature="affinity" value="far"/>
    <OutputField name="d_best" feature="affinity"/></Output>"""


def clustering(measure: str, weights: str = "") -> Any:
    return load(
        f'<ClusteringModel functionName="clustering" modelClass="centerBased" numberOfClusters="2">'
        f'{SCHEMA_U}{CLUSTER_OUT}<ComparisonMeasure kind="distance">{measure}</ComparisonMeasure>'
        f'<ClusteringField field="x"/><ClusteringField field="z" fieldWeight="2"/>'
        f"{weights}{CLUSTERS}</ClusteringModel>"
    )


@pytest.mark.parametrize(
    ("measure", "distance"),
    [
        ("<squaredEuclidean/>", lambda dx, dz: dx * dx + 2 * dz * dz),
        ("<euclidean/>", lambda dx, dz: math.sqrt(dx * dx + 2 * dz * dz)),
        ("<cityBlock/>", lambda dx, dz: abs(dx) + 2 * abs(dz)),
        ("<chebychev/>", lambda dx, dz: max(abs(dx), 2 * abs(dz))),
        (
            '<minkowski p-parameter="3"/>',
            lambda dx, dz: (abs(dx) ** 3 + 2 * abs(dz) ** 3) ** (1 / 3),
        ),
    ],
)
def test_clustering_measures(measure: str, distance: Any) -> None:
    out = run(clustering(measure), [1.0, 2.5], [0.5, 3.0])
    for i, (x, z) in enumerate([(1.0, 0.5), (2.5, 3.0)]):
        near, far = distance(x, z), distance(x - 3, z - 4)
        assert math.isclose(out["d_far"][i], far, rel_tol=1e-12)
        assert math.isclose(out["d_best"][i], min(near, far), rel_tol=1e-12)
        assert out["id"][i] == ("near" if near <= far else "far")
        assert out["second"][i] == ("far" if near <= far else "near")


def test_clustering_missing_value_weights() -> None:
    weights = '<MissingValueWeights><Array type="real">1 3</Array></MissingValueWeights>'
    out = run(clustering("<squaredEuclidean/>", weights), [2.0, NAN], [NAN, NAN])
    # only x present: the sum is scaled by (1 + 3) / 1
    assert close(out["d_far"], [1.0 * 4.0, NAN])
    assert close(out["d_best"], [1.0 * 4.0, NAN])
    assert list(out["id"]) == ["far", None]


def test_clustering_refuses_center_fields() -> None:
    with pytest.raises(ModelError, match="Unsupported PMML element: CenterFields"):
        load(
            f'<ClusteringModel functionName="clustering" modelClass="centerBased">{SCHEMA_U}'
            '<ComparisonMeasure kind="distance"><euclidean/></ComparisonMeasure>'
            '<ClusteringField field="x"/><CenterFields/>'
            f"{CLUSTERS}</ClusteringModel>"
        )


# --- NearestNeighborModel --------------------------------------------------------------------


def knn(function: str, method: str, k: int, target: str, rows: str) -> Any:
    schema = SCHEMA_R if target == "y" else SCHEMA_C
    attribute = "continuousScoringMethod" if target == "y" else "categoricalScoringMethod"
    return load(
        f'<NearestNeighborModel functionName="{function}" numberOfNeighbors="{k}" '
        f'{attribute}="{method}">{schema}'
        '<Output><OutputField name="n1" feature="entityId"/>'
        '<OutputField name="n2" feature="entityId" rank="2"/>'
        '<OutputField name="d2" feature="affinity" rank="2"/></Output>'
        '<TrainingInstances><InstanceFields><InstanceField field="x" column="x"/>'
        f'<InstanceField field="{target}" column="t"/></InstanceFields>'
        f"<InlineTable>{rows}</InlineTable></TrainingInstances>"
        '<ComparisonMeasure kind="distance"><euclidean/></ComparisonMeasure>'
        '<KNNInputs><KNNInput field="x"/></KNNInputs></NearestNeighborModel>'
    )


def _rows(pairs: list[tuple[float, str]]) -> str:
    return "".join(f"<row><x>{x}</x><t>{t}</t></row>" for x, t in pairs)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("average", (10 + 20 + 60) / 3),
        ("median", 20.0),
        (
            "weightedAverage",
            (10 / 1.001 + 20 / 0.001 + 60 / 2.001) / (1 / 1.001 + 1 / 0.001 + 1 / 2.001),
        ),
    ],
)
def test_knn_regression(method: str, expected: float) -> None:
    model = knn("regression", method, 3, "y", _rows([(0, "10"), (1, "20"), (3, "60"), (9, "99")]))
    out = run(model, [1.0], [0.0])
    assert close(out["y"], [expected])
    assert list(out["n1"]) == ["2"]
    assert list(out["n2"]) == ["1"]
    assert close(out["d2"], [1.0])


def test_knn_vote_ties_go_to_the_most_frequent_class_then_the_smallest() -> None:
    rows = _rows([(0, "b"), (1, "a"), (10, "b"), (11, "b"), (20, "k"), (21, "a")])
    model = knn("classification", "majorityVote", 2, "c", rows)
    # x=0.5: neighbours b, a (tie) -> b (3 instances vs 2); x=20.5: k, a -> a (2 vs 1)
    out = run(model, [0.5, 20.5], [0.0, 0.0])
    assert list(out["c"]) == ["b", "a"]
    even = knn("classification", "majorityVote", 2, "c", _rows([(0, "k"), (1, "b")]))
    assert list(run(even, [0.5], [0.0])["c"]) == ["b"]


def test_still_unsupported_elements_are_refused_by_name() -> None:
    for element in ("BayesianNetworkModel", "GaussianProcessModel"):
        with pytest.raises(ModelError, match=f"Unsupported PMML element: {element}."):
            load(f'<{element} functionName="regression">{SCHEMA_R}</{element}>')
