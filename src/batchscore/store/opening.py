"""Opening the database at a URL and bringing its schema up to date, with the driver's and
SQLAlchemy's errors translated into a ``StartupError`` that says which part is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from batchscore.errors import StartupError, StoreUnavailable, first_line
from batchscore.store.db import Database
from batchscore.store.migrate import startup_lock, upgrade


def open_database(url: str) -> Database:
    """Open and migrate the database at ``url``; ``StartupError`` saying which part of the
    URL or the connection is wrong."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise StartupError(
            "BATCHSCORE_DATABASE_URL is not a database URL (expected sqlite:///path or "
            "postgresql+psycopg://user:password@host:5432/name)."
        ) from None
    try:
        db = Database.from_url(url)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise StartupError(
            f"BATCHSCORE_DATABASE_URL {shown} cannot be opened: {first_line(exc)} (supported: "
            "sqlite:///path and postgresql+psycopg://...)."
        ) from None
    try:
        upgrade(db.engine)
    except (DBAPIError, StoreUnavailable, OSError) as exc:
        db.dispose()
        raise StartupError(f"cannot use the database at {shown}: {first_line(exc)}") from None
    return db


@contextmanager
def migrated_database(url: str) -> Iterator[Database]:
    """The database at ``url`` with its schema up to date, disposed of on leaving (the
    one-shot commands: ``import``, ``user``)."""
    db = Database.from_url(url)
    try:
        upgrade(db.engine)
        yield db
    finally:
        db.dispose()


@contextmanager
def startup_work(db: Database) -> Iterator[None]:
    """Serialise start-up work (first admin, demo) of instances sharing one database."""
    with startup_lock(db.engine):
        yield
