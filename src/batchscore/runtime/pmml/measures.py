"""ComparisonMeasure: distances and binary similarities between input rows and references.

Shared by ClusteringModel (references = cluster centers) and NearestNeighborModel
(references = training instances). Semantics as JPMML's ``MeasureUtil``: per field
``fieldWeight * inner(x, y) ** p`` summed in field order, missing fields skipped and the sum
scaled by ``sum(weights) / sum(weights of present fields)``; then ``** (1 / p)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.datatypes import F64
from batchscore.runtime.pmml.xml import attr, float_attr

DISTANCES = frozenset({"euclidean", "squaredEuclidean", "chebychev", "cityBlock", "minkowski"})
SIMILARITIES = frozenset({"simpleMatching", "jaccard", "tanimoto", "binarySimilarity"})
COMPARE_FUNCTIONS = frozenset({"absDiff", "gaussSim", "delta", "equal"})
_BINARY_PARAMETERS = ("c00", "c01", "c10", "c11", "d00", "d01", "d10", "d11")


@dataclass(frozen=True)
class FieldCompare:
    weight: float
    function: str
    scale: float | None


@dataclass(frozen=True)
class Measure:
    kind: str
    """``distance`` or ``similarity``: smaller or larger is nearer."""
    name: str
    p: float
    compare: str
    binary: tuple[float, ...] = ()

    @property
    def is_distance(self) -> bool:
        return self.name in DISTANCES


def parse_measure(element: etree._Element | None) -> Measure:
    if element is None:
        raise ModelError("Invalid PMML: the model has no ComparisonMeasure.")
    measure = next((c for c in element if c.tag in DISTANCES | SIMILARITIES), None)
    if measure is None:
        tag = next((c.tag for c in element if c.tag != "Extension"), "ComparisonMeasure")
        raise ModelError(f"Unsupported PMML element: {tag}.")
    compare = attr(element, "compareFunction", "absDiff") or "absDiff"
    if compare not in ("absDiff", "delta", "equal"):
        raise ModelError(f"Unsupported PMML feature: ComparisonMeasure@compareFunction={compare}.")
    p = 2.0 if measure.tag in ("euclidean", "squaredEuclidean") else 1.0
    if measure.tag == "minkowski":
        p = float_attr(measure, "p-parameter")
        if p <= 0:
            raise ModelError("Invalid PMML: minkowski@p-parameter must be positive.")
    binary: tuple[float, ...] = ()
    if measure.tag == "binarySimilarity":
        binary = tuple(float_attr(measure, f"{name}-parameter") for name in _BINARY_PARAMETERS)
    kind = attr(element, "kind", "distance") or "distance"
    return Measure(kind, measure.tag, p, compare, binary)


def parse_field_compare(element: etree._Element, measure: Measure) -> FieldCompare:
    function = attr(element, "compareFunction") or measure.compare
    if function not in COMPARE_FUNCTIONS:
        raise ModelError(f"Unsupported PMML feature: compareFunction={function}.")
    scale_text = attr(element, "similarityScale")
    scale = float(scale_text) if scale_text is not None else None
    if function == "gaussSim" and scale is None:
        raise ModelError("Invalid PMML: compareFunction=gaussSim needs similarityScale.")
    return FieldCompare(float_attr(element, "fieldWeight", 1.0), function, scale)


def _inner(compare: FieldCompare, x: F64, y: F64, out: F64) -> None:
    """The comparison of one field, x [rows, 1] against y [1, refs], into ``out``."""
    if compare.function == "absDiff":
        np.subtract(x, y, out=out)
        np.abs(out, out=out)
    elif compare.function == "gaussSim":
        scale = compare.scale if compare.scale is not None else 1.0
        z = x - y
        out[...] = np.exp(-math.log(2.0) * np.power(z, 2.0) / math.pow(scale, 2.0))
    elif compare.function == "delta":
        out[...] = np.where(x == y, 0.0, 1.0)
    else:
        out[...] = np.where(x == y, 1.0, 0.0)


def distances(
    measure: Measure,
    fields: list[FieldCompare],
    x: F64,
    refs: F64,
    adjust_weights: F64 | None = None,
    out: F64 | None = None,
) -> F64:
    """[rows, refs] distances (or similarities) of input rows ``x`` [rows, fields] (NaN =
    missing) to reference rows ``refs`` [refs, fields]. Distances are computed in place, into
    ``out`` if given (a [rows, refs] buffer, for callers that chunk rows to stay in cache)."""
    if not measure.is_distance:
        return _similarities(measure, x, refs)
    rows = x.shape[0]
    missing = np.isnan(x)
    weights = adjust_weights if adjust_weights is not None else np.ones(x.shape[1])
    total = 0.0
    for w in weights:
        total += float(w)
    present = np.zeros(rows)
    for j in range(x.shape[1]):
        present += np.where(missing[:, j], 0.0, weights[j])
    chebychev = measure.name == "chebychev"
    acc = np.empty((rows, refs.shape[0])) if out is None else out
    term = np.empty_like(acc)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        adjustment = total / present
        acc.fill(-np.inf if chebychev else 0.0)
        for j, compare in enumerate(fields):
            if compare.function == "absDiff" and measure.p == 2.0:
                np.subtract(x[:, j, None], refs[None, :, j], out=term)  # squared: abs is moot
            else:
                _inner(compare, x[:, j, None], refs[None, :, j], term)
            if measure.p != 1.0:
                np.power(term, measure.p, out=term)
            if compare.weight != 1.0:  # 1.0 * t == t: skipping it is exact
                np.multiply(compare.weight, term, out=term)
            absent = missing[:, j]
            if absent.any():
                term[absent] = -np.inf if chebychev else 0.0
            if chebychev:
                np.maximum(acc, term, out=acc)
            else:
                np.add(acc, term, out=acc)
        if not np.all(adjustment == 1.0):  # as above
            np.multiply(acc, adjustment[:, None], out=acc)
        if not chebychev and measure.name != "squaredEuclidean" and measure.p != 1.0:
            np.power(acc, 1.0 / measure.p, out=acc)
        return acc


def _similarities(measure: Measure, x: F64, refs: F64) -> F64:
    """Binary similarities: every value must be 0 or 1 (else the row is missing)."""
    valid = np.all((x == 0.0) | (x == 1.0), axis=1)
    if not np.all((refs == 0.0) | (refs == 1.0)):
        raise ModelError("Invalid PMML: binary similarity needs 0/1 reference values.")
    ones = np.where(valid[:, None], x, 0.0)
    a11 = ones @ refs.T
    a10 = ones.sum(axis=1, keepdims=True) - a11
    a01 = refs.sum(axis=1)[None, :] - a11
    a00 = x.shape[1] - a11 - a10 - a01
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure.name == "simpleMatching":
            out = (a11 + a00) / (a11 + a10 + a01 + a00)
        elif measure.name == "jaccard":
            out = a11 / (a11 + a10 + a01)
        elif measure.name == "tanimoto":
            out = (a11 + a00) / (a11 + 2.0 * (a10 + a01) + a00)
        else:
            c00, c01, c10, c11, d00, d01, d10, d11 = measure.binary
            numerator = c11 * a11 + c10 * a10 + c01 * a01 + c00 * a00
            out = numerator / (d11 * a11 + d10 * a10 + d01 * a01 + d00 * a00)
    out[~valid] = np.nan
    return np.asarray(out, dtype=np.float64)


def nearest_first(values: F64, measure: Measure) -> F64:
    """Values turned so that smaller is nearer (NaN last)."""
    key = values if measure.is_distance else -values
    return np.where(np.isnan(key), np.inf, key)
