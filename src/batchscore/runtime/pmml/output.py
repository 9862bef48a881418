"""Output fields: features of a model's result and expressions over other output fields."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import (
    Column,
    cast_typed,
    check_data_type,
    format_scalar,
    is_numeric,
    missing_column,
    parse_scalar,
)
from batchscore.runtime.pmml.expressions import compile_typed, find_expression
from batchscore.runtime.pmml.plan import Environment, ModelPlan, OutputColumn
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.xml import attr, child, children, require_attr

SUPPORTED_FEATURES = frozenset(
    {
        "predictedValue",
        "predictedDisplayValue",
        "probability",
        "transformedValue",
        "decision",
        "entityId",
        "affinity",
        "clusterAffinity",
        "clusterId",
    }
)
EXTRA_FEATURES = frozenset(
    {"reasonCode", "ruleValue", "warning", "standardError", "confidence", "ruleId"}
)
"""Features whose values a model puts in ``ModelResult.extra`` (when it defines them)."""
RANKED_FEATURES = frozenset(
    {"entityId", "clusterId", "affinity", "clusterAffinity", "reasonCode", "ruleValue", "ruleId"}
)


def compile_outputs(model: etree._Element, plan: ModelPlan, scope: Scope, env: Environment) -> None:
    """Append the model's OutputFields to ``plan.outputs`` and declare them in ``scope``."""
    output = child(model, "Output")
    if output is None:
        return
    fields = children(output, "OutputField")
    for element in fields:
        name = require_attr(element, "name")
        feature = attr(element, "feature", "predictedValue") or "predictedValue"
        if feature not in SUPPORTED_FEATURES | EXTRA_FEATURES:
            raise ModelError(f"Unsupported PMML feature: OutputField@feature={feature} ({name}).")
        source = _source_plan(element, plan, name)
        if source is not plan and feature in (
            "transformedValue",
            "decision",
            "predictedDisplayValue",
        ):
            raise ModelError(
                f"Unsupported PMML feature: OutputField@segmentId with feature={feature} ({name})."
            )
        if attr(element, "targetField") not in (None, source.target_name):
            raise ModelError(f"Unsupported PMML feature: OutputField@targetField ({name}).")
        if feature in EXTRA_FEATURES and _extra_key(element, feature) not in source.extra_features:
            raise ModelError(
                f"Unsupported PMML feature: OutputField@feature={feature} of a "
                f"{type(source).__name__.removesuffix('Plan') or 'model'} ({name})."
            )
        rank = _rank(element, name)
        if rank != 1:
            if feature not in RANKED_FEATURES:
                raise ModelError(f"Unsupported PMML feature: OutputField@rank ({name}).")
            source.ranks_wanted = max(source.ranks_wanted, rank)
        scope.define_lazy(name, element, _compiler(plan, env, feature), scope)
    for element in fields:
        name = require_attr(element, "name")
        plan.outputs.append(OutputColumn(name, scope.resolve(name)))


def _source_plan(element: etree._Element, plan: ModelPlan, name: str) -> ModelPlan:
    """The plan whose result the field reads: a segment's (OutputField@segmentId) or ``plan``."""
    segment = attr(element, "segmentId")
    if segment is None:
        return plan
    if not plan.segment_plans:
        raise ModelError(
            f"Invalid PMML: OutputField {name} has a segmentId but the model has no segments."
        )
    source = plan.segment_plans.get(segment)
    if source is None:
        raise ModelError(f"Invalid PMML: OutputField {name} refers to unknown segment {segment!r}.")
    return source


def _extra_key(element: etree._Element, feature: str) -> str:
    if feature == "ruleValue":
        return f"ruleValue/{attr(element, 'ruleFeature', 'consequent') or 'consequent'}"
    value = attr(element, "value")
    if feature == "confidence" and value is not None:
        return f"confidence/{value}"  # the confidence of one category, not of the prediction
    return feature


def _rank(element: etree._Element, name: str) -> int:
    text = attr(element, "rank", "1") or "1"
    try:
        rank = int(text)
    except ValueError:
        rank = 0
    if rank < 1:
        raise ModelError(f"Invalid PMML: OutputField@rank={text} ({name}).")
    return rank


def _compiler(
    plan: ModelPlan, env: Environment, feature: str
) -> Callable[[etree._Element, Scope], Expr]:
    def compile_field(element: etree._Element, scope: Scope) -> Expr:
        return _compile_field(element, scope, plan, env, feature)

    return compile_field


def _compile_field(
    element: etree._Element, scope: Scope, plan: ModelPlan, env: Environment, feature: str
) -> Expr:
    name = require_attr(element, "name")
    declared = attr(element, "dataType")
    if declared is not None:
        check_data_type(declared, f"OutputField {name}")
    if feature in ("transformedValue", "decision"):
        if find_expression(element) is None:
            raise ModelError(f"Invalid PMML: OutputField {name} has no expression.")
        return compile_typed(element, scope, env.functions, what=f"OutputField {name}")
    source = _source_plan(element, plan, name)
    extract, natural_type = _feature(element, source, feature)
    data_type = declared or natural_type
    optype = attr(element, "optype") or (
        "continuous" if is_numeric(data_type) and data_type != "boolean" else "categorical"
    )
    segment = attr(element, "segmentId")

    def evaluate(ctx: Context) -> Column:
        result = plan.evaluate(ctx)
        if segment is not None:
            result = result.segments[segment]
        return cast_typed(natural_type, data_type, extract(result))

    return Expr(evaluate, data_type, optype)


