"""Cumulocity's inventory query language: pure parsing into a small expression tree.

``$filter=(has(c8y_IsDevice) and (name eq 'Pump*' or type eq c8y_Meter)) $orderby=name desc``:
``has(path)``, ``bygroupid(id)``, comparisons ``eq ne gt lt ge le`` of ``name``, ``type``,
``owner``, ``creationTime``, ``lastUpdated``, ``id``, ``text`` (any property) or a fragment path
(``c8y_Hardware.serialNumber``) with a quoted text (``'*'`` matches any run of characters;
``''`` is a quote), a number, ``true``/``false`` or a bare word; ``and``, ``or``, ``not`` and
parentheses; then ``$orderby=`` a comma list of fields, each ``asc`` (default) or ``desc``. The
``$filter=`` prefix is optional, and ``+`` may separate the parts (as c8y-api sends them).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from batchscore.domain.documents import valid_name
from batchscore.domain.timefmt import parse_query_instant
from batchscore.errors import Invalid

MAX_QUERY = 4000
MAX_TERMS = 64
MAX_DEPTH = 32

_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<comma>,)|'(?P<quoted>(?:[^']|'')*)'|(?P<word>[^\s(),']+))"
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_ORDERBY = re.compile(r"\$orderby=", re.IGNORECASE)
_GUIDE = (
    "supported are has(<fragment>), bygroupid(<id>), <field> eq|ne|gt|lt|ge|le <value>, "
    "and, or, not, parentheses and $orderby=<field> [asc|desc]"
)


class Column(enum.StrEnum):
    """Fields of a managed object that are not fragments."""

    NAME = "name"
    TYPE = "type"
    OWNER = "owner"
    CREATION_TIME = "creationTime"
    LAST_UPDATED = "lastUpdated"
    ID = "id"
    TEXT = "text"  # any property equal to the value, as the ``text`` parameter


Field = Column | tuple[str, ...]  # a column or a fragment path


class Op(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    LT = "lt"
    GE = "ge"
    LE = "le"


class Kind(enum.Enum):
    TEXT = "text"  # quoted, or a bare word that is no number or boolean
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class Value:
    kind: Kind
    text: str
    number: float | None = None
    instant: datetime | None = None  # for creationTime and lastUpdated


@dataclass(frozen=True, slots=True)
class Has:
    """Objects carrying the fragment at ``path``."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ByGroupId:
    """Direct child assets of the group ``group_id``."""

    group_id: int


@dataclass(frozen=True, slots=True)
class Compare:
    field: Field
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class Exact:
    """A column equal to a text exactly, no wildcards (the ``type`` and ``owner`` parameters)."""

    field: Column
    text: str


@dataclass(frozen=True, slots=True)
class ChildOf:
    """Objects referenced by ``parent`` in one hierarchy (``asset`` or ``device``)."""

    parent: int
    kind: str


@dataclass(frozen=True, slots=True)
class ParentOf:
    """Objects that reference ``child`` in one hierarchy (``childAssetId``, ``childDeviceId``)."""

    child: int
    kind: str


@dataclass(frozen=True, slots=True)
class IdIn:
    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Root:
    """Objects without a parent in either hierarchy (``onlyRoots``)."""


@dataclass(frozen=True, slots=True)
class Not:
    term: Expr


@dataclass(frozen=True, slots=True)
class AllOf:
    terms: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    terms: tuple[Expr, ...]


Expr = Has | ByGroupId | Compare | Exact | ChildOf | ParentOf | IdIn | Root | Not | AllOf | AnyOf


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: Field
    descending: bool


@dataclass(frozen=True, slots=True)
class Query:
    filter: Expr | None
    order: tuple[OrderKey, ...]


def parse_query(text: str, name: str = "query") -> Query:
    """Parse a query; raise ``Invalid`` naming the parameter and what is wrong."""
    if len(text) > MAX_QUERY:
        raise Invalid(f"{name}: longer than {MAX_QUERY} characters.")
    body, order_text = text, ""
    split = _ORDERBY.search(text)
    if split is not None:
        body, order_text = text[: split.start()], text[split.end() :]
    body = body.strip().rstrip("+").strip()
    if body.lower().startswith("$filter="):
        body = body[len("$filter=") :]
    expr = _Parser(body, text, name).parse() if body else None
    order = _parse_order(order_text, text, name) if split is not None else ()
    if expr is None and not order and split is None:
        raise Invalid(f"{name}: is empty; {_GUIDE}.")
    return Query(expr, order)


