"""AnomalyDetectionModel (PMML 4.4): an embedded model turned into an anomaly score.

JPMML-Evaluator 1.7 does not support this element; the PMML 4.4 text defines the score:

* ``iforest``: the embedded model (a MiningModel of isolation trees) predicts the average
  path length E(h); the score is ``2 ** (-E(h) / c(n))`` with n = ``sampleDataSize`` and
  ``c(n) = 2 H(n - 1) - 2 (n - 1) / n``, ``H(i) = ln(i) + Euler's constant`` (as
  scikit-learn: c(2) = 1, c(n <= 1) = 0). Scores near 1 are anomalous.
* ``ocsvm`` and ``other``: the embedded model's predicted value.
* ``clusterMeanDist``: the embedded ClusteringModel's distance (or similarity) to the winning
  cluster divided by that cluster's entry in MeanClusterDistances.

The predicted value is the score; a threshold decision is an ordinary Output expression.
"""

from __future__ import annotations

import math

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.arrays import real_array
from batchscore.runtime.pmml.compiler import MODEL_TAGS, compile_model, init_score_plan
from batchscore.runtime.pmml.context import Context, Scope
from batchscore.runtime.pmml.datatypes import F64
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.xml import attr, child, require_attr

ALGORITHMS = frozenset({"iforest", "ocsvm", "clusterMeanDist", "other"})
EULER_GAMMA = 0.5772156649015329


def average_path_length(n: float) -> float:
    """c(n): the average path length of an unsuccessful search in a binary search tree."""
    if n <= 1:
        return 0.0
    if n <= 2:
        return 1.0
    return 2.0 * (math.log(n - 1.0) + EULER_GAMMA) - 2.0 * (n - 1.0) / n


class AnomalyPlan(ModelPlan):
    def __init__(self, algorithm: str, inner: ModelPlan, scale: float, means: F64 | None) -> None:
        super().__init__()
        self.algorithm = algorithm
        self.inner = inner
        self.scale = scale
        """c(sampleDataSize), for iforest."""
        self.means = means
        """MeanClusterDistances aligned with the clustering model's cluster ids."""

    def _evaluate(self, ctx: Context) -> ModelResult:
        result = self.inner.evaluate(ctx)
        if self.algorithm == "clusterMeanDist":
            return ModelResult(self._relative_distance(result))
        value = np.asarray(result.value, dtype=np.float64)
        if self.algorithm == "iforest":
            with np.errstate(all="ignore"):
                value = np.power(2.0, -value / self.scale)
        return ModelResult(value)

    def _relative_distance(self, result: ModelResult) -> F64:
        out = np.full(result.value.shape[0], np.nan)
        if result.affinities is None or result.entity_ids is None or self.means is None:
            return out
        for index, cluster in enumerate(result.affinity_ids):
            rows = np.asarray(result.entity_ids == cluster, dtype=bool)
            with np.errstate(all="ignore"):
                out[rows] = result.affinities[rows, index] / self.means[index]
        return out


def _inner_model(element: etree._Element) -> etree._Element:
    found = [c for c in element if c.tag in MODEL_TAGS]
    if len(found) != 1:
        raise ModelError("Invalid PMML: AnomalyDetectionModel needs exactly one model element.")
    return found[0]


def compile_anomaly(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    algorithm = require_attr(element, "algorithmType")
    if algorithm not in ALGORITHMS:
        raise ModelError(f"Invalid PMML: AnomalyDetectionModel@algorithmType={algorithm}.")
    inner_element = _inner_model(element)
    wanted = {"iforest": "MiningModel", "clusterMeanDist": "ClusteringModel"}.get(algorithm)
    if algorithm == "ocsvm":
        wanted = "SupportVectorMachineModel"
    if wanted is not None and inner_element.tag != wanted:
        raise ModelError(
            f"Invalid PMML: an AnomalyDetectionModel of algorithmType={algorithm} embeds a "
            f"{wanted}, not a {inner_element.tag}."
        )
    inner = compile_model(inner_element, env, scope, top_level=False)
    scale = 1.0
    if algorithm == "iforest":
        size_text = attr(element, "sampleDataSize")
        if size_text is None:
            raise ModelError("Invalid PMML: iforest needs AnomalyDetectionModel@sampleDataSize.")
        try:
            size = float(size_text)
        except ValueError as exc:
            raise ModelError(f"Invalid PMML: sampleDataSize={size_text}.") from exc
        scale = average_path_length(size)
        if scale <= 0.0:
            raise ModelError(f"Invalid PMML: sampleDataSize={size_text} is too small.")
    means = None
    if algorithm == "clusterMeanDist":
        means_el = child(element, "MeanClusterDistances")
        if means_el is None:
            raise ModelError("Invalid PMML: clusterMeanDist needs MeanClusterDistances.")
        means = real_array(means_el, len(inner.labels))
    elif inner.function not in ("regression", "mixed") and algorithm != "other":
        raise ModelError(
            f"Invalid PMML: the {inner_element.tag} of an AnomalyDetectionModel must be a "
            f"regression model, not {inner.function}."
        )
    plan = AnomalyPlan(algorithm, inner, scale, means)
    init_score_plan(plan, header)
    return plan
