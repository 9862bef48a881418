"""Scorecard: the first true Attribute of every Characteristic adds its partial score.

As JPMML: a row where some Characteristic has no true Attribute, or where the chosen
Attribute's ComplexPartialScore is missing, has no result (the row is refused). Reason code
points are ``partial - baseline`` (pointsAbove) or ``baseline - partial`` (pointsBelow), summed
per reason code in Characteristic order; codes with negative points are dropped and the rest
ranked by points, ties keeping the order in which the codes were first met.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import F64, Bool, Column
from batchscore.runtime.pmml.expressions import compile_expression, find_expression, numeric
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.predicates import (
    PREDICATE_TAGS,
    Predicate,
    compile_predicate,
)
from batchscore.runtime.pmml.result import ModelResult
from batchscore.runtime.pmml.targets import TargetSpec, parse_target
from batchscore.runtime.pmml.xml import (
    attr,
    child,
    float_attr,
    require_child,
    require_children,
)

ALGORITHMS = frozenset({"pointsBelow", "pointsAbove"})


@dataclass(frozen=True)
class Attribute:
    predicate: Predicate
    points: float | Expr
    """The partialScore, or the compiled ComplexPartialScore expression."""
    reason_code: int
    """Index into the scorecard's reason codes (-1 without reason codes)."""


@dataclass(frozen=True)
class Characteristic:
    attributes: tuple[Attribute, ...]
    baseline: float


class ScorecardPlan(ModelPlan):
    def __init__(
        self,
        characteristics: list[Characteristic],
        initial: float,
        codes: tuple[str, ...] | None,
        points_above: bool,
        target: TargetSpec,
    ) -> None:
        super().__init__()
        self.characteristics = characteristics
        self.initial = initial
        self.codes = codes
        self.points_above = points_above
        self.target = target
        if codes is not None:
            self.extra_features = frozenset({"reasonCode"})

    def _evaluate(self, ctx: Context) -> ModelResult:
        n = ctx.n
        # x-mathContext="float": JPMML sums scores and reason code points in float32.
        dtype: type[np.floating[Any]] = np.float32 if self.float_math else np.float64
        score: npt.NDArray[np.floating[Any]] = np.full(n, self.initial, dtype=dtype)
        undefined = np.zeros(n, dtype=bool)
        codes = self.codes or ()
        points: npt.NDArray[np.floating[Any]] = np.zeros((n, len(codes)), dtype=dtype)
        met = np.full((n, len(codes)), len(self.characteristics))
        rows = np.arange(n)
        for position, characteristic in enumerate(self.characteristics):
            partial, code = self._partial(ctx, characteristic)
            undefined |= np.isnan(partial)
            partial = np.where(np.isnan(partial), 0.0, partial)
            score += partial.astype(dtype)
            if self.codes is not None:
                baseline = characteristic.baseline
                difference = partial - baseline if self.points_above else baseline - partial
                hit = code >= 0
                at = rows[hit], code[hit]
                points[at] += difference[hit].astype(dtype)
                met[at] = np.minimum(met[at], position)
        value = self.target.apply(score.astype(np.float64), self.float_math)
        value[undefined] = np.nan
        ctx.refuse(undefined)
        result = ModelResult(value)
        if self.codes is not None:
            result.extra["reasonCode"] = self._ranking(points, met, undefined)
        return result

    def _partial(
        self, ctx: Context, characteristic: Characteristic
    ) -> tuple[F64, npt.NDArray[np.intp]]:
        """The chosen attribute's points (NaN where none is chosen or its points are missing)
        and reason code index (-1 where none) per row."""
        n = ctx.n
        partial = np.full(n, np.nan)
        code = np.full(n, -1, dtype=np.intp)
        open_rows = np.ones(n, dtype=bool)
        for attribute in characteristic.attributes:
            chosen = open_rows & (attribute.predicate(ctx) == 1.0)
            if not chosen.any():
                continue
            if isinstance(attribute.points, Expr):
                values = np.asarray(attribute.points(ctx), dtype=np.float64)
                partial[chosen] = values[chosen]
            else:
                partial[chosen] = attribute.points
            code[chosen] = attribute.reason_code
            open_rows &= ~chosen
            if not open_rows.any():
                break
        return partial, code

    def _ranking(
        self, points: npt.NDArray[np.floating[Any]], met: npt.NDArray[np.intp], undefined: Bool
    ) -> Column:
        codes = np.array(self.codes, dtype=object)
        n = points.shape[0]
        depth = min(self.ranks_wanted, len(codes))
        kept = (met < len(self.characteristics)) & (points >= 0.0)
        # Stable descending sort by points; ties keep the order the codes were first met.
        order = np.lexsort((met, np.where(kept, -points, np.inf)), axis=1)[:, :depth]
        table = np.full((n, self.ranks_wanted), None, dtype=object)
        rows = np.arange(n)[:, None]
        ranked = codes[order]
        ranked[~kept[rows, order]] = None
        table[:, :depth] = ranked
        table[undefined] = None
        return table


