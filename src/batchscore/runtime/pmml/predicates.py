"""PMML predicates as vectorized three-valued logic: 1.0 true, 0.0 false, NaN unknown."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import (
    F64,
    Bool,
    Column,
    Scalar,
    is_numeric,
    missing_mask,
    parse_scalar,
)
from batchscore.runtime.pmml.xml import require_attr, require_child

Predicate = Callable[[Context], F64]
PREDICATE_TAGS = frozenset(
    {"True", "False", "SimplePredicate", "SimpleSetPredicate", "CompoundPredicate"}
)
COMPARISONS = frozenset(
    {"equal", "notEqual", "lessThan", "lessOrEqual", "greaterThan", "greaterOrEqual"}
)
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


def find_predicate(element: etree._Element) -> etree._Element | None:
    for candidate in element:
        if candidate.tag in PREDICATE_TAGS:
            return candidate
    return None


def parse_array(element: etree._Element, data_type: str) -> list[Scalar]:
    """An Array's values, parsed per the compared field's ``data_type``."""
    text = element.text or ""
    tokens = []
    for match in _TOKEN.finditer(text):
        quoted = match.group(1)
        tokens.append(quoted.replace('\\"', '"') if quoted is not None else match.group(2))
    return [parse_scalar(data_type, token) for token in tokens]


def simple_value(field: Expr, text: str) -> Scalar:
    """A SimplePredicate's value parsed per the field's type (integer fields compare as double)."""
    data_type = "double" if field.data_type == "integer" else field.data_type
    return parse_scalar(data_type, text)


def compile_predicate(element: etree._Element, scope: Scope) -> Predicate:
    tag = element.tag
    if tag == "True":
        return lambda ctx: np.ones(ctx.n)
    if tag == "False":
        return lambda ctx: np.zeros(ctx.n)
    if tag == "SimplePredicate":
        return _simple(element, scope)
    if tag == "SimpleSetPredicate":
        return _set(element, scope)
    if tag == "CompoundPredicate":
        return _compound(element, scope)
    raise ModelError(f"Unsupported PMML element: {tag}.")


def _simple(element: etree._Element, scope: Scope) -> Predicate:
    field = scope.resolve(require_attr(element, "field"))
    operator = require_attr(element, "operator")
    field_fn = field.fn
    if operator in ("isMissing", "isNotMissing"):
        negate = operator == "isNotMissing"

        def missing_test(ctx: Context) -> F64:
            mask = missing_mask(field_fn(ctx))
            return (~mask if negate else mask).astype(np.float64)

        return missing_test
    if operator not in COMPARISONS:
        raise ModelError(f"Unsupported PMML feature: SimplePredicate@operator={operator}.")
    value = simple_value(field, require_attr(element, "value"))
    if isinstance(value, str) and operator not in ("equal", "notEqual"):
        raise ModelError(f"Unsupported PMML feature: {operator} on a string field.")

    def compare(ctx: Context) -> F64:
        column = field_fn(ctx)
        return _compare(operator, column, value)

    return compare


def _compare(operator: str, column: Column, value: Scalar) -> F64:
    missing = missing_mask(column)
    with np.errstate(invalid="ignore"):
        if operator == "equal":
            hit = column == value
        elif operator == "notEqual":
            hit = column != value
        elif operator == "lessThan":
            hit = column < value
        elif operator == "lessOrEqual":
            hit = column <= value
        elif operator == "greaterThan":
            hit = column > value
        else:
            hit = column >= value
    out = np.asarray(hit, dtype=np.float64)
    out[missing] = np.nan
    return out


def _set(element: etree._Element, scope: Scope) -> Predicate:
    field = scope.resolve(require_attr(element, "field"))
    operator = require_attr(element, "booleanOperator")
    if operator not in ("isIn", "isNotIn"):
        raise ModelError(
            f"Unsupported PMML feature: SimpleSetPredicate@booleanOperator={operator}."
        )
    array = require_child(element, "Array")
    data_type = "double" if field.data_type == "integer" else field.data_type
    values = parse_array(array, data_type)
    negate = operator == "isNotIn"
    field_fn = field.fn
    numeric = is_numeric(field.data_type)

    def member(ctx: Context) -> F64:
        column = field_fn(ctx)
        missing = missing_mask(column)
        hit: Bool = np.zeros(ctx.n, dtype=bool)
        if numeric:
            hit = np.asarray(
                np.isin(np.asarray(column, dtype=np.float64), np.asarray(values, dtype=float)),
                dtype=np.bool_,
            )
        else:
            for candidate in values:
                hit |= np.asarray(column == candidate, dtype=bool)
        out = (~hit if negate else hit).astype(np.float64)
        out[missing] = np.nan
        return out

    return member


def _compound(element: etree._Element, scope: Scope) -> Predicate:
    operator = require_attr(element, "booleanOperator")
    parts = [compile_predicate(c, scope) for c in element if c.tag in PREDICATE_TAGS]
    if len(parts) < 2 and operator != "surrogate":
        raise ModelError("Invalid PMML: CompoundPredicate needs two predicates.")
    if operator not in ("and", "or", "xor", "surrogate"):
        raise ModelError(f"Unsupported PMML feature: CompoundPredicate@booleanOperator={operator}.")

    def combine(ctx: Context) -> F64:
        values = [p(ctx) for p in parts]
        if operator == "surrogate":
            out = values[0].copy()
            for value in values[1:]:
                undecided = np.isnan(out)
                out[undecided] = value[undecided]
            return out
        stacked = np.column_stack(values)
        unknown = np.isnan(stacked).any(axis=1)
        if operator == "and":
            false = (stacked == 0.0).any(axis=1)
            return np.where(false, 0.0, np.where(unknown, np.nan, 1.0))
        if operator == "or":
            true = (stacked == 1.0).any(axis=1)
            return np.where(true, 1.0, np.where(unknown, np.nan, 0.0))
        parity = np.nansum(stacked, axis=1) % 2
        return np.where(unknown, np.nan, parity)

    return combine


def predicate_key(element: etree._Element) -> str:
    """A canonical text of a predicate, so identical predicates are computed once per batch."""
    return etree.tostring(element, method="c14n").decode()
