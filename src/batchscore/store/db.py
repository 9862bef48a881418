"""The I/O seam to the database: transactions for reading and writing, driver errors translated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from batchscore.errors import StorageFull, StoreUnavailable
from batchscore.store.engine import is_sqlite, make_engine


class Database:
    """Owns the engine; hands out transactions. Repositories take the yielded connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite(engine)

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

    def dispose(self) -> None:
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
    return any(
        marker in text
        for marker in ("connection refused", "could not connect", "server closed", "terminating")
    )


def _looks_full(exc: OperationalError) -> bool:
    # SQLite: SQLITE_FULL ("database or disk is full"); PostgreSQL: SQLSTATE 53100 disk_full.
    if getattr(exc.orig, "sqlstate", None) == "53100":
        return True
    return "database or disk is full" in str(exc.orig).lower()
