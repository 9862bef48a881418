"""The design of a GeneralRegressionModel: PPMatrix rows as vectorized predictors and the
ParamMatrix cells that weight them (see :mod:`batchscore.runtime.pmml.general_regression`).

A parameter's predictor row is the product of its PPCells: a factor cell is 1 on its category,
a contrast-matrix entry, or 0; a covariate cell multiplies by the value raised to the cell's
power. Covariates are skipped once the factors gave 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.context import Context, Expr, Scope, new_key
from batchscore.runtime.pmml.datatypes import (
    F64,
    Bool,
    Scalar,
    format_scalar,
    is_numeric,
    missing_mask,
    try_parse_scalar,
)
from batchscore.runtime.pmml.expressions import numeric
from batchscore.runtime.pmml.limits import check_cells, required_size, size_attr
from batchscore.runtime.pmml.predicates import parse_array
from batchscore.runtime.pmml.xml import (
    attr,
    child,
    children,
    float_attr,
    require_attr,
    require_child,
)

Evaluation = tuple[F64, Bool, Bool]
"""A column of values, where it is missing, and where evaluating it is an error."""


def category_key(data_type: str, text: str) -> str:
    """``text`` in canonical form for ``data_type`` (``1`` and ``1.0`` alike for numbers)."""
    if is_numeric(data_type):
        parsed = try_parse_scalar("double", text)
        if parsed is not None:
            return format_scalar(parsed)
    return text


def parse_category(expr: Expr, text: str) -> Scalar | None:
    return try_parse_scalar("double" if expr.data_type == "integer" else expr.data_type, text)


@dataclass(frozen=True)
class Factor:
    expr: Expr
    value: Scalar | None
    categories: tuple[Scalar | None, ...] = ()
    contrast: F64 | None = None
    """With a contrast matrix: the matrix column of this cell's category, by input category."""

    def update(self, ctx: Context, product: F64) -> tuple[F64, Bool, Bool]:
        column = self.expr(ctx)
        missing = missing_mask(column)
        if self.contrast is None:
            hit = np.asarray(column == self.value, dtype=bool) & ~missing
            return np.where(hit, product, product * 0.0), missing, np.zeros(ctx.n, dtype=bool)
        index = np.full(ctx.n, -1)
        for i, category in enumerate(self.categories):
            index[np.asarray(column == category, dtype=bool) & ~missing & (index < 0)] = i
        known = index >= 0
        entry = np.where(known, self.contrast[np.maximum(index, 0)], np.nan)
        return product * entry, missing, ~known & ~missing


@dataclass(frozen=True)
class Covariate:
    expr: Expr
    exponent: float | None


class Row:
    """The PPCells of one parameter: the value multiplying its beta."""

    def __init__(self, factors: list[Factor], covariates: list[Covariate]) -> None:
        self.factors = factors
        self.covariates = covariates
        self._key = new_key()

    def evaluate(self, ctx: Context) -> Evaluation:
        result: Evaluation = ctx.memo(self._key, self._evaluate)
        return result

    def _evaluate(self, ctx: Context) -> Evaluation:
        product = np.ones(ctx.n)
        null = np.zeros(ctx.n, dtype=bool)
        error = np.zeros(ctx.n, dtype=bool)
        for factor in self.factors:
            product, missing, unknown = factor.update(ctx, product)
            error |= unknown & ~null
            null |= missing
        zero = product == 0.0
        with np.errstate(all="ignore"):
            for covariate in self.covariates:
                x = np.asarray(covariate.expr(ctx), dtype=np.float64)
                null |= np.isnan(x) & ~zero
                term = x if covariate.exponent is None else np.power(x, covariate.exponent)
                product = np.where(zero, product, product * term)
        return product, null, error


Cells = tuple[tuple[float, Row | None], ...]


def dot(ctx: Context, cells: Cells) -> Evaluation:
    """Sum of beta times the parameter's row (1 without a row), in ParamMatrix order."""
    acc = np.zeros(ctx.n)
    null = np.full(ctx.n, not cells)
    error = np.zeros(ctx.n, dtype=bool)
    with np.errstate(all="ignore"):
        for beta, row in cells:
            if row is None:
                acc = acc + beta
                continue
            x, row_null, row_error = row.evaluate(ctx)
            error |= row_error & ~null
            null |= row_null
            acc = acc + beta * x
    return acc, null, error


def parse_parameters(element: etree._Element) -> dict[str, float]:
    parameter_list = require_child(element, "ParameterList")
    return {
        require_attr(p, "name"): float_attr(p, "referencePoint", 0.0)
        for p in children(parameter_list, "Parameter")
    }


def parse_predictors(element: etree._Element, tag: str) -> dict[str, etree._Element]:
    predictor_list = child(element, tag)
    if predictor_list is None:
        return {}
    return {require_attr(p, "name"): p for p in children(predictor_list, "Predictor")}


