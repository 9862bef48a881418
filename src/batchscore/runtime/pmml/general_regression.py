"""GeneralRegressionModel: linear predictors from a ParamMatrix over PPMatrix rows.

As JPMML: a parameter's predictor row is the product of its PPCells (a factor cell is 1 on its
category, a contrast-matrix entry, or 0; a covariate cell multiplies by the value raised to the
cell's power). Covariates are skipped once the factors gave 0. A missing predictor of a used row
makes the whole prediction missing (the Target's default); a missing offset, trials, end time or
strata value, or a value outside a contrast matrix, is an error for that row (the row is
refused). Sums run in document order, so values agree with JPMML's to the last bits but for
``exp`` / ``pow`` / ``probit``. CoxRegression predicts the cumulative hazard, JPMML's predicted
value. Unlike JPMML 1.7, which fails every row of a numeric factor with a contrast matrix, such
factors are evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import init_plan
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import (
    F64,
    Bool,
    Scalar,
    missing_mask,
)
from batchscore.runtime.pmml.expressions import numeric
from batchscore.runtime.pmml.gr_design import (
    Cells,
    Row,
    category_key,
    compile_pp_matrix,
    dot,
    parse_category,
    parse_param_matrix,
    parse_parameters,
    weighted_rows,
)
from batchscore.runtime.pmml.normalize import normal_cdf
from batchscore.runtime.pmml.plan import Environment, ModelHeader, ModelPlan
from batchscore.runtime.pmml.result import ModelResult, predicted_from_probs
from batchscore.runtime.pmml.targets import TargetSpec, parse_target
from batchscore.runtime.pmml.xml import (
    attr,
    child,
    children,
    float_attr,
    require_attr,
    require_child,
    require_children,
)

REGRESSION_TYPES = frozenset({"regression", "generalLinear", "generalizedLinear", "CoxRegression"})
CLASSIFICATION_TYPES = frozenset({"multinomialLogistic", "ordinalMultinomial", "generalizedLinear"})
LINKS = frozenset(
    {
        "cloglog",
        "identity",
        "log",
        "logc",
        "logit",
        "loglog",
        "negbin",
        "oddspower",
        "power",
        "probit",
    }
)
CUMULATIVE_LINKS = frozenset({"logit", "probit", "cloglog", "loglog", "cauchit"})


def inverse_link(name: str, x: F64, parameter: float = 0.0) -> F64:
    """The mean from the linear predictor, as JPMML's ``Value.inverse*`` compute it."""
    with np.errstate(all="ignore"):
        if name == "identity":
            return x
        if name == "log":
            return np.exp(x)
        if name == "logc":
            return 1.0 - np.exp(x)
        if name == "logit":
            return 1.0 / (1.0 + np.exp(-x))
        if name == "cloglog":
            return 1.0 - np.exp(-np.exp(x))
        if name == "loglog":
            return np.exp(-np.exp(-x))
        if name == "cauchit":
            return 0.5 + 0.3183098861837907 * np.arctan(x)
        if name == "probit":
            return normal_cdf(x)
        if name == "negbin":
            return 1.0 / (parameter * (np.exp(-x) - 1.0))
        if name == "oddspower":
            if parameter == 0.0:
                return 1.0 / (1.0 + np.exp(-x))
            return 1.0 / (1.0 + np.power(1.0 + parameter * x, -1.0 / parameter))
        if name == "power":
            return np.exp(x) if parameter == 0.0 else np.power(x, 1.0 / parameter)
    raise ModelError(f"Invalid PMML: linkFunction={name}.")


@dataclass(frozen=True)
class Adjustment:
    """offsetVariable / offsetValue and trialsVariable / trialsValue."""

    offset: Expr | float | None
    trials: Expr | float | None

    def apply(
        self, ctx: Context, x: F64, link: Callable[[F64], F64], use_trials: bool = True
    ) -> tuple[F64, Bool]:
        """``link(x + offset) * trials`` and the rows where an offset or trials is unusable."""
        error = np.zeros(ctx.n, dtype=bool)
        offset = self._column(ctx, self.offset)
        if offset is not None:
            error |= np.isnan(offset)
            x = x + offset
        value = link(x)
        trials = self._column(ctx, self.trials) if use_trials else None
        if trials is not None:
            error |= np.isnan(trials) | (np.trunc(trials) != trials)
            value = value * trials
        return value, error

    @staticmethod
    def _column(ctx: Context, source: Expr | float | None) -> F64 | None:
        if source is None or isinstance(source, float):
            return None if source is None else np.full(ctx.n, source)
        return np.asarray(source(ctx), dtype=np.float64)