def _attribute(
    element: etree._Element,
    scope: Scope,
    env: Environment,
    characteristic_code: str | None,
    codes: dict[str, int] | None,
) -> Attribute:
    predicate = require_child(element, PREDICATE_TAGS, what="predicate")
    complex_score = child(element, "ComplexPartialScore")
    points: float | Expr
    if complex_score is not None:
        expression = find_expression(complex_score)
        if expression is None:
            raise ModelError("Invalid PMML: ComplexPartialScore has no expression.")
        points = numeric(compile_expression(expression, scope, env.functions))
    elif attr(element, "partialScore") is not None:
        points = float_attr(element, "partialScore")
    else:
        raise ModelError(
            "Invalid PMML: Attribute has neither partialScore nor ComplexPartialScore."
        )
    code_index = -1
    if codes is not None:
        code = attr(element, "reasonCode") or characteristic_code
        if code is None:
            raise ModelError(
                "Invalid PMML: Attribute has no reasonCode (nor its Characteristic) "
                "but the Scorecard uses reason codes."
            )
        code_index = codes.setdefault(code, len(codes))
    return Attribute(compile_predicate(predicate, scope), points, code_index)


def compile_scorecard(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    if header.function != "regression":
        raise ModelError(f"Unsupported PMML feature: Scorecard@functionName={header.function}.")
    use_codes = attr(element, "useReasonCodes", "true") in ("true", "1")
    algorithm = attr(element, "reasonCodeAlgorithm", "pointsBelow") or "pointsBelow"
    if algorithm not in ALGORITHMS:
        raise ModelError(f"Unsupported PMML feature: Scorecard@reasonCodeAlgorithm={algorithm}.")
    found = require_children(element, "Characteristics/Characteristic", what="Characteristics")
    scorecard_baseline = attr(element, "baselineScore")
    codes: dict[str, int] | None = {} if use_codes else None
    characteristics = []
    for item in found:
        label = attr(item, "name") or "Characteristic"
        attributes = require_children(item, "Attribute", owner=f"Characteristic {label}")
        baseline = attr(item, "baselineScore") or scorecard_baseline
        if use_codes and baseline is None:
            raise ModelError(
                f"Invalid PMML: Characteristic {label} has no baselineScore (nor the Scorecard) "
                "but the Scorecard uses reason codes."
            )
        parsed = tuple(
            _attribute(a, scope, env, attr(item, "reasonCode"), codes) for a in attributes
        )
        characteristics.append(
            Characteristic(parsed, float(baseline) if baseline is not None else 0.0)
        )
    plan = ScorecardPlan(
        characteristics,
        float_attr(element, "initialScore", 0.0),
        tuple(codes) if codes is not None else None,
        algorithm == "pointsAbove",
        parse_target(element, header.target_name),
    )
    init_plan(plan, header)
    return plan
