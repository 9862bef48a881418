"""RegressionModel: regression tables with numeric, categorical and interaction predictors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import F64, Scalar, missing_mask, parse_scalar
from batchscore.runtime.pmml.expressions import numeric
from batchscore.runtime.pmml.normalize import (
    binary_link,
    binary_link_float32,
    normalize_multinomial,
    regression_link,
    regression_link_float32,
)
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.result import ModelResult, predicted_from_probs
from batchscore.runtime.pmml.targets import TargetSpec, parse_target
from batchscore.runtime.pmml.xml import attr, children, float_attr, require_attr, require_children

NORMALIZATIONS = frozenset(
    {"none", "simplemax", "softmax", "logit", "probit", "cloglog", "exp", "loglog", "cauchit"}
)


@dataclass(frozen=True)
class Table:
    intercept: float
    numeric: tuple[tuple[Expr, float, int], ...]
    categorical: tuple[tuple[Expr, Scalar, float], ...]
    terms: tuple[tuple[tuple[Expr, ...], float], ...]
    category: str | None

    @property
    def is_default(self) -> bool:
        return not (self.numeric or self.categorical or self.terms) and self.intercept == 0.0

    def evaluate(self, ctx: Context, float_math: bool = False) -> F64:
        """Sum in JPMML's order (numeric, categorical, terms, intercept) for identical bits."""
        if float_math:
            return self._evaluate_float32(ctx)
        acc = np.zeros(ctx.n)
        missing = np.zeros(ctx.n, dtype=bool)
        for expr, coefficient, exponent in self.numeric:
            x = np.asarray(expr(ctx), dtype=np.float64)
            missing |= np.isnan(x)
            acc += coefficient * (x if exponent == 1 else np.power(x, exponent))
        for expr, value, coefficient in self.categorical:
            column = expr(ctx)
            hit = np.asarray(column == value, dtype=bool) & ~missing_mask(column)
            acc += np.where(hit, coefficient, 0.0)
        for factors, coefficient in self.terms:
            product = np.full(ctx.n, coefficient)
            for factor in factors:
                x = np.asarray(factor(ctx), dtype=np.float64)
                missing |= np.isnan(x)
                product = product * x
            acc += product
        acc += self.intercept
        acc[missing] = np.nan
        return acc

    def _evaluate_float32(self, ctx: Context) -> F64:
        """The same sum in float32 arithmetic (x-mathContext="float")."""
        if self.terms:
            raise ModelError("Unsupported PMML feature: PredictorTerm with x-mathContext=float.")
        acc = np.zeros(ctx.n, dtype=np.float32)
        missing = np.zeros(ctx.n, dtype=bool)
        for expr, coefficient, exponent in self.numeric:
            x = np.asarray(expr(ctx), dtype=np.float64)
            missing |= np.isnan(x)
            term = np.float32(coefficient) * np.power(x, exponent).astype(np.float32)
            acc += term
        for expr, value, coefficient in self.categorical:
            column = expr(ctx)
            hit = np.asarray(column == value, dtype=bool) & ~missing_mask(column)
            acc += np.where(hit, np.float32(coefficient), np.float32(0.0))
        acc += np.float32(self.intercept)
        out = acc.astype(np.float64)
        out[missing] = np.nan
        return out


def parse_table(element: etree._Element, scope: Scope) -> Table:
    numeric_predictors = []
    for p in children(element, "NumericPredictor"):
        exponent_text = attr(p, "exponent", "1") or "1"
        numeric_predictors.append(
            (
                numeric(scope.resolve(require_attr(p, "name"))),
                float_attr(p, "coefficient"),
                int(exponent_text),
            )
        )
    categorical = []
    for p in children(element, "CategoricalPredictor"):
        expr = scope.resolve(require_attr(p, "name"))
        categorical.append(
            (
                expr,
                parse_scalar(expr.data_type, require_attr(p, "value")),
                float_attr(p, "coefficient"),
            )
        )
    terms = []
    for term in children(element, "PredictorTerm"):
        refs = children(term, "FieldRef")
        if not refs:
            raise ModelError("Invalid PMML: PredictorTerm without FieldRef.")
        factors = tuple(numeric(scope.resolve(require_attr(r, "field"))) for r in refs)
        terms.append((factors, float_attr(term, "coefficient")))
    return Table(
        intercept=float_attr(element, "intercept", 0.0),
        numeric=tuple(numeric_predictors),
        categorical=tuple(categorical),
        terms=tuple(terms),
        category=attr(element, "targetCategory"),
    )


