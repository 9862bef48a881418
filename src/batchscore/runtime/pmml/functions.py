"""The PMML built-in functions, vectorized over columns.

Each function takes argument columns (plan representation, see ``types``) and returns a column.
String functions work per distinct value, never per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from batchscore.errors import ModelError
from batchscore.runtime.pmml import regexes
from batchscore.runtime.pmml.datatypes import F64, Bool, Column, cast_column, missing_mask
from batchscore.runtime.pmml.limits import MAX_FORMAT_WIDTH
from batchscore.runtime.pmml.regexes import PatternTimeout, TimeoutBudget

Impl = Callable[[Sequence[Column], int], Column]
FailingImpl = Callable[[Sequence[Column], int], tuple[Column, "Bool"]]
"""An implementation that also returns the rows it failed on."""


@dataclass(frozen=True)
class Function:
    """A built-in: argument count bounds, result type rule and implementation."""

    impl: Impl
    min_args: int
    max_args: int | None
    result: str
    """``double``, ``boolean``, ``string``, ``common`` (common type of the arguments) or
    ``arg<i>`` (type of argument i)."""


def _num(args: Sequence[Column]) -> list[F64]:
    return [np.asarray(a, dtype=np.float64) for a in args]


def _binary(op: Callable[[F64, F64], F64]) -> Impl:
    def impl(args: Sequence[Column], n: int) -> Column:
        x, y = _num(args)
        with np.errstate(all="ignore"):
            return op(x, y)

    return impl


def _unary(op: Callable[[F64], F64]) -> Impl:
    def impl(args: Sequence[Column], n: int) -> Column:
        (x,) = _num(args)
        with np.errstate(all="ignore"):
            return op(x)

    return impl


def _stack(args: Sequence[Column], n: int) -> F64:
    return np.column_stack(_num(args)) if args else np.empty((n, 0))


def _aggregate(kind: str) -> Impl:
    def impl(args: Sequence[Column], n: int) -> Column:
        m = _stack(args, n)
        present = ~np.isnan(m)
        count = present.sum(axis=1)
        with np.errstate(all="ignore"):
            if kind == "min":
                out = np.fmin.reduce(m, axis=1)
            elif kind == "max":
                out = np.fmax.reduce(m, axis=1)
            elif kind == "sum":
                out = np.where(present, m, 0.0).sum(axis=1)
            elif kind == "avg":
                out = np.where(present, m, 0.0).sum(axis=1) / count
            elif kind == "product":
                out = np.where(present, m, 1.0).prod(axis=1)
            else:  # median of the present values
                ordered = np.sort(m, axis=1)  # NaN sorts last
                rows = np.arange(n)
                hi = np.clip(count // 2, 0, max(m.shape[1] - 1, 0))
                lo = np.clip((count - 1) // 2, 0, max(m.shape[1] - 1, 0))
                out = (ordered[rows, lo] + ordered[rows, hi]) / 2.0
        return np.where(count > 0, out, np.nan)

    return impl


def _round_half_up(x: F64) -> F64:
    return np.floor(x + 0.5)


def _modulo(x: F64, y: F64) -> F64:
    return x - np.floor(x / y) * y


def _threshold(x: F64, y: F64) -> F64:
    return np.where(np.isnan(x) | np.isnan(y), np.nan, (x > y).astype(np.float64))


def _compare(op: Callable[[Column, Column], Column]) -> Impl:
    def impl(args: Sequence[Column], n: int) -> Column:
        x, y = args
        missing = missing_mask(x) | missing_mask(y)
        if x.dtype == object or y.dtype == object:
            result = np.zeros(n, dtype=np.float64)
            present = ~missing
            result[present] = np.asarray(op(x[present], y[present]), dtype=bool)
        else:
            with np.errstate(invalid="ignore"):
                result = np.asarray(op(x, y), dtype=np.float64)
        result[missing] = np.nan
        return result

    return impl


def _is_missing(negate: bool) -> Impl:
    def impl(args: Sequence[Column], n: int) -> Column:
        mask = missing_mask(args[0])
        return (~mask if negate else mask).astype(np.float64)

    return impl


def _logical(kind: str) -> Impl:
    def impl(args: Sequence[Column], n: int) -> Column:
        m = _stack(args, n)
        any_missing = np.isnan(m).any(axis=1)
        if kind == "and":
            any_false = (m == 0.0).any(axis=1)
            return np.where(any_false, 0.0, np.where(any_missing, np.nan, 1.0))
        any_true = (m == 1.0).any(axis=1)
        return np.where(any_true, 1.0, np.where(any_missing, np.nan, 0.0))

    return impl


def _not(args: Sequence[Column], n: int) -> Column:
    x = np.asarray(args[0], dtype=np.float64)
    return np.where(np.isnan(x), np.nan, (x == 0.0).astype(np.float64))


def _membership(negate: bool) -> Impl:
    def impl(args: Sequence[Column], n: int) -> Column:
        value = args[0]
        missing = missing_mask(value)
        hit = np.zeros(n, dtype=bool)
        for candidate in args[1:]:
            present = ~missing_mask(candidate) & ~missing
            eq = np.zeros(n, dtype=bool)
            eq[present] = np.asarray(value[present] == candidate[present], dtype=bool)
            hit |= eq
        result = (~hit if negate else hit).astype(np.float64)
        result[missing] = np.nan
        return result

    return impl


def _if(args: Sequence[Column], n: int) -> Column:
    return choose(args[0], args[1], args[2] if len(args) > 2 else None, n)


def choose(condition: Column, then: Column, other: Column | None, n: int) -> Column:
    """``then`` where ``condition`` is true, ``other`` where it is false, else missing."""
    cond = np.asarray(condition, dtype=np.float64)
    if then.dtype == object or (other is not None and other.dtype == object):
        out: Column = np.full(n, None, dtype=object)
    else:
        out = np.full(n, np.nan)
    chosen = cond == 1.0
    out[chosen] = then[chosen]
    if other is not None:
        rejected = cond == 0.0
        out[rejected] = other[rejected]
    return out


def per_value(fn: Callable[..., object], result_is_str: bool = True) -> Impl:
    """Apply a scalar function to each distinct (present) value of the first argument."""
    failing = per_value_failing(fn, result_is_str)

    def impl(args: Sequence[Column], n: int) -> Column:
        return failing(args, n)[0]

    return impl


def per_value_failing(fn: Callable[..., object], result_is_str: bool = True) -> FailingImpl:
    """:func:`per_value` for functions that may fail on a value (a pattern out of time): the
    rows of such values are missing and returned as failed."""

    def impl(args: Sequence[Column], n: int) -> tuple[Column, Bool]:
        column = args[0]
        failed = np.zeros(n, dtype=bool)
        if any(len(a) and not _constant(a) for a in args[1:]):
            return _per_row(fn, args, n, result_is_str, failed), failed
        extra = [a[0] if len(a) else None for a in args[1:]]
        out: Column = np.full(n, None, dtype=object) if result_is_str else np.full(n, np.nan)
        missing = missing_mask(column)
        if any(e is None or (isinstance(e, float) and np.isnan(e)) for e in extra):
            return out, failed
        present = np.flatnonzero(~missing)
        if present.size == 0:
            return out, failed
        values, inverse = np.unique(column[present].astype(str), return_inverse=True)
        mapped = np.full(values.shape[0], None, dtype=object)
        budget = TimeoutBudget()
        for k, value in enumerate(values):
            try:
                budget.check()
                mapped[k] = fn(value, *extra)
            except PatternTimeout:
                budget.spent()
                failed[present[inverse == k]] = True
        result = mapped[inverse]
        if not result_is_str:
            result = np.where(missing_mask(result), np.nan, result).astype(np.float64)
        out[present] = result
        return out, failed

    return impl


def _constant(column: Column) -> bool:
    first = column[0]
    if column.dtype == object:
        return bool(np.all(column == first))
    return bool(np.all(column == first)) or bool(np.all(np.isnan(column)))


def _per_row(
    fn: Callable[..., object], args: Sequence[Column], n: int, as_str: bool, failed: Bool
) -> Column:
    """``fn`` of each row's values (arguments that vary by row); missing if any is missing."""
    out: Column = np.full(n, None, dtype=object) if as_str else np.full(n, np.nan)
    missing = np.zeros(n, dtype=bool)
    for a in args:
        missing |= missing_mask(a)
    budget = TimeoutBudget()
    for i in np.flatnonzero(~missing):
        first = args[0][i]
        try:
            budget.check()
            out[i] = fn(first if isinstance(first, str) else str(first), *(a[i] for a in args[1:]))
        except PatternTimeout:
            budget.spent()
            failed[i] = True
    return out


