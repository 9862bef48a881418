"""The chunked, in-place SVM kernel and k-NN blocks agree with the plain formulas bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from batchscore.runtime.pmml import PmmlEngine
from batchscore.runtime.pmml.datatypes import F64
from batchscore.runtime.pmml.knn import _nearest
from batchscore.runtime.pmml.measures import FieldCompare, Measure, distances, nearest_first
from batchscore.runtime.pmml.svm import Kernel


def plain_kernel(kernel: Kernel, x: F64, vectors: F64) -> F64:
    """Feature-by-feature accumulation, the order JPMML sums in."""
    acc = np.zeros((x.shape[0], vectors.shape[0]))
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(x.shape[1]):
            if kernel.kind == "rbf":
                diff = x[:, j, None] - vectors[None, :, j]
                acc += diff * diff
            else:
                acc += x[:, j, None] * vectors[None, :, j]
        if kernel.kind == "rbf":
            return np.exp(-acc * kernel.gamma)
        if kernel.kind == "linear":
            return acc
        if kernel.kind == "polynomial":
            return np.power(acc * kernel.gamma + kernel.coef0, kernel.degree)
        return np.tanh(acc * kernel.gamma + kernel.coef0)


@pytest.mark.parametrize("kind", ["rbf", "linear", "polynomial", "sigmoid"])
@pytest.mark.parametrize("features", [0, 1, 5])
def test_kernel_block_matches_plain_accumulation(kind: str, features: int) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, features)) * 3.0
    vectors = rng.normal(size=(25, features)) * 3.0
    if features:
        x[3, 0] = np.inf
        x[5, -1] = 1e200
    kernel = Kernel(kind, gamma=0.3, coef0=1.5, degree=3.0)
    out, scratch = np.empty((25, 40)), np.empty((25, 40))
    got = kernel.block(np.ascontiguousarray(x.T), vectors, out, scratch).T
    with np.errstate(over="ignore", invalid="ignore"):
        want = plain_kernel(kernel, x, vectors)
    assert np.array_equal(got, want, equal_nan=True)


def plain_distances(measure: Measure, fields: list[FieldCompare], x: F64, refs: F64) -> F64:
    """The measure's definition, one field at a time, with fresh arrays."""
    missing = np.isnan(x)
    present = np.zeros(x.shape[0])
    for j in range(x.shape[1]):
        present += np.where(missing[:, j], 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        adjustment = float(x.shape[1]) / present
        acc = np.zeros((x.shape[0], refs.shape[0]))
        for j, compare in enumerate(fields):
            inner = np.abs(x[:, j, None] - refs[None, :, j])
            term = compare.weight * np.power(inner, measure.p)
            term[missing[:, j]] = 0.0
            acc += term
        scaled = acc * adjustment[:, None]
        if measure.name == "squaredEuclidean" or measure.p == 1.0:
            return scaled
        return np.power(scaled, 1.0 / measure.p)


@pytest.mark.parametrize(
    ("name", "p"),
    [("euclidean", 2.0), ("squaredEuclidean", 2.0), ("cityBlock", 1.0), ("minkowski", 3.0)],
)
def test_distances_into_a_buffer_match_the_definition(name: str, p: float) -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(30, 4))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[7] = np.nan
    refs = rng.normal(size=(20, 4))
    measure = Measure("distance", name, p, "absDiff")
    fields = [FieldCompare(w, "absDiff", None) for w in (1.0, 0.5, 2.0, 1.0)]
    buffer = np.empty((30, 20))
    got = distances(measure, fields, x, refs, out=buffer)
    assert got is buffer
    assert np.array_equal(got, plain_distances(measure, fields, x, refs), equal_nan=True)


@pytest.mark.parametrize("name", ["euclidean", "jaccard"])
def test_nearest_is_a_stable_sort_prefix(name: str) -> None:
    """Ties keep table order; NaN and infinite distances rank as a stable sort puts them."""
    rng = np.random.default_rng(3)
    measure = Measure("distance", name, 2.0, "absDiff")
    for _ in range(200):
        rows, refs = int(rng.integers(1, 30)), int(rng.integers(1, 25))
        d = rng.integers(0, 4, size=(rows, refs)).astype(float)
        d[rng.random(d.shape) < 0.1] = np.nan
        d[rng.random(d.shape) < 0.1] = np.inf
        d[rng.random(d.shape) < 0.05] = -0.0
        depth = int(rng.integers(1, min(refs, 17) + 1))
        want = np.argsort(nearest_first(d, measure), axis=1, kind="stable")[:, :depth]
        work = d.copy()
        got, near = _nearest(work, depth, measure)
        assert np.array_equal(got, want)
        assert np.array_equal(near, np.take_along_axis(d, want, axis=1), equal_nan=True)
        assert np.array_equal(work, d, equal_nan=True)


def svr_document(vectors: F64, used: list[int], coefficients: F64, intercept: float) -> bytes:
    fields = "".join(
        f'<DataField name="x{j}" optype="continuous" dataType="double"/>' for j in range(3)
    )
    mining = "".join(f'<MiningField name="x{j}"/>' for j in range(3))
    refs = "".join(f'<FieldRef field="x{j}"/>' for j in range(3))
    instances = "".join(
        f'<VectorInstance id="v{i}"><Array type="real" n="3">{" ".join(map(repr, row))}</Array>'
        "</VectorInstance>"
        for i, row in enumerate(vectors.tolist())
    )
    support = "".join(f'<SupportVector vectorId="v{i}"/>' for i in used)
    coefs = "".join(f'<Coefficient value="{c!r}"/>' for c in coefficients.tolist())
    return (
        '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><DataDictionary>'
        f'{fields}<DataField name="y" optype="continuous" dataType="double"/></DataDictionary>'
        '<SupportVectorMachineModel functionName="regression"><MiningSchema>'
        f'<MiningField name="y" usageType="target"/>{mining}</MiningSchema>'
        '<RadialBasisKernelType gamma="0.4"/>'
        f'<VectorDictionary numberOfVectors="{len(vectors)}"><VectorFields numberOfFields="3">'
        f"{refs}</VectorFields>{instances}</VectorDictionary>"
        f'<SupportVectorMachine><SupportVectors numberOfSupportVectors="{len(used)}">{support}'
        f'</SupportVectors><Coefficients absoluteValue="{intercept!r}" '
        f'numberOfCoefficients="{len(used)}">{coefs}</Coefficients></SupportVectorMachine>'
        "</SupportVectorMachineModel></PMML>"
    ).encode()


def test_svm_decisions_over_chunks_and_slabs() -> None:
    """More rows than a chunk, vectors over several slabs, listed out of order."""
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(40, 3))
    used = [int(i) for i in rng.permutation(40)[:30]]
    coefficients = rng.normal(size=30)
    model = PmmlEngine().load(svr_document(vectors, used, coefficients, 0.25))
    x = rng.normal(size=(5000, 3))
    x[17, 1] = np.nan
    got = model.score({f"x{j}": x[:, j] for j in range(3)})["y"]
    d2 = ((x[:, None, :] - vectors[None, used, :]) ** 2).sum(axis=2)
    want = np.exp(-0.4 * d2) @ coefficients + 0.25
    want[17] = np.nan
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
