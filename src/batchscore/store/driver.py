"""Statements through the driver's own cursor on a SQLAlchemy connection, for the hot paths
(window reads, bulk writes): the driver's tuples in and out, no Row objects, ``?`` placeholders
rewritten for drivers of the ``%s`` style (psycopg)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def many(conn: Connection, qmark_sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """``qmark_sql`` once per row (SQLite's ``executemany`` runs in-process; psycopg's pipelines
    the statements); ``rows`` may be an iterator (zip's tuples are then reused, not kept)."""
    if isinstance(rows, Sequence) and not rows:
        return
    cursor: Any = conn.connection.cursor()  # the driver's: it takes any iterable of rows
    try:
        cursor.executemany(_sql(conn, qmark_sql), rows)
    finally:
        cursor.close()


# From this many rows on, PostgreSQL gets them by COPY: 3,000 rows of 8 columns take 18 ms,
# 80 ms as pipelined INSERTs and 170 ms as INSERTs of 1,000 rows of VALUES each.
COPY_FROM = 32


def insert(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (values of ``columns``, in order) into ``table``: ``executemany`` on
    SQLite and for a few rows; ``COPY ... FROM STDIN`` on PostgreSQL for more."""
    insert_stream(conn, table, columns, rows, len(rows))


def insert_stream(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    count: int,
) -> None:
    """``insert`` of ``count`` rows given by an iterable, consumed once."""
    if not count:
        return
    names = ", ".join(columns)
    if conn.dialect.name != "postgresql" or count < COPY_FROM:
        marks = ", ".join("?" * len(columns))
        many(conn, f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
        return
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()
