"""BaselineModel: a per-row test statistic against a baseline distribution.

JPMML-Evaluator 1.7 does not support this element. Supported here is the one statistic that
scores each row on its own: ``zValue``, ``(x - mean) / sqrt(variance)`` of the field against a
Gaussian, Poisson (mean = variance = λ), Uniform (mean (a + b) / 2, variance (b - a)² / 12) or
Any (its mean and variance) baseline. The predicted value is the statistic.

Refused at load time, naming the part: ``CUSUM`` (its score accumulates over the sequence of
records, while batch rows are scored independently and in no defined order),
``chiSquareDistribution``, ``chiSquareIndependence`` and ``scalarProduct`` (they compare the
count distribution of many records, a CountTable or NormalizedCountTable, with the
baseline's, not one row), a ``windowSize`` and a ``weightField``.
"""

from __future__ import annotations

import math

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import init_score_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.expressions import numeric
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.xml import attr, float_attr, require_attr, require_child

STATISTICS = frozenset(
    {"zValue", "chiSquareIndependence", "chiSquareDistribution", "CUSUM", "scalarProduct"}
)
DISTRIBUTIONS = frozenset(
    {"GaussianDistribution", "PoissonDistribution", "UniformDistribution", "AnyDistribution"}
)
TABLES = frozenset({"CountTable", "NormalizedCountTable", "FieldRef"})


class BaselinePlan(ModelPlan):
    def __init__(self, field: Expr, mean: float, deviation: float) -> None:
        super().__init__()
        self.field = field
        self.mean = mean
        self.deviation = deviation

    def _evaluate(self, ctx: Context) -> ModelResult:
        x = np.asarray(self.field(ctx), dtype=np.float64)
        with np.errstate(all="ignore"):
            return ModelResult((x - self.mean) / self.deviation)


def moments(distribution: etree._Element) -> tuple[float, float]:
    """Mean and variance of a continuous baseline distribution."""
    tag = distribution.tag
    if tag in ("GaussianDistribution", "AnyDistribution"):
        return float_attr(distribution, "mean"), float_attr(distribution, "variance")
    if tag == "PoissonDistribution":
        lam = float_attr(distribution, "mean")
        return lam, lam
    low, high = float_attr(distribution, "lower"), float_attr(distribution, "upper")
    return (low + high) / 2.0, (high - low) ** 2 / 12.0


def _baseline_distribution(tests: etree._Element) -> etree._Element:
    baseline = require_child(tests, "Baseline")
    for candidate in baseline:
        if candidate.tag in DISTRIBUTIONS:
            return candidate
        if candidate.tag in TABLES:
            raise ModelError(
                f"Unsupported PMML feature: Baseline/{candidate.tag} (zValue needs a "
                "continuous baseline distribution)."
            )
    raise ModelError("Invalid PMML: Baseline has no distribution.")


def compile_baseline(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    tests = require_child(element, "TestDistributions")
    statistic = require_attr(tests, "testStatistic")
    if statistic not in STATISTICS:
        raise ModelError(f"Invalid PMML: TestDistributions@testStatistic={statistic}.")
    if statistic == "CUSUM":
        raise ModelError(
            "Unsupported PMML feature: TestDistributions@testStatistic=CUSUM (the score "
            "accumulates over the sequence of records; batch rows are scored independently)."
        )
    if statistic != "zValue":
        raise ModelError(
            f"Unsupported PMML feature: TestDistributions@testStatistic={statistic} (it tests "
            "the count distribution of many records, not one row)."
        )
    if float_attr(tests, "windowSize", 0.0) != 0.0:
        raise ModelError("Unsupported PMML feature: TestDistributions@windowSize.")
    if attr(tests, "weightField") is not None:
        raise ModelError("Unsupported PMML feature: TestDistributions@weightField.")
    mean, variance = moments(_baseline_distribution(tests))
    if not variance > 0.0 or not math.isfinite(variance):
        raise ModelError(f"Invalid PMML: the baseline variance {variance} is not positive.")
    field = numeric(scope.resolve(require_attr(tests, "field")))
    plan = BaselinePlan(field, mean, math.sqrt(variance))
    init_score_plan(plan, header)
    return plan