def parse_matrix(
    element: etree._Element, rows: int, cols: int, what: str = "a Matrix"
) -> list[list[float]]:
    """The first ``rows`` x ``cols`` cells of a Matrix element (any, diagonal or symmetric;
    Arrays or MatCells). Sizes the document states are checked against its own content and
    :mod:`~batchscore.runtime.pmml.limits` before anything is allocated; a MatCell outside
    ``rows`` x ``cols`` is refused, naming it."""
    kind = attr(element, "kind", "any")
    check_cells(rows * cols, "Matrix")
    for name in ("nbRows", "nbCols"):
        stated = size_attr(attr(element, name), f"Matrix@{name}")
        if stated is not None and stated < 0:
            raise ModelError(f"Invalid PMML: Matrix@{name}={stated}.")
    arrays = [[float(v) for v in parse_array(a, "double")] for a in children(element, "Array")]
    if kind == "diagonal" and arrays:
        values = arrays[0]
        return [
            [values[i] if i == j and i < len(values) else 0.0 for j in range(cols)]
            for i in range(rows)
        ]
    if kind == "symmetric" and arrays:

        def cell(i: int, j: int) -> float:
            row, col = max(i, j), min(i, j)
            if row >= len(arrays) or col >= len(arrays[row]):
                raise ModelError(f"Invalid PMML: {what} is too small.")
            return arrays[row][col]

        return [[cell(i, j) for j in range(cols)] for i in range(rows)]
    if arrays:
        width = len(arrays[0])
        if any(len(a) != width for a in arrays):
            raise ModelError("Invalid PMML: the rows of a Matrix differ in length.")
        if len(arrays) < rows or width < cols:
            raise ModelError(f"Invalid PMML: {what} is too small.")
        return [a[:cols] for a in arrays[:rows]]
    cells: dict[tuple[int, int], float] = {}
    for c in children(element, "MatCell"):
        row = required_size(c, "row")
        col = required_size(c, "col")
        if not (1 <= row <= rows and 1 <= col <= cols):
            raise ModelError(
                f"Invalid PMML: MatCell row={row} col={col} is outside the {rows} x {cols} "
                "cells the Matrix may have."
            )
        cells[(row, col)] = float((c.text or "").strip())
    diagonal = float_attr(element, "diagDefault", math.nan)
    off = float_attr(element, "offDiagDefault", math.nan)
    return [
        [cells.get((i, j), diagonal if i == j else off) for j in range(1, cols + 1)]
        for i in range(1, rows + 1)
    ]


def compile_factor(cell: etree._Element, predictor: etree._Element, expr: Expr) -> Factor:
    text = require_attr(cell, "value")
    matrix_el = child(predictor, "Matrix")
    if matrix_el is None:
        return Factor(expr, parse_category(expr, text))
    categories_el = child(predictor, "Categories")
    if categories_el is None:
        raise ModelError("Unsupported PMML feature: a contrast Matrix without Categories.")
    texts = [require_attr(c, "value") for c in children(categories_el, "Category")]
    name = require_attr(predictor, "name")
    if text not in texts:
        raise ModelError(f"Invalid PMML: PPCell value {text!r} is not a category of {name!r}.")
    column = texts.index(text)
    try:
        # A contrast matrix has a row per category; only this cell's column is read.
        matrix = parse_matrix(matrix_el, len(texts), max(len(texts) - 1, column + 1))
    except ModelError as exc:
        if "too small" in str(exc):
            raise ModelError(
                f"Invalid PMML: the contrast Matrix of {name!r} is too small."
            ) from exc
        raise
    contrast = np.array([row[column] for row in matrix])
    return Factor(expr, None, tuple(parse_category(expr, t) for t in texts), contrast)


def compile_pp_matrix(
    element: etree._Element, scope: Scope, parameters: dict[str, float]
) -> dict[str | None, dict[str, Row]]:
    """PPCells grouped by targetCategory (None = every category), then by parameter."""
    pp_matrix = require_child(element, "PPMatrix")
    factors = parse_predictors(element, "FactorList")
    covariates = parse_predictors(element, "CovariateList")
    grouped: dict[str | None, dict[str, list[etree._Element]]] = {}
    for cell in children(pp_matrix, "PPCell"):
        parameter = require_attr(cell, "parameterName")
        if parameter not in parameters:
            raise ModelError(f"Invalid PMML: PPCell refers to undeclared parameter {parameter!r}.")
        category = attr(cell, "targetCategory")
        grouped.setdefault(category, {}).setdefault(parameter, []).append(cell)
    rows: dict[str | None, dict[str, Row]] = {}
    for category, by_parameter in grouped.items():
        rows[category] = {}
        for parameter, cells in by_parameter.items():
            row_factors: list[Factor] = []
            row_covariates: list[Covariate] = []
            for cell in cells:
                name = require_attr(cell, "predictorName")
                if name in factors:
                    row_factors.append(compile_factor(cell, factors[name], scope.resolve(name)))
                elif name in covariates:
                    exponent = float(require_attr(cell, "value"))
                    expr = numeric(scope.resolve(name))
                    row_covariates.append(Covariate(expr, None if exponent == 1.0 else exponent))
                else:
                    raise ModelError(
                        f"Invalid PMML: PPCell refers to {name!r}, which is neither a factor "
                        "nor a covariate."
                    )
            rows[category][parameter] = Row(row_factors, row_covariates)
    return rows


def parse_param_matrix(
    element: etree._Element, parameters: dict[str, float]
) -> dict[str | None, list[tuple[str, float]]]:
    param_matrix = require_child(element, "ParamMatrix")
    cells: dict[str | None, list[tuple[str, float]]] = {}
    for cell in children(param_matrix, "PCell"):
        parameter = require_attr(cell, "parameterName")
        if parameter not in parameters:
            raise ModelError(f"Invalid PMML: PCell refers to undeclared parameter {parameter!r}.")
        cells.setdefault(attr(cell, "targetCategory"), []).append(
            (parameter, float_attr(cell, "beta"))
        )
    return cells


def weighted_rows(pcells: list[tuple[str, float]], rows: dict[str, Row]) -> Cells:
    return tuple((beta, rows.get(parameter)) for parameter, beta in pcells)