class RegressionPlan(ModelPlan):
    def __init__(self, tables: list[Table], normalization: str, target: TargetSpec) -> None:
        super().__init__()
        self.tables = tables
        self.normalization = normalization
        self.target = target

    def _evaluate(self, ctx: Context) -> ModelResult:
        f32 = self.float_math
        if self.function == "regression":
            raw = self.tables[0].evaluate(ctx, f32)
            if f32:
                value = regression_link_float32(self.normalization, raw)
            else:
                value = regression_link(self.normalization, raw)
            return ModelResult(self.target.apply(value, f32))
        raw = np.column_stack([t.evaluate(ctx, f32) for t in self.tables])
        probs = self._probabilities(raw)
        probs[ctx.invalid] = np.nan
        return ModelResult(predicted_from_probs(self.labels, probs), self.labels, probs)

    def _probabilities(self, raw: F64) -> F64:
        method = self.normalization
        binary = raw.shape[1] == 2
        ordinal = self.target_optype == "ordinal"
        if ordinal:
            return _ordinal(method, raw)
        if binary and (
            method in ("none", "logit", "probit", "cloglog", "loglog", "cauchit")
            or (method == "softmax" and self.tables[1].is_default)
        ):
            link = "logit" if method == "softmax" else method
            if self.float_math:
                first32 = binary_link_float32(link, raw[:, 0]).astype(np.float32)
                second32 = np.float32(1.0) - first32
                return np.column_stack([first32, second32]).astype(np.float64)
            first = binary_link(link, raw[:, 0])
            return np.column_stack([first, 1.0 - first])
        if method in ("none", "softmax", "simplemax") or (method == "logit" and not binary):
            return normalize_multinomial(method, raw, self.float_math)
        raise ModelError(f"Invalid PMML: normalizationMethod={method} for this RegressionModel.")


def _ordinal(method: str, raw: F64) -> F64:
    if method not in ("none", "logit", "probit", "cloglog", "loglog", "cauchit"):
        raise ModelError(f"Invalid PMML: normalizationMethod={method} for an ordinal target.")
    out = np.empty_like(raw)
    cumulative = np.zeros(raw.shape[0])
    for j in range(raw.shape[1] - 1):
        value = binary_link(method, raw[:, j])
        out[:, j] = value - cumulative if j else value
        cumulative = value if j == 0 else cumulative + out[:, j]
    out[:, -1] = 1.0 - cumulative
    return out


def compile_regression(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    normalization = attr(element, "normalizationMethod", "none") or "none"
    if normalization not in NORMALIZATIONS:
        raise ModelError(f"Unsupported PMML feature: normalizationMethod={normalization}.")
    tables = [parse_table(t, scope) for t in require_children(element, "RegressionTable")]
    if header.function == "classification":
        if len(tables) < 2:
            raise ModelError("Invalid PMML: a classification RegressionModel needs two tables.")
        if any(t.category is None for t in tables):
            raise ModelError("Invalid PMML: RegressionTable has no targetCategory.")
        labels = tuple(t.category or "" for t in tables)
    elif header.function == "regression":
        if len(tables) != 1:
            raise ModelError("Invalid PMML: a regression RegressionModel needs one table.")
        if normalization == "simplemax":
            raise ModelError("Invalid PMML: normalizationMethod=simplemax for regression.")
        labels = ()
    else:
        raise ModelError(
            f"Unsupported PMML feature: RegressionModel@functionName={header.function}."
        )
    plan = RegressionPlan(tables, normalization, parse_target(element, header.target_name))
    init_plan(plan, header, labels)
    plan.labels = labels
    return plan
