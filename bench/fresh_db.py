"""A fresh, migrated database for one bench run: a SQLite file, or a new PostgreSQL database
(created from BATCHSCORE_TEST_POSTGRES_URL and dropped afterwards)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from batchscore.store.db import Database
from batchscore.store.migrate import upgrade

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def database(backend: str, tmp: Path | None = None) -> Iterator[Database]:
    """SQLite in ``tmp`` (a temporary directory if None) or a throw-away PostgreSQL database."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as scratch:
            db = Database.from_url(f"sqlite:///{(tmp or Path(scratch)) / 'bench.db'}")
            try:
                upgrade(db.engine)
                yield db
            finally:
                db.dispose()
        return
    base = os.environ.get("BATCHSCORE_TEST_POSTGRES_URL", PG_DEFAULT)
    name = f"batchscore_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database.from_url(make_url(base).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(db.engine)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
