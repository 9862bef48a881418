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

from batchscore.composition.database import open_database
from batchscore.errors import BatchscoreError, first_line

__all__ = ["EXIT_STARTUP", "describe", "open_database", "startup"]

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
