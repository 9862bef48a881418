"""DataDictionary and MiningSchema: typing raw input columns and applying the missing, invalid
and outlier treatments the model declares."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml import temporal
from batchscore.runtime.pmml.context import Context, Expr
from batchscore.runtime.pmml.datatypes import (
    Bool,
    Column,
    Scalar,
    cast_column,
    check_data_type,
    is_numeric,
    missing_column,
    missing_mask,
    parse_scalar,
    try_parse_scalar,
)
from batchscore.runtime.pmml.intervals import Interval, any_contains, parse_interval
from batchscore.runtime.pmml.xml import attr, child, children, require_attr, require_child

USAGE_TYPES = frozenset(
    {
        "active",
        "predicted",
        "target",
        "supplementary",
        "group",
        "order",
        "frequencyWeight",
        "analysisWeight",
    }
)


@dataclass(frozen=True)
class DataField:
    name: str
    data_type: str
    optype: str
    valid: tuple[Scalar, ...] = ()
    invalid: tuple[Scalar, ...] = ()
    missing: tuple[Scalar, ...] = ()
    intervals: tuple[Interval, ...] = ()
    labels: tuple[str, ...] = field(default=())
    """Valid values as written in the document (the categories of a target)."""


def parse_data_dictionary(root: etree._Element) -> dict[str, DataField]:
    dictionary = child(root, "DataDictionary")
    if dictionary is None:
        raise ModelError("Invalid PMML: no DataDictionary.")
    fields: dict[str, DataField] = {}
    for element in children(dictionary, "DataField"):
        name = require_attr(element, "name")
        data_type = check_data_type(require_attr(element, "dataType"), f"DataField {name}")
        optype = attr(element, "optype") or (
            "continuous" if is_numeric(data_type) and data_type != "boolean" else "categorical"
        )
        valid: list[Scalar] = []
        invalid: list[Scalar] = []
        missing: list[Scalar] = []
        labels: list[str] = []
        for value_el in children(element, "Value"):
            text = require_attr(value_el, "value")
            prop = attr(value_el, "property", "valid")
            parsed = try_parse_scalar(data_type, text)
            if prop == "missing":
                if parsed is not None:
                    missing.append(parsed)
                continue
            if parsed is None:
                raise ModelError(f"Invalid PMML: {text!r} is not a valid {data_type} value.")
            if prop == "invalid":
                invalid.append(parsed)
            else:
                valid.append(parsed)
                labels.append(text)
        intervals = tuple(parse_interval(i) for i in children(element, "Interval"))
        fields[name] = DataField(
            name,
            data_type,
            optype,
            tuple(valid),
            tuple(invalid),
            tuple(missing),
            intervals,
            tuple(labels),
        )
    return fields


@dataclass(frozen=True)
class MiningField:
    name: str
    usage: str = "active"
    optype: str | None = None
    outliers: str = "asIs"
    low_value: float | None = None
    high_value: float | None = None
    missing_replacement: str | None = None
    missing_treatment: str = "asIs"
    invalid_treatment: str = "returnInvalid"
    invalid_replacement: str | None = None

    @property
    def is_default(self) -> bool:
        return (
            self.outliers == "asIs"
            and self.missing_replacement is None
            and self.missing_treatment in ("asIs", "asMean", "asMode", "asMedian", "asValue")
            and self.invalid_treatment in ("returnInvalid", "asIs")
        )


def parse_mining_schema(model: etree._Element) -> list[MiningField]:
    schema = require_child(model, "MiningSchema")
    result = []
    for element in children(schema, "MiningField"):
        usage = attr(element, "usageType", "active") or "active"
        if usage not in USAGE_TYPES:
            raise ModelError(f"Unsupported PMML feature: MiningField@usageType={usage}.")
        outliers = attr(element, "outliers", "asIs") or "asIs"
        if outliers not in ("asIs", "asMissingValues", "asExtremeValues"):
            raise ModelError(f"Unsupported PMML feature: MiningField@outliers={outliers}.")
        missing_treatment = attr(element, "missingValueTreatment", "asIs") or "asIs"
        if missing_treatment not in (
            "asIs",
            "asMean",
            "asMode",
            "asMedian",
            "asValue",
            "returnInvalid",
        ):
            raise ModelError(
                f"Unsupported PMML feature: MiningField@missingValueTreatment={missing_treatment}."
            )
        invalid_treatment = attr(element, "invalidValueTreatment", "returnInvalid")
        if invalid_treatment not in ("returnInvalid", "asIs", "asMissing", "asValue"):
            raise ModelError(
                f"Unsupported PMML feature: MiningField@invalidValueTreatment={invalid_treatment}."
            )
        low, high = attr(element, "lowValue"), attr(element, "highValue")
        try:
            low_value = float(low) if low is not None else None
            high_value = float(high) if high is not None else None
        except ValueError as exc:
            raise ModelError("Invalid PMML: MiningField lowValue/highValue.") from exc
        result.append(
            MiningField(
                name=require_attr(element, "name"),
                usage=usage,
                optype=attr(element, "optype"),
                outliers=outliers,
                low_value=low_value,
                high_value=high_value,
                missing_replacement=attr(element, "missingValueReplacement"),
                missing_treatment=missing_treatment,
                invalid_treatment=invalid_treatment or "returnInvalid",
                invalid_replacement=attr(element, "invalidValueReplacement"),
            )
        )
    return result


def coerce_raw(data_type: str, raw: Column | None, n: int) -> tuple[Column, Bool]:
    """Turn a caller's column into the plan representation of ``data_type``; also return the
    rows whose value could not be read as that type (they are invalid)."""
    unreadable = np.zeros(n, dtype=bool)
    if raw is None:
        return missing_column(data_type, n), unreadable
    raw = np.asarray(raw)
    if raw.shape != (n,):
        raise ModelError("Input columns must be one-dimensional and of equal length.")
    if raw.dtype.kind == "M":  # numpy datetime64: read as ISO text
        texts = np.full(n, None, dtype=object)
        present = ~np.isnat(raw)
        texts[present] = np.datetime_as_string(raw[present]).astype(object)
        raw = texts
    if is_numeric(data_type):
        if data_type in temporal.PLAIN_TYPES and raw.dtype != object and raw.dtype.kind not in "US":
            # a bare number is no date, date-time or time of day
            numbers = np.asarray(raw, dtype=np.float64)
            return np.full(n, np.nan), ~np.isnan(numbers)
        if raw.dtype == object or raw.dtype.kind in "US":
            values = raw.astype(object)
            absent = missing_mask(values)
            texts = values.copy()
            texts[~absent] = values[~absent].astype(str)
            out = cast_column(data_type, texts)
            unreadable = np.isnan(out) & ~missing_mask(values)
            return out, unreadable
        if raw.dtype == np.bool_:
            return raw.astype(np.float64), unreadable
        numbers = np.asarray(raw, dtype=np.float64)
        if data_type == "integer":
            with np.errstate(invalid="ignore"):
                unreadable = ~np.isnan(numbers) & (numbers != np.floor(numbers))
            return np.where(unreadable, np.nan, numbers), unreadable
        if data_type == "boolean":
            with np.errstate(invalid="ignore"):
                unreadable = ~np.isnan(numbers) & (numbers != 0.0) & (numbers != 1.0)
            return np.where(unreadable, np.nan, numbers), unreadable
        return cast_column(data_type, numbers), unreadable
    if raw.dtype == object:
        values = raw.copy()
        present = ~missing_mask(values)
        values[present] = values[present].astype(str)
        return values, unreadable
    if raw.dtype.kind in "US":
        return raw.astype(object), unreadable
    return cast_column("string", np.asarray(raw, dtype=np.float64)), unreadable


def _isin(column: Column, values: tuple[Scalar, ...]) -> Bool:
    hit = np.zeros(column.shape[0], dtype=bool)
    for value in values:
        hit |= np.asarray(column == value, dtype=bool)
    return hit


def invalid_mask(data_field: DataField, column: Column, present: Bool) -> Bool:
    """Rows whose (present) value lies outside the field's valid space."""
    bad = present & _isin(column, data_field.invalid)
    has_valid_space = bool(data_field.valid) or (
        bool(data_field.intervals) and data_field.optype == "continuous"
    )
    if not has_valid_space:
        return bad
    ok = _isin(column, data_field.valid)
    if data_field.intervals and data_field.optype == "continuous":
        ok |= any_contains(list(data_field.intervals), np.asarray(column, dtype=np.float64))
    return bad | (present & ~ok)


