"""The I/O seam to the database: transactions for reading and writing, driver errors translated."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from batchscore.errors import StorageFull, StoreUnavailable
from batchscore.store.engine import is_sqlite, make_engine

Transaction = Connection
"""What :meth:`Database.read` and :meth:`Database.write` yield: one transaction, which the
repositories take as their first argument (services pass it on without looking inside)."""


class Database:
    """Owns the engine; hands out transactions. Repositories take the yielded connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite(engine)
        self._probe: sqlite3.Connection | None = None
        self._probe_lock = threading.Lock()
        self._stampless = False

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (deferred on SQLite, so readers run beside a writer)."""
        with _translated(), self.engine.connect() as conn:
            conn = conn.execution_options(readonly=True)
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction, committed on success and rolled back on any error."""
        with _translated(), self.engine.begin() as conn:
            yield conn

    def reachable(self) -> bool:
        """Whether the database answers a trivial query now (for /health)."""
        try:
            with self.read() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any failure to reach the database means "not reachable"
            return False
        return True

    def change_stamp(self) -> int | None:
        """A number that moves whenever any connection, in any process, commits to the
        database: SQLite's ``data_version``, read on a connection of its own that never
        writes. It costs microseconds and no transaction, so callers may reuse what they read
        while it stays the same. None where the backend has no such thing (PostgreSQL,
        in-memory SQLite) or the probe fails: then nothing may be reused."""
        with self._probe_lock:
            if self._stampless:  # a reopened probe would count from 1 again
                return None
            try:
                if self._probe is None:
                    path = self.engine.url.database if self.is_sqlite else None
                    if not path or path == ":memory:" or path.startswith("file:"):
                        self._stampless = True  # this database has no stamp, ever
                        return None
                    if not Path(path).exists():
                        return None  # not created yet; connecting would create it
                    self._probe = sqlite3.connect(
                        path, timeout=0.05, isolation_level=None, check_same_thread=False
                    )
                row = self._probe.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:
                return None
        return int(row[0])

    def dispose(self) -> None:
        with self._probe_lock:
            self._stampless = True
            if self._probe is not None:
                self._probe.close()
                self._probe = None
        self.engine.dispose()


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if _looks_full(exc):
            raise StorageFull(
                "The database is out of disk space; nothing was written. Free space and retry."
            ) from exc
        if exc.connection_invalidated or _looks_unreachable(exc):
            raise StoreUnavailable("The database is not available; try again shortly.") from exc
        raise
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable("The database is not available; try again shortly.") from exc
        raise


def _looks_unreachable(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(marker in text for marker in _UNREACHABLE)


_UNREACHABLE = (
    "connection refused",
    "connection reset",
    "connection failed",
    "connection is closed",
    "could not connect",
    "server closed",
    "terminating",
    "broken pipe",
    "timeout expired",
    "consuming input failed",
)
"""What psycopg says when the server, or the network to it, went away."""


def _looks_full(exc: OperationalError) -> bool:
    # SQLite: SQLITE_FULL ("database or disk is full"); PostgreSQL: SQLSTATE 53100 disk_full.
    if getattr(exc.orig, "sqlstate", None) == "53100":
        return True
    return "database or disk is full" in str(exc.orig).lower()
