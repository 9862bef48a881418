"""Statements through the driver's own cursor on a SQLAlchemy connection, for the hot paths
(window reads, bulk writes): the driver's tuples in and out, no Row objects, ``?`` placeholders
rewritten for drivers of the ``%s`` style (psycopg)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection


def _sql(conn: Connection, qmark_sql: str) -> str:
    return qmark_sql if conn.dialect.paramstyle == "qmark" else qmark_sql.replace("?", "%s")


def rows(conn: Connection, qmark_sql: str, params: tuple[Any, ...]) -> Sequence[Any]:
    """The rows of ``qmark_sql`` as the driver's tuples, through a raw cursor: the hot reads
    skip SQLAlchemy's Row objects. ``%s`` replaces ``?`` for drivers of that style (psycopg)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_sql(conn, qmark_sql), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def many(conn: Connection, qmark_sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``qmark_sql`` once per row: SQLite's ``executemany`` runs in-process; on PostgreSQL an
    ``INSERT ... VALUES (...)`` is sent as multi-row VALUES statements (one round trip per
    thousand rows, as SQLAlchemy's insertmanyvalues does), other statements pipelined."""
    if not rows:
        return
    cursor = conn.connection.cursor()
    try:
        multi_row = qmark_sql.startswith("INSERT ") and qmark_sql.endswith(")")
        if conn.dialect.paramstyle == "qmark" or not multi_row:
            cursor.executemany(_sql(conn, qmark_sql), rows)
            return
        head, _, tuple_sql = qmark_sql.rpartition(" VALUES ")
        one = _sql(conn, tuple_sql)
        per = max(1, min(1000, 60_000 // max(len(rows[0]), 1)))  # bind parameters < 65,535
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            statement = f"{head} VALUES {', '.join([one] * len(chunk))}"
            cursor.execute(statement, [value for row in chunk for value in row])
    finally:
        cursor.close()
