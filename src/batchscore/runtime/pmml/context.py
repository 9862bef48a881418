"""Evaluation context (one batch of rows) and compile-time scopes (field name resolution).

A compiled field is an :class:`Expr`: a closure from :class:`Context` to a column plus its static
PMML type. Field values are memoized per batch under a key handed out at compile time, so a
derived field used by ten predictors is computed once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.datatypes import Bool, Column

_keys = itertools.count()


def new_key() -> int:
    """A process-unique memo key."""
    return next(_keys)


class Context:
    """The rows being scored: raw input columns, memoized field values, refused rows."""

    def __init__(self, n: int, inputs: Mapping[str, Column]) -> None:
        self.n = n
        self.inputs = inputs
        self.invalid: Bool = np.zeros(n, dtype=bool)
        self._memo: dict[int, Any] = {}

    def memo(self, key: int, compute: Callable[[Context], Any]) -> Any:
        if key in self._memo:
            return self._memo[key]
        value = compute(self)
        self._memo[key] = value
        return value

    def refuse(self, rows: Bool) -> None:
        """Mark rows the model refuses (invalid input under returnInvalid)."""
        self.invalid |= rows


@dataclass(frozen=True)
class Expr:
    """A compiled expression: ``fn(ctx)`` gives one value per row."""

    fn: Callable[[Context], Column]
    data_type: str
    optype: str

    def __call__(self, ctx: Context) -> Column:
        return self.fn(ctx)


def memoized(expr: Expr) -> Expr:
    key = new_key()
    fn = expr.fn
    return Expr(lambda ctx: ctx.memo(key, fn), expr.data_type, expr.optype)


DerivedCompiler = Callable[[etree._Element, "Scope"], Expr]


class Scope:
    """Field names visible at one place of the document, with lazily compiled derived fields."""

    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self._fields: dict[str, Expr] = {}
        self._pending: dict[str, tuple[etree._Element, DerivedCompiler, Scope]] = {}
        self._compiling: set[str] = set()

    def define(self, name: str, expr: Expr) -> None:
        self._pending.pop(name, None)
        self._fields[name] = expr

    def define_lazy(
        self, name: str, element: etree._Element, compiler: DerivedCompiler, scope: Scope
    ) -> None:
        """Declare a derived field compiled on first use (so definitions may come in any order)."""
        self._pending[name] = (element, compiler, scope)

    def has(self, name: str) -> bool:
        if name in self._fields or name in self._pending:
            return True
        return self.parent.has(name) if self.parent is not None else False

    def resolve(self, name: str) -> Expr:
        """The compiled field ``name``; an undeclared name is a ModelError naming it."""
        found = self._fields.get(name)
        if found is not None:
            return found
        pending = self._pending.get(name)
        if pending is not None:
            if name in self._compiling:
                raise ModelError(f"Invalid PMML: field {name!r} is defined in terms of itself.")
            self._compiling.add(name)
            try:
                element, compiler, scope = pending
                expr = memoized(compiler(element, scope))
            finally:
                self._compiling.discard(name)
            self.define(name, expr)
            return expr
        if self.parent is not None:
            return self.parent.resolve(name)
        raise ModelError(f"Invalid PMML: field {name!r} is not declared.")

    def compile_pending(self) -> None:
        """Compile every lazily declared field, so unsupported content fails at load."""
        for name in list(self._pending):
            if name in self._pending:
                self.resolve(name)