def _feature(
    element: etree._Element, plan: ModelPlan, feature: str
) -> tuple[Callable[[ModelResult], Column], str]:
    value_attr = attr(element, "value")
    if feature in ("predictedValue", "predictedDisplayValue"):
        if feature == "predictedDisplayValue":
            return _display_value(plan), "string"
        return (lambda r: r.value), plan.target_type
    if feature == "probability":
        if plan.function not in ("classification", "clustering"):
            raise ModelError("Unsupported PMML feature: probability of a non-classification model.")
        if value_attr is None:
            return _probability_of_predicted, "double"
        label = _label(plan, value_attr)
        return (lambda r: r.probability_of(label)), "double"
    rank = _rank(element, require_attr(element, "name"))
    if feature in EXTRA_FEATURES:
        data_type = _extra_type(feature)
        return _extra(_extra_key(element, feature), rank, data_type), data_type
    if feature in ("entityId", "clusterId"):
        return _ranked(rank, _entity_id, lambda r: r.entity_ranking), "string"
    # affinity / clusterAffinity
    if value_attr is None:
        return _ranked(rank, _affinity_of_winner, lambda r: r.affinity_ranking), "double"
    entity = value_attr

    def affinity(result: ModelResult) -> Column:
        if result.affinities is None or entity not in result.affinity_ids:
            return np.full(result.value.shape[0], np.nan)
        return result.affinities[:, result.affinity_ids.index(entity)]

    return affinity, "double"


def _display_value(plan: ModelPlan) -> Callable[[ModelResult], Column]:
    """The predicted value as shown to people: its Target/TargetValue@displayValue (a
    Cluster@name for clusters), else its text."""
    display = dict(plan.display_values)
    target_type = plan.target_type

    def extract(result: ModelResult) -> Column:
        text = cast_typed(target_type, "string", result.value)
        if not display:
            return text
        out = text.copy()
        for value, shown in display.items():
            out[np.asarray(text == value, dtype=bool)] = shown
        return out

    return extract


def _label(plan: ModelPlan, text: str) -> str:
    """The label of ``plan`` that ``text`` denotes (``1`` and ``1.0`` alike for numbers)."""
    if text in plan.labels or not is_numeric(plan.target_type):
        return text
    try:
        wanted = format_scalar(parse_scalar(plan.target_type, text))
    except ModelError:
        return text
    for label in plan.labels:
        try:
            if format_scalar(parse_scalar(plan.target_type, label)) == wanted:
                return label
        except ModelError:
            continue
    return text


def _probability_of_predicted(result: ModelResult) -> Column:
    out = np.full(result.value.shape[0], np.nan)
    if result.probs is None:
        return out
    for index, label in enumerate(result.labels):
        rows = np.asarray(result.value == label, dtype=bool)
        out[rows] = result.probs[rows, index]
    return out


def _ranked(
    rank: int,
    best: Callable[[ModelResult], Column],
    ranking: Callable[[ModelResult], Column | None],
) -> Callable[[ModelResult], Column]:
    """The rank-th entry of the result's ranking (the best one without a ranking)."""

    def extract(result: ModelResult) -> Column:
        table = ranking(result)
        if table is None:
            if rank == 1:
                return best(result)
            table = np.full((result.value.shape[0], 0), np.nan)
        if rank <= table.shape[1]:
            return table[:, rank - 1]
        return missing_column("string" if table.dtype == object else "double", table.shape[0])

    return extract


def _entity_id(result: ModelResult) -> Column:
    if result.entity_ids is None:
        return missing_column("string", result.value.shape[0])
    return result.entity_ids


def _affinity_of_winner(result: ModelResult) -> Column:
    out = np.full(result.value.shape[0], np.nan)
    if result.affinities is None or result.entity_ids is None:
        return out
    for index, entity in enumerate(result.affinity_ids):
        rows = np.asarray(result.entity_ids == entity, dtype=bool)
        out[rows] = result.affinities[rows, index]
    return out


def _extra_type(feature: str) -> str:
    return "double" if feature in ("standardError", "confidence") else "string"


def _extra(key: str, rank: int, data_type: str) -> Callable[[ModelResult], Column]:
    """The model-specific feature ``key``: a column, or the rank-th column of a table."""

    def extract(result: ModelResult) -> Column:
        values = result.extra.get(key)
        if values is not None and values.ndim == 1 and rank == 1:
            return values
        if values is not None and values.ndim == 2 and rank <= values.shape[1]:
            return values[:, rank - 1]
        return missing_column(data_type, result.value.shape[0])

    return extract