@dataclass(frozen=True)
class Baseline:
    """One baseline cumulative hazard table (BaseCumHazardTables or a BaselineStratum)."""

    value: Scalar | None
    times: F64
    hazards: F64
    max_time: float


class GeneralRegressionPlan(ModelPlan):
    def __init__(self, model_type: str, target: TargetSpec, adjustment: Adjustment) -> None:
        super().__init__()
        self.model_type = model_type
        self.target = target
        self.adjustment = adjustment
        self.link: Callable[[F64], F64] = lambda x: x
        self.cells: Cells = ()
        self.category_cells: list[Cells] = []
        self.default_value: float | None = None
        self.priors: F64 | None = None
        self.prior_winner: str | None = None
        self.end_time: Expr | None = None
        self.strata: Expr | None = None
        self.baselines: list[Baseline] = []
        self.reference_point = 0.0

    def _evaluate(self, ctx: Context) -> ModelResult:
        if self.function == "classification":
            return self._classify(ctx)
        if self.model_type == "CoxRegression":
            value, null = self._cox(ctx)
        else:
            value, null, error = dot(ctx, self.cells)
            if self.model_type == "generalizedLinear":
                value, bad = self.adjustment.apply(ctx, value, self.link)
                error |= bad & ~null
            ctx.refuse(error)
        default = np.nan if self.default_value is None else self.default_value
        return ModelResult(self.target.apply(np.where(null, default, value)))

    def _classify(self, ctx: Context) -> ModelResult:
        k = len(self.labels)
        probs = np.empty((ctx.n, k))
        null = np.zeros(ctx.n, dtype=bool)
        error = np.zeros(ctx.n, dtype=bool)
        previous = np.zeros(ctx.n)
        for j, cells in enumerate(self.category_cells):
            x, cell_null, cell_error = dot(ctx, cells)
            error |= cell_error & ~null
            null |= cell_null
            if self.model_type == "multinomialLogistic":
                with np.errstate(over="ignore"):
                    probs[:, j] = np.exp(x)
                continue
            ordinal = self.model_type == "ordinalMultinomial"
            value, bad = self.adjustment.apply(ctx, x, self.link, use_trials=not ordinal)
            error |= bad & ~null
            probs[:, j] = value - previous if ordinal and j else value
            previous = value
        if self.model_type == "multinomialLogistic":
            probs[:, -1] = 1.0
            total = probs[:, 0].copy()
            for j in range(1, k):
                total += probs[:, j]
            with np.errstate(invalid="ignore"):
                probs /= total[:, None]
        else:
            probs[:, -1] = 1.0 - previous
        probs[null] = np.nan if self.priors is None else self.priors
        ctx.refuse(error)
        probs[ctx.invalid] = np.nan
        value = predicted_from_probs(self.labels, probs)
        if self.prior_winner is not None:
            # JPMML breaks ties among the priors in TargetValue order.
            value[null & ~ctx.invalid] = self.prior_winner
        return ModelResult(value, self.labels, probs)

    def _cox(self, ctx: Context) -> tuple[F64, Bool]:
        """Cumulative hazard ``exp(x.beta - reference.beta) * H0(t)``; JPMML's predicted value."""
        assert self.end_time is not None
        n = ctx.n
        table = np.zeros(n, dtype=np.int64)
        error = np.zeros(n, dtype=bool)
        if self.strata is not None:
            column = self.strata(ctx)
            error |= missing_mask(column)
            table[:] = -1
            for t, baseline in enumerate(self.baselines):
                table[np.asarray(column == baseline.value, dtype=bool) & ~error] = t
        null = table < 0
        end = np.asarray(self.end_time(ctx), dtype=np.float64)
        error |= np.isnan(end) & ~null
        hazard = np.zeros(n)
        below = np.zeros(n, dtype=bool)
        for t, baseline in enumerate(self.baselines):
            rows = (table == t) & ~error
            with np.errstate(invalid="ignore"):
                null |= rows & (end > baseline.max_time)
                below |= rows & (end < baseline.times[0])
            at = np.searchsorted(baseline.times, np.where(rows, end, np.inf), side="right") - 1
            hazard[rows] = baseline.hazards[np.clip(at, 0, None)][rows]
        middle = ~null & ~below & ~error
        x, x_null, x_error = dot(ctx, self.cells)
        ctx.refuse(error | (x_error & middle))
        with np.errstate(over="ignore", invalid="ignore"):
            value = np.exp(x - self.reference_point) * hazard
        value[below] = 0.0
        return value, null | (x_null & middle)