class _Parser:
    def __init__(self, body: str, text: str, name: str) -> None:
        self.text, self.name = text, name
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(body):
            match = _TOKEN.match(body, pos)
            if match is None or match.end() == pos:
                if body[pos:].strip():
                    raise self.error(body[pos:].strip())
                break
            kind = match.lastgroup or ""
            self.tokens.append((kind, match[kind] if kind else ""))
            pos = match.end()
        self.at = 0
        self.leaves = 0

    def error(self, near: str) -> Invalid:
        return Invalid(
            f"{self.name}: cannot parse {self.text[:120]!r} near {near[:40]!r}; {_GUIDE}."
        )

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise Invalid(f"{self.name}: {self.text[:120]!r} is incomplete; {_GUIDE}.")
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.at += 1
            return True
        return False

    def parse(self) -> Expr:
        expr = self.disjunction(0)
        left = self.peek()
        if left is not None:
            raise self.error(left[1] or ")")
        return expr

    def disjunction(self, depth: int) -> Expr:
        terms = [self.conjunction(depth)]
        while self.keyword("or"):
            terms.append(self.conjunction(depth))
        return terms[0] if len(terms) == 1 else AnyOf(tuple(terms))

    def conjunction(self, depth: int) -> Expr:
        terms = [self.unary(depth)]
        while self.keyword("and"):
            terms.append(self.unary(depth))
        return terms[0] if len(terms) == 1 else AllOf(tuple(terms))

    def unary(self, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise Invalid(f"{self.name}: nested deeper than {MAX_DEPTH} levels.")
        if self.keyword("not"):
            return Not(self.unary(depth + 1))
        kind, value = self.take()
        if kind == "open":
            inner = self.disjunction(depth + 1)
            if self.take()[0] != "close":
                raise self.error(value)
            return inner
        if kind != "word":
            raise self.error(value or kind)
        self.leaves += 1
        if self.leaves > MAX_TERMS:
            raise Invalid(f"{self.name}: at most {MAX_TERMS} terms.")
        nxt = self.peek()
        if nxt is not None and nxt[0] == "open":
            return self.function(value)
        return self.comparison(value)

    def function(self, word: str) -> Expr:
        function = word.lower()
        self.take()  # "("
        kind, arg = self.take()
        if kind not in ("word", "quoted") or self.take()[0] != "close":
            raise Invalid(f"{self.name}: {word}(...) takes one name or id, in {self.text[:120]!r}.")
        if function == "has":
            return Has(fragment_path(arg, self.name))
        if function == "bygroupid":
            if not (arg.isascii() and arg.isdigit() and len(arg) < 19):
                raise Invalid(f"{self.name}: bygroupid needs a numeric group id, not {arg[:40]!r}.")
            return ByGroupId(int(arg))
        raise Invalid(f"{self.name}: the function {word[:40]!r} is not supported; {_GUIDE}.")

    def comparison(self, word: str) -> Expr:
        field = _field(word, self.name)
        kind, op_word = self.take()
        try:
            op = Op(op_word.lower())
        except ValueError:
            raise self.error(op_word) from None
        kind, raw = self.take()
        if kind == "quoted":
            value = Value(Kind.TEXT, raw.replace("''", "'"))
        elif kind == "word":
            value = _bare(raw)
        else:
            raise self.error(raw or kind)
        if field in (Column.CREATION_TIME, Column.LAST_UPDATED):
            try:
                value = Value(value.kind, value.text, instant=parse_query_instant(value.text))
            except (ValueError, TypeError):
                raise Invalid(
                    f"{self.name}: {field.value} compares with an ISO-8601 instant, "
                    f"not {value.text[:40]!r}."
                ) from None
        return Compare(field, op, value)


def _bare(raw: str) -> Value:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return Value(Kind.BOOLEAN, lowered)
    if _NUMBER.match(raw):
        return Value(Kind.NUMBER, raw, number=float(raw))
    return Value(Kind.TEXT, raw)


def _field(word: str, name: str) -> Field:
    if word in ("creationTime.date", "lastUpdated.date"):
        word = word.split(".")[0]
    try:
        return Column(word)
    except ValueError:
        return fragment_path(word, name)


def fragment_path(text: str, name: str) -> tuple[str, ...]:
    """``a.b.c`` as a path of fragment names; raise ``Invalid`` naming ``name`` if it is none."""
    parts = tuple(text.split("."))
    if not all(valid_name(p) for p in parts) or len(parts) > 8:
        raise Invalid(f"{name}: {text[:80]!r} is not a fragment path.")
    return parts


def _parse_order(text: str, whole: str, name: str) -> tuple[OrderKey, ...]:
    keys: list[OrderKey] = []
    for item in text.split(","):
        words = item.replace("+", " ").split()
        if (
            not words
            or len(words) > 2
            or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
        ):
            raise Invalid(
                f"{name}: cannot parse the $orderby of {whole[:120]!r}; expected "
                "<field> [asc|desc], comma-separated."
            )
        keys.append(
            OrderKey(_field(words[0], name), len(words) == 2 and words[1].lower() == "desc")
        )
    if len(keys) > 8:
        raise Invalid(f"{name}: $orderby takes at most 8 fields.")
    return tuple(keys)
