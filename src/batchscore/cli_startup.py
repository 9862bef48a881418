"""Startup errors of the long-running commands: one clear line on stderr and exit code 2
(design §3.7); the traceback only with ``BATCHSCORE_LOG_LEVEL=DEBUG``.

A wrong database URL, a database that does not answer, a port in use or a bad setting are the
operator's to fix, and the cause belongs on the one line a supervisor shows, not after pages
of traceback.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from batchscore.errors import BatchscoreError, StartupError, StoreUnavailable
from batchscore.store.db import Database
from batchscore.store.migrate import upgrade

EXIT_STARTUP = 2


@contextmanager
def startup(command: str) -> Iterator[None]:
    """Turn any error raised inside into one line ``batchscore COMMAND: cannot start: ...``
    and exit code 2."""
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:
        if os.environ.get("BATCHSCORE_LOG_LEVEL", "").upper() == "DEBUG":
            traceback.print_exc()
        sys.stderr.write(f"batchscore {command}: cannot start: {describe(exc)}\n")
        sys.stderr.flush()
        raise typer.Exit(EXIT_STARTUP) from None


def describe(exc: BaseException) -> str:
    """One sentence saying what is wrong, for the errors an operator can cause."""
    if isinstance(exc, ValidationError):
        return "; ".join(_setting_problem(e) for e in exc.errors()[:5]) + "."
    if isinstance(exc, BatchscoreError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return "the address is already in use (is another process listening on the port?)."
    return f"{type(exc).__name__}: {first_line(exc)}"


def _setting_problem(error: object) -> str:
    assert isinstance(error, dict)
    location = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ").rstrip(".")
    if not location:
        return message
    name = "BATCHSCORE_" + location[0].upper()
    given = error.get("input")
    shown = f" (got {str(given)[:80]!r})" if isinstance(given, str | int | float) else ""
    return f"{name}: {message}{shown}"


def first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return (lines[0] if lines else type(cause).__name__)[:300]


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