def _link(element: etree._Element, model_type: str) -> Callable[[F64], F64]:
    if model_type == "ordinalMultinomial":
        cumulative = attr(element, "cumulativeLink") or ""
        if cumulative not in CUMULATIVE_LINKS:
            raise ModelError(f"Invalid PMML: GeneralRegressionModel@cumulativeLink={cumulative}.")
        return lambda x: inverse_link(cumulative, x)
    name = attr(element, "linkFunction") or ""
    if name not in LINKS:
        raise ModelError(f"Invalid PMML: GeneralRegressionModel@linkFunction={name}.")
    needed = {"negbin": "distParameter", "oddspower": "linkParameter", "power": "linkParameter"}
    parameter = float_attr(element, needed[name]) if name in needed else 0.0
    return lambda x: inverse_link(name, x, parameter)


def _adjustment(element: etree._Element, scope: Scope) -> Adjustment:
    sources: list[Expr | float | None] = []
    for variable, value in (("offsetVariable", "offsetValue"), ("trialsVariable", "trialsValue")):
        name = attr(element, variable)
        if name is not None:
            sources.append(numeric(scope.resolve(name)))
        else:
            present = attr(element, value) is not None
            sources.append(float_attr(element, value) if present else None)
    return Adjustment(sources[0], sources[1])


def _target_values(element: etree._Element, target_name: str | None) -> list[etree._Element]:
    targets = child(element, "Targets")
    for target in children(targets, "Target") if targets is not None else []:
        if attr(target, "field") in (None, target_name):
            return children(target, "TargetValue")
    return []


def _categories(
    element: etree._Element, model_type: str, header: ModelHeader, in_matrix: set[str | None]
) -> tuple[str, ...]:
    """The target categories in JPMML's order: the reference category moved last."""
    target = header.target
    if target is None or target.optype not in ("categorical", "ordinal") or len(target.labels) < 2:
        raise ModelError("Invalid PMML: a GeneralRegressionModel classifier needs two categories.")
    labels = list(target.labels)
    keys = [category_key(target.data_type, label) for label in labels]
    reference = attr(element, "targetReferenceCategory")
    if reference is None and model_type != "ordinalMultinomial":
        present = {category_key(target.data_type, c) for c in in_matrix if c is not None}
        absent = {label for label, key in zip(labels, keys, strict=True) if key not in present}
        if len(absent) != 1:
            raise ModelError("Invalid PMML: cannot tell the reference category from ParamMatrix.")
        reference = absent.pop()
    if reference is not None and category_key(target.data_type, reference) in keys:
        labels.append(labels.pop(keys.index(category_key(target.data_type, reference))))
    return tuple(labels)


def _compile_classifier(
    element: etree._Element,
    plan: GeneralRegressionPlan,
    header: ModelHeader,
    rows: dict[str | None, dict[str, Row]],
    pcells: dict[str | None, list[tuple[str, float]]],
) -> None:
    labels = _categories(element, plan.model_type, header, set(pcells))
    data_type = header.target.data_type if header.target is not None else "string"
    by_key_rows = {
        (category_key(data_type, k) if k is not None else None): v for k, v in rows.items()
    }
    by_key_cells = {
        (category_key(data_type, k) if k is not None else None): v for k, v in pcells.items()
    }
    for label in labels[:-1]:
        key = category_key(data_type, label)
        category_rows = by_key_rows.get(key, by_key_rows.get(None)) if rows else {}
        if category_rows is None:
            raise ModelError(f"Invalid PMML: PPMatrix has no cells for category {label!r}.")
        own = by_key_cells.get(key)
        if plan.model_type == "ordinalMultinomial":
            common = by_key_cells.get(None)
            if own is None or len(own) != 1 or common is None:
                raise ModelError(f"Invalid PMML: ParamMatrix has no intercept for {label!r}.")
            own = common + own
        elif own is None and len(labels) == 2:
            own = by_key_cells.get(None)
        if own is None:
            raise ModelError(f"Invalid PMML: ParamMatrix has no cells for category {label!r}.")
        plan.category_cells.append(weighted_rows(own, category_rows))
    values = _target_values(element, header.target_name)
    if values:
        priors = {
            category_key(data_type, require_attr(v, "value")): float_attr(v, "priorProbability")
            for v in values
        }
        total = sum(priors.values())
        plan.priors = np.array(
            [priors.get(category_key(data_type, label), 0.0) for label in labels]
        )
        if total != 1.0:
            plan.priors = plan.priors / total
        best = max(priors.values())
        winner = next(key for key, prior in priors.items() if prior == best)
        keys = [category_key(data_type, label) for label in labels]
        plan.prior_winner = labels[keys.index(winner)] if winner in keys else None
    init_plan(plan, header, labels)
    plan.labels = labels