def _substring(value: str, start: float, length: float) -> str:
    begin = max(int(start) - 1, 0)
    return value[begin : begin + int(length)]


def _concat(args: Sequence[Column], n: int) -> Column:
    """Concatenation; a missing argument makes the result missing."""
    out = np.full(n, "", dtype=object)
    missing = np.zeros(n, dtype=bool)
    for arg in args:
        missing |= missing_mask(arg)
        text = arg if arg.dtype == object else _format_numbers(arg)
        present = ~missing
        out[present] = out[present] + text[present].astype(str).astype(object)
    out[missing] = None
    return out


def _format_numbers(column: Column) -> Column:
    return cast_column("string", column)


def _format_number(value: str, pattern: str) -> str:
    try:
        return pattern % float(value)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"Invalid PMML: unsupported number format {pattern!r}.") from exc


FUNCTIONS: dict[str, Function] = {
    "+": Function(_binary(np.add), 2, 2, "common"),
    "-": Function(_binary(np.subtract), 2, 2, "common"),
    "*": Function(_binary(np.multiply), 2, 2, "common"),
    "/": Function(_binary(np.divide), 2, 2, "double"),
    "min": Function(_aggregate("min"), 1, None, "common"),
    "max": Function(_aggregate("max"), 1, None, "common"),
    "sum": Function(_aggregate("sum"), 1, None, "common"),
    "avg": Function(_aggregate("avg"), 1, None, "double"),
    "median": Function(_aggregate("median"), 1, None, "double"),
    "product": Function(_aggregate("product"), 1, None, "common"),
    "log10": Function(_unary(np.log10), 1, 1, "double"),
    "ln": Function(_unary(np.log), 1, 1, "double"),
    "sqrt": Function(_unary(np.sqrt), 1, 1, "double"),
    "abs": Function(_unary(np.abs), 1, 1, "arg0"),
    "exp": Function(_unary(np.exp), 1, 1, "double"),
    "expm1": Function(_unary(np.expm1), 1, 1, "double"),
    "ln1p": Function(_unary(np.log1p), 1, 1, "double"),
    "sin": Function(_unary(np.sin), 1, 1, "double"),
    "cos": Function(_unary(np.cos), 1, 1, "double"),
    "tan": Function(_unary(np.tan), 1, 1, "double"),
    "asin": Function(_unary(np.arcsin), 1, 1, "double"),
    "acos": Function(_unary(np.arccos), 1, 1, "double"),
    "atan": Function(_unary(np.arctan), 1, 1, "double"),
    "sinh": Function(_unary(np.sinh), 1, 1, "double"),
    "cosh": Function(_unary(np.cosh), 1, 1, "double"),
    "tanh": Function(_unary(np.tanh), 1, 1, "double"),
    "atan2": Function(_binary(np.arctan2), 2, 2, "double"),
    "hypot": Function(_binary(np.hypot), 2, 2, "double"),
    "pow": Function(_binary(np.power), 2, 2, "double"),
    "threshold": Function(_binary(_threshold), 2, 2, "integer"),
    "floor": Function(_unary(np.floor), 1, 1, "integer"),
    "ceil": Function(_unary(np.ceil), 1, 1, "integer"),
    "round": Function(_unary(_round_half_up), 1, 1, "integer"),
    "rint": Function(_unary(np.rint), 1, 1, "double"),
    "modulo": Function(_binary(_modulo), 2, 2, "common"),
    "isMissing": Function(_is_missing(False), 1, 1, "boolean"),
    "isNotMissing": Function(_is_missing(True), 1, 1, "boolean"),
    "isValid": Function(_is_missing(True), 1, 1, "boolean"),
    "isInvalid": Function(lambda args, n: np.zeros(n), 1, 1, "boolean"),
    "equal": Function(_compare(lambda x, y: x == y), 2, 2, "boolean"),
    "notEqual": Function(_compare(lambda x, y: x != y), 2, 2, "boolean"),
    "lessThan": Function(_compare(lambda x, y: x < y), 2, 2, "boolean"),
    "lessOrEqual": Function(_compare(lambda x, y: x <= y), 2, 2, "boolean"),
    "greaterThan": Function(_compare(lambda x, y: x > y), 2, 2, "boolean"),
    "greaterOrEqual": Function(_compare(lambda x, y: x >= y), 2, 2, "boolean"),
    "and": Function(_logical("and"), 2, None, "boolean"),
    "or": Function(_logical("or"), 2, None, "boolean"),
    "not": Function(_not, 1, 1, "boolean"),
    "isIn": Function(_membership(False), 2, None, "boolean"),
    "isNotIn": Function(_membership(True), 2, None, "boolean"),
    "if": Function(_if, 2, 3, "arg1"),
    "uppercase": Function(per_value(str.upper), 1, 1, "string"),
    "lowercase": Function(per_value(str.lower), 1, 1, "string"),
    "trimBlanks": Function(per_value(str.strip), 1, 1, "string"),
    "substring": Function(per_value(_substring), 3, 3, "string"),
    "concat": Function(_concat, 1, None, "string"),
    "stringLength": Function(per_value(len, result_is_str=False), 1, 1, "integer"),
}


