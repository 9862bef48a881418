"""Managed objects matching an inventory query: the expression tree compiled to SQL, paged, and
streamed a few objects at a time (fragments as stored text, never parsed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, and_, cast, exists, func, not_, or_, select
from sqlalchemy.sql import Select

from batchscore.domain.inventory import DEVICE, GROUP, Hierarchy, RawObject
from batchscore.domain.inventory_query import (
    AllOf,
    AnyOf,
    ByGroupId,
    ChildOf,
    Column,
    Compare,
    Exact,
    Expr,
    Has,
    IdIn,
    Kind,
    Not,
    Op,
    OrderKey,
    ParentOf,
    Root,
    Value,
)
from batchscore.errors import Invalid
from batchscore.store import json_sql
from batchscore.store.keys import of_tenant_by_ids
from batchscore.store.tables import child_references, managed_objects

mo = managed_objects
refs = child_references


def _columns(field: Column) -> Any:
    return {
        Column.NAME: mo.c.name,
        Column.TYPE: mo.c.type,
        Column.OWNER: mo.c.owner,
        Column.CREATION_TIME: mo.c.created_at,
        Column.LAST_UPDATED: mo.c.updated_at,
        Column.ID: mo.c.id,
    }[field]


def _compare(left: Any, op: Op, right: Any) -> ColumnElement[bool]:
    result: ColumnElement[bool] = {
        Op.EQ: lambda: left == right,
        Op.NE: lambda: left != right,
        Op.GT: lambda: left > right,
        Op.LT: lambda: left < right,
        Op.GE: lambda: left >= right,
        Op.LE: lambda: left <= right,
    }[op]()
    return result


def _matches(left: Any, pattern: str, dialect: str) -> ColumnElement[bool]:
    """``left`` equals ``pattern``, where ``*`` matches any run of characters (case-sensitive on
    both backends: GLOB on SQLite, LIKE on PostgreSQL)."""
    if "*" not in pattern:
        return json_sql.sure(left == pattern)
    if dialect == "postgresql":
        escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return json_sql.sure(left.like(escaped.replace("*", "%"), escape="\\"))
    escaped = "".join("[" + c + "]" if c in "[?" else c for c in pattern)
    return json_sql.sure(left.op("GLOB")(escaped))


def _text_compare(left: Any, op: Op, value: Value, dialect: str) -> ColumnElement[bool]:
    if op is Op.EQ:
        return _matches(left, value.text, dialect)
    if op is Op.NE:
        return not_(_matches(left, value.text, dialect))
    return json_sql.sure(_compare(left, op, value.text))


def _column_condition(expr: Compare, field: Column, dialect: str) -> ColumnElement[bool]:
    if field is Column.TEXT:
        if expr.op is not Op.EQ:
            raise Invalid("query: text supports eq only.")
        return _any_text(expr.value.text, dialect)
    column = _columns(field)
    if field in (Column.CREATION_TIME, Column.LAST_UPDATED):
        assert expr.value.instant is not None
        condition = json_sql.sure(_compare(column, expr.op, expr.value.instant))
        return not_(json_sql.sure(column == expr.value.instant)) if expr.op is Op.NE else condition
    if field is Column.ID:
        text = expr.value.text
        if not (text.isascii() and text.isdigit() and len(text) < 19):
            raise Invalid(f"query: id compares with a number, not {text[:40]!r}.")
        return json_sql.sure(_compare(column, expr.op, int(text)))
    return _text_compare(column, expr.op, expr.value, dialect)


def _path_condition(expr: Compare, path: tuple[str, ...], dialect: str) -> ColumnElement[bool]:
    value = expr.value
    if value.kind is Kind.BOOLEAN:
        if expr.op not in (Op.EQ, Op.NE):
            raise Invalid("query: true and false compare with eq or ne only.")
        flag = json_sql.boolean_is(mo.c.fragments, path, value.text == "true", dialect)
        return flag if expr.op is Op.EQ else not_(flag)
    if value.kind is Kind.NUMBER:
        assert value.number is not None
        number = json_sql.number_at(mo.c.fragments, path, dialect)
        if expr.op is Op.NE:
            return not_(json_sql.sure(number == value.number))
        return json_sql.sure(_compare(number, expr.op, value.number))
    return _text_compare(json_sql.text_at(mo.c.fragments, path, dialect), expr.op, value, dialect)


def _any_text(text: str, dialect: str) -> ColumnElement[bool]:
    return or_(
        json_sql.sure(mo.c.name == text),
        json_sql.sure(mo.c.type == text),
        json_sql.sure(mo.c.owner == text),
        json_sql.any_string_equals(mo.c.fragments, text, dialect),
    )


def condition(tenant: str, expr: Expr, dialect: str) -> ColumnElement[bool]:
    """``expr`` as a NULL-free SQL condition on ``managed_objects``."""
    if isinstance(expr, AllOf):
        return and_(*(condition(tenant, t, dialect) for t in expr.terms))
    if isinstance(expr, AnyOf):
        return or_(*(condition(tenant, t, dialect) for t in expr.terms))
    if isinstance(expr, Not):
        return not_(condition(tenant, expr.term, dialect))
    if isinstance(expr, Has):
        if expr.path == (DEVICE,):
            return mo.c.is_device.is_(True)
        if expr.path == (GROUP,):
            return mo.c.is_group.is_(True)
        return json_sql.has_path(mo.c.fragments, expr.path, dialect)
    if isinstance(expr, ByGroupId):
        return _child_of(tenant, expr.group_id, Hierarchy.ASSET.value)
    if isinstance(expr, ChildOf):
        return _child_of(tenant, expr.parent, expr.kind)
    if isinstance(expr, ParentOf):
        return exists().where(
            refs.c.tenant_id == tenant,
            refs.c.parent_id == mo.c.id,
            refs.c.child_id == expr.child,
            refs.c.kind == expr.kind,
        )
    if isinstance(expr, IdIn):
        return mo.c.id.in_(list(expr.ids))
    if isinstance(expr, Root):
        return not_(exists().where(refs.c.tenant_id == tenant, refs.c.child_id == mo.c.id))
    if isinstance(expr, Exact):
        return json_sql.sure(_columns(expr.field) == expr.text)
    assert isinstance(expr, Compare)
    if isinstance(expr.field, Column):
        return _column_condition(expr, expr.field, dialect)
    return _path_condition(expr, expr.field, dialect)


def _child_of(tenant: str, parent: int, kind: str) -> ColumnElement[bool]:
    return exists().where(
        refs.c.tenant_id == tenant,
        refs.c.parent_id == parent,
        refs.c.child_id == mo.c.id,
        refs.c.kind == kind,
    )


def _ordering(keys: Sequence[OrderKey], dialect: str) -> list[Any]:
    out: list[Any] = []
    for key in keys:
        if isinstance(key.field, Column):
            if key.field is Column.TEXT:
                raise Invalid("query: $orderby cannot sort by text.")
            exprs = [_columns(key.field)]
        else:
            exprs = [
                json_sql.number_at(mo.c.fragments, key.field, dialect),
                json_sql.text_at(mo.c.fragments, key.field, dialect),
            ]
        for e in exprs:
            out.append((e.desc() if key.descending else e.asc()).nulls_last())
    out.append(mo.c.id)
    return out


def _select(
    conn: Connection, tenant: str, terms: Sequence[Expr], order: Sequence[OrderKey], *columns: Any
) -> Select[Any]:
    dialect = conn.dialect.name
    conds = [condition(tenant, t, dialect) for t in terms]
    return (
        select(*columns)
        .where(mo.c.tenant_id == tenant, *conds)
        .order_by(*_ordering(order, dialect))
    )


def matching_ids(
    conn: Connection,
    tenant: str,
    terms: Sequence[Expr],
    *,
    order: Sequence[OrderKey] = (),
    offset: int,
    limit: int,
) -> list[int]:
    """Ids of the objects of ``tenant`` satisfying every term, one page, in ``order`` (then id)."""
    query = _select(conn, tenant, terms, order, mo.c.id).offset(offset).limit(limit)
    return [int(r.id) for r in conn.execute(query)]


def count_matching(conn: Connection, tenant: str, terms: Sequence[Expr]) -> int:
    """How many objects of ``tenant`` satisfy every term."""
    dialect = conn.dialect.name
    conds = [condition(tenant, t, dialect) for t in terms]
    query = select(func.count()).select_from(mo).where(mo.c.tenant_id == tenant, *conds)
    return int(conn.execute(query).scalar_one())


def raw_objects(conn: Connection, tenant: str, ids: Sequence[int]) -> list[RawObject]:
    """The objects of ``ids`` (those that still exist) in that order, fragments as the JSON text
    stored: a listing renders them without parsing, a few at a time."""
    rows = conn.execute(
        select(
            mo.c.id,
            mo.c.name,
            mo.c.type,
            mo.c.owner,
            mo.c.is_device,
            mo.c.is_group,
            mo.c.created_at,
            mo.c.updated_at,
            cast(mo.c.fragments, Text).label("fragments_json"),
        ).where(of_tenant_by_ids(conn, mo, tenant, ids))
    )
    found = {
        int(r.id): RawObject(
            int(r.id),
            r.name,
            r.type,
            r.owner,
            bool(r.is_device),
            bool(r.is_group),
            r.created_at,
            r.updated_at,
            r.fragments_json,
        )
        for r in rows
    }
    return [found[i] for i in ids if i in found]
