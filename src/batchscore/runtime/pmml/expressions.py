"""Compilation of PMML expressions (FieldRef, Constant, Apply, Norm*, Discretize, MapValues)
and DerivedFields into :class:`~batchscore.runtime.pmml.context.Expr` closures."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml import functions as fn
from batchscore.runtime.pmml import temporal
from batchscore.runtime.pmml.context import Context, Expr, Scope
from batchscore.runtime.pmml.datatypes import (
    Bool,
    Column,
    cast_column,
    cast_typed,
    check_data_type,
    constant_column,
    is_numeric,
    missing_mask,
    parse_scalar,
    try_parse_scalar,
)
from batchscore.runtime.pmml.text_index import compile_text_index
from batchscore.runtime.pmml.transforms import (
    compile_discretize,
    compile_map_values,
    compile_norm_continuous,
    compile_norm_discrete,
)
from batchscore.runtime.pmml.xml import attr, children, require_attr

EXPRESSION_TAGS = frozenset(
    {
        "Constant",
        "FieldRef",
        "Apply",
        "NormContinuous",
        "NormDiscrete",
        "Discretize",
        "MapValues",
        "TextIndex",
    }
)
UNSUPPORTED_EXPRESSIONS = frozenset({"Aggregate", "Lag"})


def common_type(types: Sequence[str]) -> str:
    """PMML's common numeric type of arguments (double > float > integer)."""
    if not types or "double" in types or "string" in types:
        return "double"
    if "float" in types:
        return "float"
    return "integer"


def find_expression(element: etree._Element) -> etree._Element | None:
    """The single expression child of ``element`` (DerivedField, OutputField, ...), if any."""
    for candidate in element:
        if candidate.tag in EXPRESSION_TAGS:
            return candidate
        if candidate.tag in UNSUPPORTED_EXPRESSIONS:
            raise ModelError(f"Unsupported PMML element: {candidate.tag}.")
    return None


def compile_expression(element: etree._Element, scope: Scope, functions: FunctionTable) -> Expr:
    tag = element.tag
    if tag == "Constant":
        return _constant(element)
    if tag == "FieldRef":
        return _field_ref(element, scope)
    if tag == "Apply":
        return _apply(element, scope, functions)
    if tag == "NormContinuous":
        return compile_norm_continuous(element, scope)
    if tag == "NormDiscrete":
        return compile_norm_discrete(element, scope)
    if tag == "Discretize":
        return compile_discretize(element, scope)
    if tag == "MapValues":
        return compile_map_values(element, scope)
    if tag == "TextIndex":
        return compile_text_index(
            element, scope, lambda term: compile_expression(term, scope, functions)
        )
    raise ModelError(f"Unsupported PMML element: {tag}.")


def compile_typed(
    element: etree._Element, scope: Scope, functions: FunctionTable, *, what: str
) -> Expr:
    """Compile the expression inside a DerivedField/OutputField-like element and cast it to the
    element's declared dataType."""
    expression = find_expression(element)
    if expression is None:
        raise ModelError(f"Invalid PMML: {what} has no expression.")
    inner = compile_expression(expression, scope, functions)
    data_type = check_data_type(attr(element, "dataType") or inner.data_type, what)
    optype = attr(element, "optype") or inner.optype
    if data_type == inner.data_type:
        return Expr(inner.fn, data_type, optype)
    inner_fn, source = inner.fn, inner.data_type
    return Expr(lambda ctx: cast_typed(source, data_type, inner_fn(ctx)), data_type, optype)


def _constant(element: etree._Element) -> Expr:
    text = element.text or ""
    declared = attr(element, "dataType")
    missing = attr(element, "missing") == "true"
    if declared is None:
        declared = "double" if try_parse_scalar("double", text) is not None else "string"
    data_type = check_data_type(declared, "Constant")
    value = None if missing else parse_scalar(data_type, text)
    optype = "continuous" if is_numeric(data_type) else "categorical"
    return Expr(lambda ctx: constant_column(value, data_type, ctx.n), data_type, optype)


def _field_ref(element: etree._Element, scope: Scope) -> Expr:
    target = scope.resolve(require_attr(element, "field"))
    replacement = attr(element, "mapMissingTo")
    if replacement is None:
        return target
    value = parse_scalar(target.data_type, replacement)
    target_fn = target.fn

    def evaluate(ctx: Context) -> Column:
        column = target_fn(ctx)
        missing = missing_mask(column)
        if not missing.any():
            return column
        column = column.copy()
        column[missing] = value
        return column

    return Expr(evaluate, target.data_type, target.optype)


class FunctionTable:
    """Built-ins plus the document's DefineFunctions."""

    def __init__(self) -> None:
        self.defined: dict[str, etree._Element] = {}

    def define(self, element: etree._Element) -> None:
        self.defined[require_attr(element, "name")] = element


