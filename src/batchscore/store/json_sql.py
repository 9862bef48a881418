"""SQL over the JSON ``fragments`` columns, the same meaning on SQLite and PostgreSQL.

Every predicate here is NULL-free (true or false, never unknown), so ``not`` and ``ne`` keep
their plain meaning: an object without the property is *not equal* to any value (as MongoDB, and
so Cumulocity, answer). Paths are bound parameters, never SQL text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Text,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import ColumnElement as Col

Path = Sequence[str]


def _sqlite_path(path: Path) -> str:
    # Segments are fragment names (valid_name: no quotes, dots or brackets), so quoting is safe.
    return "$" + "".join(f'."{segment}"' for segment in path)


def _pg_path(path: Path) -> Any:
    return bindparam(None, list(path), type_=ARRAY(Text), unique=True)


def json_type(column: Col[Any], path: Path, dialect: str) -> ColumnElement[Any]:
    """The JSON type at ``path`` as PostgreSQL names them (``string``, ``number``, ``boolean``,
    ``null``, ``object``, ``array``), NULL when the path is missing."""
    if dialect == "postgresql":
        return func.json_typeof(column.op("#>")(_pg_path(path)))
    raw = func.json_type(column, bindparam(None, _sqlite_path(path), unique=True))
    return case(
        (raw == "text", "string"),
        (raw.in_(("integer", "real")), "number"),
        (raw.in_(("true", "false")), "boolean"),
        else_=raw,
    )


def has_path(column: Col[Any], path: Path, dialect: str) -> ColumnElement[bool]:
    """True when the object has a property at ``path`` (a JSON null counts, as in Cumulocity)."""
    if dialect == "postgresql":
        return column.op("#>")(_pg_path(path)).is_not(None)
    return func.json_type(column, bindparam(None, _sqlite_path(path), unique=True)).is_not(None)


def text_at(column: Col[Any], path: Path, dialect: str) -> ColumnElement[Any]:
    """The string at ``path``, NULL when it is missing or no string."""
    value: ColumnElement[Any]
    if dialect == "postgresql":
        value = column.op("#>>")(_pg_path(path))
    else:
        value = func.json_extract(column, bindparam(None, _sqlite_path(path), unique=True))
    return case((json_type(column, path, dialect) == "string", value), else_=None)


def number_at(column: Col[Any], path: Path, dialect: str) -> ColumnElement[Any]:
    """The number at ``path`` as a float, NULL when it is missing or no number."""
    if dialect == "postgresql":
        value: ColumnElement[Any] = cast(column.op("#>>")(_pg_path(path)), Float)
    else:
        value = func.json_extract(column, bindparam(None, _sqlite_path(path), unique=True))
    return case((json_type(column, path, dialect) == "number", value), else_=None)


def boolean_is(column: Col[Any], path: Path, flag: bool, dialect: str) -> ColumnElement[bool]:
    """True when the property at ``path`` is the JSON boolean ``flag``."""
    if dialect == "postgresql":
        raw = column.op("#>>")(_pg_path(path))
        return sure(
            (json_type(column, path, dialect) == "boolean") & (raw == ("true" if flag else "false"))
        )
    kind = func.json_type(column, bindparam(None, _sqlite_path(path), unique=True))
    return sure(kind == ("true" if flag else "false"))


def any_string_equals(column: Col[Any], value: str, dialect: str) -> ColumnElement[bool]:
    """True when any string anywhere in the JSON document equals ``value``."""
    if dialect == "postgresql":
        return sure(
            func.jsonb_path_exists(
                cast(column, JSONB),
                literal_column("'strict $.** ? (@ == $v)'::jsonpath"),
                func.jsonb_build_object("v", bindparam(None, value, type_=Text, unique=True)),
            )
        )
    tree = func.json_tree(column).table_valued("type", "atom").alias("tree")
    return exists(
        select(literal_column("1"))
        .select_from(tree)
        .where(tree.c.type == "text", tree.c.atom == bindparam(None, value, unique=True))
    )


def sure(predicate: ColumnElement[Any]) -> ColumnElement[bool]:
    """``predicate`` with unknown (NULL) read as false."""
    return func.coalesce(predicate, false())


def always() -> ColumnElement[bool]:
    return true()