def prepare(
    ctx: Context,
    data_field: DataField,
    mining_field: MiningField,
    column: Column,
    unreadable: Bool,
) -> Column:
    """Apply the MiningField's treatments to a typed column."""
    data_type = data_field.data_type
    column = column.copy()
    missing = missing_mask(column)
    if data_field.missing:
        declared_missing = ~missing & _isin(column, data_field.missing)
        missing |= declared_missing
        column[declared_missing] = None if column.dtype == object else np.nan
    invalid = unreadable | invalid_mask(data_field, column, ~missing)
    if invalid.any():
        treatment = mining_field.invalid_treatment
        if treatment == "returnInvalid":
            ctx.refuse(invalid)
        elif treatment == "asMissing":
            column[invalid] = None if column.dtype == object else np.nan
            missing |= invalid
        elif treatment == "asValue":
            if mining_field.invalid_replacement is None:
                raise ModelError("Invalid PMML: invalidValueTreatment=asValue needs a replacement.")
            column[invalid] = parse_scalar(data_type, mining_field.invalid_replacement)
    optype = mining_field.optype or data_field.optype
    if mining_field.outliers != "asIs" and is_numeric(data_type) and optype == "continuous":
        x = np.asarray(column, dtype=np.float64)
        low = mining_field.low_value if mining_field.low_value is not None else -np.inf
        high = mining_field.high_value if mining_field.high_value is not None else np.inf
        with np.errstate(invalid="ignore"):
            below, above = x < low, x > high
        if mining_field.outliers == "asMissingValues":
            column[below | above] = np.nan
            missing |= below | above
        else:
            column[below] = low
            column[above] = high
    if missing.any():
        if mining_field.missing_replacement is not None:
            column[missing] = parse_scalar(data_type, mining_field.missing_replacement)
        elif mining_field.missing_treatment == "returnInvalid":
            ctx.refuse(missing)
    return column


def input_expr(data_field: DataField, mining_field: MiningField) -> Expr:
    """The value of a top-level input field: read from the caller's columns and prepared."""
    name, data_type = data_field.name, data_field.data_type

    def evaluate(ctx: Context) -> Column:
        column, unreadable = coerce_raw(data_type, ctx.inputs.get(name), ctx.n)
        return prepare(ctx, data_field, mining_field, column, unreadable)

    return Expr(evaluate, data_type, mining_field.optype or data_field.optype)


def nested_expr(parent: Expr, data_field: DataField, mining_field: MiningField) -> Expr:
    """A nested model's view of an already prepared field (its own treatments, if any)."""
    if mining_field.is_default and mining_field.optype is None:
        return parent
    parent_fn = parent.fn

    def evaluate(ctx: Context) -> Column:
        unreadable = np.zeros(ctx.n, dtype=bool)
        return prepare(ctx, data_field, mining_field, parent_fn(ctx), unreadable)

    return Expr(evaluate, parent.data_type, mining_field.optype or parent.optype)
