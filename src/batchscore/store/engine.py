"""Database engines: one place that knows SQLite's pragmas and PostgreSQL's pool settings."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

# JSON columns are written compact and never hold NaN or Infinity (which are not JSON): what is
# stored is valid JSON that responses may splice in as it is, without parsing it again.
json_serializer = partial(json.dumps, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=json_serializer,
            # As many as the API's thread pool runs at once under load, so that connections
            # (and their pragmas) are not opened and closed per request.
            pool_size=24,
            max_overflow=16,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # isolation_level=None hands transaction control to the BEGIN emitted below.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front (BEGIN IMMEDIATE), so concurrent writers queue
            # on busy_timeout instead of failing with "database is locked" on lock upgrade;
            # readers stay deferred so WAL lets them run beside a writer.
            if conn.get_execution_options().get("readonly"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # connect_timeout: a database that does not answer (a cut network) fails a connection
    # attempt after 10 s instead of hanging the thread that asked for it.
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        json_serializer=json_serializer,
        connect_args={"connect_timeout": 10},
    )
