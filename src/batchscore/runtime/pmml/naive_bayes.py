"""NaiveBayesModel: class priors times per-input likelihoods, on a logarithmic scale.

As JPMML: a missing input is ignored; a continuous input contributes its Gaussian density
(or Poisson probability), raised to ``threshold`` when below it; a discrete input contributes
``count / sum of the input's counts for the class`` (``threshold`` for a zero count). The
log-scores are normalized with softmax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import F64, Scalar, missing_mask, try_parse_scalar
from batchscore.runtime.pmml.expressions import compile_derived_field, find_expression, numeric
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.result import ModelResult, predicted_from_probs
from batchscore.runtime.pmml.xml import child, children, float_attr, require_attr, require_child

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class ContinuousInput:
    """Per class: ("gaussian", mean, variance) or ("poisson", mean, 0)."""

    expr: Expr
    stats: tuple[tuple[int, str, float, float], ...]


@dataclass(frozen=True)
class DiscreteInput:
    expr: Expr
    values: tuple[Scalar, ...]
    log_probs: F64
    """[values, classes]: log-probability of each PairCounts value per class (NaN = no factor)."""


def _log(x: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


def _likelihood(kind: str, mean: float, variance: float, x: F64) -> F64:
    if kind == "gaussian":
        sd = math.sqrt(variance)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            z = (x - mean) / sd
            return np.exp(-0.5 * z * z - (math.log(sd) + _HALF_LOG_2PI))
    k = np.trunc(x)
    out = np.zeros_like(x)
    for value in np.unique(k[k >= 0]):
        log_p = -mean + value * math.log(mean) - math.lgamma(value + 1.0) if mean > 0 else 0.0
        out[k == value] = math.exp(log_p) if mean > 0 else float(value == 0)
    return out


class NaiveBayesPlan(ModelPlan):
    def __init__(
        self,
        priors: F64,
        continuous: list[ContinuousInput],
        discrete: list[DiscreteInput],
        threshold: float,
    ) -> None:
        super().__init__()
        self.priors = priors
        self.continuous = continuous
        self.discrete = discrete
        self.threshold = threshold

    def _evaluate(self, ctx: Context) -> ModelResult:
        scores = np.tile(_log(self.priors), (ctx.n, 1))
        for item in self.continuous:
            x = np.asarray(item.expr(ctx), dtype=np.float64)
            present = ~np.isnan(x)
            for j, kind, mean, variance in item.stats:
                p = _likelihood(kind, mean, variance, x)
                p = np.where(p < self.threshold, self.threshold, p)
                scores[:, j] += np.where(present, _log(p), 0.0)
        for table in self.discrete:
            column = table.expr(ctx)
            known = ~missing_mask(column)
            for v, value in enumerate(table.values):
                rows = np.asarray(column == value, dtype=bool) & known
                factors = table.log_probs[v]
                for k in np.flatnonzero(~np.isnan(factors)):
                    scores[rows, k] += factors[k]
        with np.errstate(invalid="ignore", over="ignore"):
            top = np.max(scores, axis=1, keepdims=True)
            exp = np.exp(scores - top)
            probs = exp / exp.sum(axis=1, keepdims=True)
        probs[ctx.invalid] = np.nan
        return ModelResult(predicted_from_probs(self.labels, probs), self.labels, probs)


def _continuous(element: etree._Element, expr: Expr, classes: dict[str, int]) -> ContinuousInput:
    stats = []
    for stat in children(element, "TargetValueStat"):
        label = require_attr(stat, "value")
        if label not in classes:
            continue
        gaussian = child(stat, "GaussianDistribution")
        poisson = child(stat, "PoissonDistribution")
        if gaussian is not None:
            variance = float_attr(gaussian, "variance")
            if variance <= 0:
                raise ModelError("Invalid PMML: GaussianDistribution@variance must be positive.")
            stats.append((classes[label], "gaussian", float_attr(gaussian, "mean"), variance))
        elif poisson is not None:
            stats.append((classes[label], "poisson", float_attr(poisson, "mean"), 0.0))
        else:
            tag = next((c.tag for c in stat if c.tag != "Extension"), "TargetValueStat")
            raise ModelError(f"Unsupported PMML element: {tag}.")
    return ContinuousInput(numeric(expr), tuple(stats))


def _discrete(
    element: etree._Element, expr: Expr, classes: dict[str, int], threshold: float
) -> DiscreteInput:
    pairs = children(element, "PairCounts")
    sums = np.zeros(len(classes))
    rows: list[tuple[Scalar, list[tuple[int, float]]]] = []
    for pair in pairs:
        value = try_parse_scalar(expr.data_type, require_attr(pair, "value"))
        counts_el = child(pair, "TargetValueCounts")
        counts = []
        for count_el in children(counts_el, "TargetValueCount") if counts_el is not None else []:
            label = require_attr(count_el, "value")
            count = float_attr(count_el, "count")
            if label in classes:
                sums[classes[label]] += count
                counts.append((classes[label], count))
        if value is not None:
            rows.append((value, counts))
    log_probs = np.full((len(rows), len(classes)), np.nan)
    for v, (_, counts) in enumerate(rows):
        for j, count in counts:
            p = threshold if abs(count) <= 1e-16 else count / sums[j]
            log_probs[v, j] = math.log(p) if p > 0 else -math.inf
    return DiscreteInput(expr, tuple(r[0] for r in rows), log_probs)


def compile_naive_bayes(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    if header.function != "classification":
        raise ModelError(f"Invalid PMML: NaiveBayesModel@functionName={header.function}.")
    threshold = float_attr(element, "threshold")
    counts = require_child(element, "BayesOutput/TargetValueCounts")
    labels = tuple(require_attr(c, "value") for c in children(counts, "TargetValueCount"))
    priors = np.array([float_attr(c, "count") for c in children(counts, "TargetValueCount")])
    if not labels:
        raise ModelError("Invalid PMML: BayesOutput has no TargetValueCount.")
    classes = {label: j for j, label in enumerate(labels)}
    inputs = require_child(element, "BayesInputs")
    elements = children(inputs, "BayesInput")
    for extension in children(inputs, "Extension"):
        elements += children(extension, "BayesInput")
    continuous: list[ContinuousInput] = []
    discrete: list[DiscreteInput] = []
    for bayes_input in elements:
        expr = scope.resolve(require_attr(bayes_input, "fieldName"))
        stats = child(bayes_input, "TargetValueStats")
        if stats is not None:
            continuous.append(_continuous(stats, expr, classes))
            continue
        derived = child(bayes_input, "DerivedField")
        if derived is not None:
            expression = find_expression(derived)
            if expression is None or expression.tag != "Discretize":
                raise ModelError(
                    "Unsupported PMML feature: BayesInput/DerivedField without Discretize."
                )
            expr = compile_derived_field(derived, scope, env.functions)
        discrete.append(_discrete(bayes_input, expr, classes, threshold))
    plan = NaiveBayesPlan(priors, continuous, discrete, threshold)
    init_plan(plan, header, labels)
    plan.labels = labels
    return plan
