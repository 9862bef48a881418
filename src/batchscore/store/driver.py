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
    if not rows:
        return
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(_sql(conn, qmark_sql), rows)
    finally:
        cursor.close()
