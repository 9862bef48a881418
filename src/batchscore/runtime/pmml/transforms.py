"""NormContinuous, NormDiscrete, Discretize and MapValues."""

from __future__ import annotations

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import (
    Column,
    cast_column,
    check_data_type,
    format_scalar,
    is_numeric,
    missing_column,
    missing_mask,
    parse_scalar,
)
from batchscore.runtime.pmml.intervals import parse_interval
from batchscore.runtime.pmml.xml import attr, children, float_attr, require_attr, require_child


def compile_norm_continuous(element: etree._Element, scope: Scope) -> Expr:
    source = scope.resolve(require_attr(element, "field"))
    points = children(element, "LinearNorm")
    if len(points) < 2:
        raise ModelError("Invalid PMML: NormContinuous needs at least two LinearNorm elements.")
    orig = np.array([float_attr(p, "orig") for p in points])
    norm = np.array([float_attr(p, "norm") for p in points])
    if np.any(np.diff(orig) <= 0):
        raise ModelError("Invalid PMML: NormContinuous LinearNorm@orig must increase.")
    outliers = attr(element, "outliers", "asIs")
    if outliers not in ("asIs", "asMissingValues", "asExtremeValues"):
        raise ModelError(f"Unsupported PMML feature: NormContinuous@outliers={outliers}.")
    map_missing = attr(element, "mapMissingTo")
    missing_value = float(map_missing) if map_missing is not None else np.nan
    source_fn = source.fn
    last = len(orig) - 2

    def evaluate(ctx: Context) -> Column:
        x = np.asarray(cast_column("double", source_fn(ctx)), dtype=np.float64)
        segment = np.clip(np.searchsorted(orig, x, side="left") - 1, 0, last)
        a1, a2 = orig[segment], orig[segment + 1]
        b1, b2 = norm[segment], norm[segment + 1]
        with np.errstate(invalid="ignore"):
            y = b1 + (x - a1) / (a2 - a1) * (b2 - b1)
            below, above = x < orig[0], x > orig[-1]
        if outliers == "asMissingValues":
            y = np.where(below | above, np.nan, y)
        elif outliers == "asExtremeValues":
            y = np.where(below, norm[0], np.where(above, norm[-1], y))
        return np.where(np.isnan(x), missing_value, y)

    return Expr(evaluate, "double", "continuous")


def compile_norm_discrete(element: etree._Element, scope: Scope) -> Expr:
    source = scope.resolve(require_attr(element, "field"))
    value = parse_scalar(source.data_type, require_attr(element, "value"))
    map_missing = attr(element, "mapMissingTo")
    missing_value = float(map_missing) if map_missing is not None else np.nan
    source_fn = source.fn

    def evaluate(ctx: Context) -> Column:
        column = source_fn(ctx)
        missing = missing_mask(column)
        out = np.asarray(column == value, dtype=np.float64)
        out[missing] = missing_value
        return out

    return Expr(evaluate, "double", "continuous")


def compile_discretize(element: etree._Element, scope: Scope) -> Expr:
    source = scope.resolve(require_attr(element, "field"))
    data_type = check_data_type(attr(element, "dataType", "string") or "string", "Discretize")
    bins = []
    for bin_el in children(element, "DiscretizeBin"):
        interval_el = require_child(bin_el, "Interval")
        bins.append(
            (parse_interval(interval_el), parse_scalar(data_type, require_attr(bin_el, "binValue")))
        )
    map_missing = attr(element, "mapMissingTo")
    default = attr(element, "defaultValue")
    missing_value = None if map_missing is None else parse_scalar(data_type, map_missing)
    default_value = None if default is None else parse_scalar(data_type, default)
    source_fn = source.fn

    def evaluate(ctx: Context) -> Column:
        x = np.asarray(cast_column("double", source_fn(ctx)), dtype=np.float64)
        out = missing_column(data_type, ctx.n)
        unassigned = ~np.isnan(x)
        for interval, value in bins:
            hit = unassigned & interval.contains(x)
            out[hit] = value
            unassigned &= ~hit
        if default_value is not None:
            out[unassigned] = default_value
        if missing_value is not None:
            out[np.isnan(x)] = missing_value
        return out

    return Expr(evaluate, data_type, attr(element, "optype") or "categorical")


def _table_rows(table: etree._Element) -> list[dict[str, str]]:
    rows = []
    for row in children(table, "row"):
        rows.append({cell.tag: (cell.text or "") for cell in row if isinstance(cell.tag, str)})
    return rows


def column_key(column: str) -> str:
    """The cell element an InlineTable column name denotes.

    Cells are matched by local name (the document's namespaces are dropped when it is read), so
    a column written as a qualified name (``column="data:input"`` for ``<data:input>`` cells,
    as sklearn2pmml writes them) is matched by its local part.
    """
    return column.rpartition(":")[2]


def inline_table(element: etree._Element) -> list[dict[str, str]]:
    table = require_child(element, ("InlineTable", "TableLocator"), what="InlineTable")
    if table.tag == "TableLocator":
        raise ModelError("Unsupported PMML element: TableLocator.")
    return _table_rows(table)


def _keys(column: Column) -> Column:
    """Canonical string keys of a column, so 1 and 1.0 and "1" match alike."""
    if column.dtype == object:
        return column
    return cast_column("string", column)


def compile_map_values(element: etree._Element, scope: Scope) -> Expr:
    output_column = column_key(require_attr(element, "outputColumn"))
    data_type = check_data_type(attr(element, "dataType", "string") or "string", "MapValues")
    pairs = [
        (scope.resolve(require_attr(p, "field")), column_key(require_attr(p, "column")))
        for p in children(element, "FieldColumnPair")
    ]
    rows = inline_table(element)
    table: dict[tuple[str, ...], object] = {}
    for row in rows:
        if output_column not in row or any(col not in row for _, col in pairs):
            continue
        key = tuple(_canonical(expr.data_type, row[col]) for expr, col in pairs)
        table.setdefault(key, parse_scalar(data_type, row[output_column]))
    map_missing = attr(element, "mapMissingTo")
    default = attr(element, "defaultValue")
    missing_value = None if map_missing is None else parse_scalar(data_type, map_missing)
    default_value = None if default is None else parse_scalar(data_type, default)
    source_fns = [expr.fn for expr, _ in pairs]

    def evaluate(ctx: Context) -> Column:
        columns = [_keys(f(ctx)) for f in source_fns]
        out = missing_column(data_type, ctx.n)
        missing = np.zeros(ctx.n, dtype=bool)
        for column in columns:
            missing |= missing_mask(column)
        present = np.flatnonzero(~missing)
        if present.size:
            joined = columns[0][present].astype(str)
            for column in columns[1:]:
                joined = np.char.add(np.char.add(joined, "\x1f"), column[present].astype(str))
            uniques, inverse = np.unique(joined, return_inverse=True)
            mapped = [table.get(tuple(u.split("\x1f")), default_value) for u in uniques]
            values = np.array(mapped, dtype=object)[inverse]
            found = ~missing_mask(values)
            target = present[found]
            out[target] = (
                values[found] if not is_numeric(data_type) else values[found].astype(np.float64)
            )
        if missing_value is not None:
            out[missing] = missing_value
        return out

    return Expr(evaluate, data_type, attr(element, "optype") or "categorical")


def _canonical(data_type: str, text: str) -> str:
    if is_numeric(data_type):
        return format_scalar(parse_scalar(data_type, text))
    return text