def _compile_cox(element: etree._Element, scope: Scope, plan: GeneralRegressionPlan) -> None:
    plan.end_time = numeric(scope.resolve(require_attr(element, "endTimeVariable")))
    tables = require_child(element, "BaseCumHazardTables", owner="a CoxRegression model")
    strata = attr(element, "baselineStrataVariable")
    if strata is not None:
        plan.strata = scope.resolve(strata)
        for stratum in children(tables, "BaselineStratum"):
            value = parse_category(plan.strata, require_attr(stratum, "value"))
            plan.baselines.append(_baseline(stratum, value))
    else:
        plan.baselines.append(_baseline(tables, None))


def _baseline(element: etree._Element, value: Scalar | None) -> Baseline:
    cells = require_children(element, "BaselineCell")
    times = np.array([float_attr(c, "time") for c in cells])
    hazards = np.array([float_attr(c, "cumHazard") for c in cells])
    order = np.argsort(times, kind="stable")
    unique_times, first = np.unique(times[order], return_index=True)
    return Baseline(value, unique_times, hazards[order][first], float_attr(element, "maxTime"))


def compile_general_regression(
    element: etree._Element, scope: Scope, env: Environment, header: ModelHeader
) -> ModelPlan:
    model_type = require_attr(element, "modelType")
    if header.float_math:
        raise ModelError("Unsupported PMML feature: GeneralRegressionModel with x-mathContext.")
    allowed = {"regression": REGRESSION_TYPES, "classification": CLASSIFICATION_TYPES}
    if model_type not in REGRESSION_TYPES | CLASSIFICATION_TYPES:
        raise ModelError(f"Invalid PMML: GeneralRegressionModel@modelType={model_type}.")
    if model_type not in allowed.get(header.function, frozenset()):
        raise ModelError(
            f"Invalid PMML: GeneralRegressionModel@modelType={model_type} with "
            f"functionName={header.function}."
        )
    parameters = parse_parameters(element)
    rows = compile_pp_matrix(element, scope, parameters)
    pcells = parse_param_matrix(element, parameters)
    adjustment = _adjustment(element, scope)
    plan = GeneralRegressionPlan(model_type, parse_target(element, header.target_name), adjustment)
    if model_type in ("generalizedLinear", "ordinalMultinomial"):
        plan.link = _link(element, model_type)
    if header.function == "classification":
        _compile_classifier(element, plan, header, rows, pcells)
        return plan
    if (rows and None not in rows) or set(pcells) - {None}:
        raise ModelError("Invalid PMML: a regression ParamMatrix or PPMatrix has targetCategory.")
    if not pcells:
        raise ModelError("Invalid PMML: ParamMatrix has no PCell.")
    plan.cells = weighted_rows(pcells[None], rows.get(None, {}))
    if model_type == "CoxRegression":
        _compile_cox(element, scope, plan)
        reference = 0.0
        for parameter, beta in pcells[None]:
            reference += beta * parameters[parameter]
        plan.reference_point = reference
    values = _target_values(element, header.target_name)
    if values:
        if len(values) != 1:
            raise ModelError("Invalid PMML: a regression Target has more than one TargetValue.")
        plan.default_value = float_attr(values[0], "defaultValue")
    init_plan(plan, header)
    return plan