TEXT_FUNCTIONS = frozenset(
    {"uppercase", "lowercase", "trimBlanks", "substring", "concat", "stringLength"}
)
"""Built-ins whose arguments are text (substring's start and length excepted)."""
ANY_TYPE_FUNCTIONS = frozenset(
    {"isMissing", "isNotMissing", "isValid", "isInvalid", "equal", "notEqual", "isIn", "isNotIn"}
    | {"lessThan", "lessOrEqual", "greaterThan", "greaterOrEqual", "and", "or", "not"}
)


def takes_number(name: str, index: int) -> bool:
    """Whether argument ``index`` of built-in ``name`` is a number."""
    if name == "substring":
        return index > 0
    if name == "if":
        return index == 0
    return name not in TEXT_FUNCTIONS and name not in ANY_TYPE_FUNCTIONS


def compile_regex_function(name: str, pattern: str) -> FailingImpl:
    """``replace`` and ``matches`` need their (constant) pattern compiled at load time; a value
    the pattern runs out of time on fails its row."""
    compiled = regexes.compile_pattern(pattern)
    if name == "matches":
        return per_value_failing(
            lambda v, _p: 1.0 if regexes.search(compiled, v) else 0.0, result_is_str=False
        )
    return per_value_failing(
        lambda v, _p, r: regexes.substitute(compiled, regexes.java_replacement(str(r)), v)
    )


_FORMAT_SIZES = re.compile(r"%[-+ 0#]*(\d*)(?:\.(\d+))?")


def compile_format_number(pattern: str) -> Impl:
    for width, precision in _FORMAT_SIZES.findall(pattern):
        for size in (width, precision):
            if size and int(size) > MAX_FORMAT_WIDTH:
                raise ModelError(
                    f"Invalid PMML: formatNumber pattern {pattern[:40]!r} asks for a field of "
                    f"{size} characters (at most {MAX_FORMAT_WIDTH})."
                )
    _format_number("0", pattern)  # validate at load time
    return per_value(lambda v, p: _format_number(v, str(p)))