def _apply(element: etree._Element, scope: Scope, functions: FunctionTable) -> Expr:
    name = require_attr(element, "function")
    for c in element:
        if c.tag in UNSUPPORTED_EXPRESSIONS:
            raise ModelError(f"Unsupported PMML element: {c.tag}.")
    arg_elements = [c for c in element if c.tag in EXPRESSION_TAGS]
    args = [compile_expression(a, scope, functions) for a in arg_elements]
    if name in functions.defined:
        body = _user_function(functions.defined[name], args, functions)
    else:
        body = _builtin(name, arg_elements, args)
    return _wrap_apply(element, body, args)


def _builtin(name: str, arg_elements: Sequence[etree._Element], args: Sequence[Expr]) -> Expr:
    if name in DATE_FUNCTIONS:
        return _date_function(name, args)
    if name == "if" and len(args) == 3 and args[1].data_type != args[2].data_type:
        return _if_of_two_types(args)
    function = fn.FUNCTIONS.get(name)
    impl: fn.FailingImpl
    if function is None:
        if name not in ("replace", "matches", "formatNumber"):
            raise ModelError(f"Unsupported PMML function: {name}.")
        if len(args) != (3 if name == "replace" else 2):
            raise ModelError(f"Invalid PMML: wrong number of arguments to {name}.")
        pattern_el = arg_elements[1]
        if pattern_el.tag != "Constant":
            raise ModelError(f"Unsupported PMML feature: non-constant pattern in {name}.")
        pattern = pattern_el.text or ""
        if name == "formatNumber":
            impl, result = _never_failing(fn.compile_format_number(pattern)), "string"
        else:
            impl = fn.compile_regex_function(name, pattern)
            result = "boolean" if name == "matches" else "string"
    else:
        if len(args) < function.min_args or (
            function.max_args is not None and len(args) > function.max_args
        ):
            raise ModelError(f"Invalid PMML: wrong number of arguments to {name}.")
        impl, result = _never_failing(function.impl), function.result
        args = [_numeric_argument(name, i, a, arg_elements[i]) for i, a in enumerate(args)]
    data_type = _result_type(result, args)
    optype = "continuous" if is_numeric(data_type) and data_type != "boolean" else "categorical"
    arg_fns = [a.fn for a in args]

    def evaluate(ctx: Context) -> Column:
        column, failed = impl([f(ctx) for f in arg_fns], ctx.n)
        if failed.any():
            ctx.refuse(failed)
        if data_type == "float":
            return cast_column("float", column)
        return column

    return Expr(evaluate, data_type, optype)


def _if_of_two_types(args: Sequence[Expr]) -> Expr:
    """``if`` whose branches differ in type: both are converted to one result type (text if
    either is text, else their common numeric type) before the rows are chosen."""
    then, other = args[1], args[2]
    types = (then.data_type, other.data_type)
    if "string" in types:
        data_type = "string"
    elif all(temporal.is_temporal(t) for t in types):
        data_type = then.data_type
    else:
        data_type = common_type(list(types))
    condition = args[0].fn
    then_fn, other_fn = _cast_fn(then, data_type), _cast_fn(other, data_type)
    optype = "categorical" if data_type == "string" else "continuous"

    def evaluate(ctx: Context) -> Column:
        return fn.choose(condition(ctx), then_fn(ctx), other_fn(ctx), ctx.n)

    return Expr(evaluate, data_type, optype)


DATE_FUNCTIONS = {"dateDaysSinceYear": 2, "dateSecondsSinceYear": 2, "dateSecondsSinceMidnight": 1}
"""The PMML date functions and their argument counts."""


def _date_function(name: str, args: Sequence[Expr]) -> Expr:
    """dateDaysSinceYear, dateSecondsSinceYear, dateSecondsSinceMidnight: integer results from
    a date or time argument (text is read as the date type the function expects)."""
    if len(args) != DATE_FUNCTIONS[name]:
        raise ModelError(f"Invalid PMML: wrong number of arguments to {name}.")
    first = args[0]
    source = first.data_type
    if not temporal.is_temporal(source):
        source = "date" if name == "dateDaysSinceYear" else "dateTime"
        first = Expr(_cast_fn(first, source), source, first.optype)
    if name == "dateSecondsSinceMidnight" and source in ("date", *_DATE_COUNTS):
        raise ModelError(f"Invalid PMML: {name} of a {source} value.")
    value_fn = first.fn
    year_fn = numeric(args[1]).fn if len(args) > 1 else None

    def evaluate(ctx: Context) -> Column:
        values = np.asarray(value_fn(ctx), dtype=np.float64)
        if name == "dateSecondsSinceMidnight":
            return temporal.seconds_since_midnight(source, values)
        assert year_fn is not None
        years = np.asarray(year_fn(ctx), dtype=np.float64)
        out = np.full(ctx.n, np.nan)
        for year in np.unique(years[~np.isnan(years)]):
            rows = years == year
            if name == "dateDaysSinceYear":
                out[rows] = temporal.days_since_year(source, values[rows], year)
            else:
                out[rows] = temporal.seconds_since_year(source, values[rows], year)
        return out

    return Expr(evaluate, "integer", "continuous")


