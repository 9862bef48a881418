"""A fresh, migrated database for one bench run: a SQLite file, or a new PostgreSQL database
(created from BATCHSCORE_TEST_POSTGRES_URL and dropped afterwards)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from batchscore.store.db import Database
from batchscore.store.migrate import upgrade
from batchscore.testing import scratch_postgres

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
    with scratch_postgres(base, "batchscore_bench") as url:
        db = Database.from_url(url)
        try:
            upgrade(db.engine)
            yield db
        finally:
            db.dispose()