_DATE_COUNTS = tuple(sorted(t for t in temporal.COUNTING_TYPES if t.startswith("dateDays")))


def _never_failing(impl: fn.Impl) -> fn.FailingImpl:
    def run(args: Sequence[Column], n: int) -> tuple[Column, Bool]:
        return impl(args, n), np.zeros(n, dtype=bool)

    return run


def _numeric_argument(name: str, index: int, arg: Expr, element: etree._Element) -> Expr:
    """A text argument where ``name`` takes a number: a Constant must read as one (else the
    document is refused); a field's value that does not read as a number fails its row."""
    if arg.data_type != "string" or not fn.takes_number(name, index):
        return arg
    if element.tag == "Constant":
        text = element.text or ""
        if try_parse_scalar("double", text) is None:
            raise ModelError(
                f"Invalid PMML: argument {index + 1} of {name} is not a number: {text!r}."
            )
    source = arg.fn

    def evaluate(ctx: Context) -> Column:
        column = source(ctx)
        numbers = cast_column("double", column)
        ctx.refuse(np.isnan(numbers) & ~missing_mask(column))
        return numbers

    return Expr(evaluate, "double", "continuous")


def _result_type(rule: str, args: Sequence[Expr]) -> str:
    if rule == "common":
        return common_type([a.data_type for a in args])
    if rule.startswith("arg"):
        index = int(rule[3:])
        return args[index].data_type if index < len(args) else "double"
    return rule


def _user_function(
    definition: etree._Element, args: Sequence[Expr], functions: FunctionTable
) -> Expr:
    params = children(definition, "ParameterField")
    name = require_attr(definition, "name")
    if len(params) != len(args):
        raise ModelError(f"Invalid PMML: wrong number of arguments to {name}.")
    local = Scope()
    for param, arg in zip(params, args, strict=True):
        declared = attr(param, "dataType")
        data_type = check_data_type(declared, name) if declared else arg.data_type
        local.define(
            require_attr(param, "name"),
            Expr(_cast_fn(arg, data_type), data_type, attr(param, "optype") or arg.optype),
        )
    return compile_typed(definition, local, functions, what=f"DefineFunction {name}")


def _cast_fn(arg: Expr, data_type: str) -> Callable[[Context], Column]:
    arg_fn, source = arg.fn, arg.data_type
    if source == data_type:
        return arg_fn
    return lambda ctx: cast_typed(source, data_type, arg_fn(ctx))


def _wrap_apply(element: etree._Element, body: Expr, args: Sequence[Expr]) -> Expr:
    """Apply@mapMissingTo (some argument missing) and Apply@defaultValue (result missing)."""
    map_missing = attr(element, "mapMissingTo")
    default_value = attr(element, "defaultValue")
    treatment = attr(element, "invalidValueTreatment", "returnInvalid")
    if treatment not in ("returnInvalid", "asMissing", "asIs"):
        raise ModelError(f"Unsupported PMML feature: Apply@invalidValueTreatment={treatment}.")
    if map_missing is None and default_value is None:
        return body
    data_type = body.data_type
    missing_value = None if map_missing is None else parse_scalar(data_type, map_missing)
    default = None if default_value is None else parse_scalar(data_type, default_value)
    body_fn = body.fn
    arg_fns = [a.fn for a in args]

    def evaluate(ctx: Context) -> Column:
        column = body_fn(ctx).copy()
        if default is not None:
            column[missing_mask(column)] = default
        if missing_value is not None:
            any_missing = np.zeros(ctx.n, dtype=bool)
            for f in arg_fns:
                any_missing |= missing_mask(f(ctx))
            column[any_missing] = missing_value
        return column

    return Expr(evaluate, data_type, body.optype)


def compile_derived_field(element: etree._Element, scope: Scope, functions: FunctionTable) -> Expr:
    name = attr(element, "name") or "DerivedField"
    return compile_typed(element, scope, functions, what=f"DerivedField {name}")


def numeric(expr: Expr) -> Expr:
    """Ensure ``expr`` yields float64 (strings are parsed; unparseable become missing)."""
    if is_numeric(expr.data_type):
        return expr
    inner = expr.fn
    return Expr(lambda ctx: cast_column("double", inner(ctx)), "double", expr.optype)
