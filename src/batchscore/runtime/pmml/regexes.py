"""Regular expressions from documents (``matches``, ``replace``, TextIndex), evaluated with a
time limit.

A document's pattern is untrusted: a pattern like ``(a|aa)+$`` backtracks for seconds on a
short text. Patterns run on the ``regex`` package with a timeout per value; a value that runs
out of time fails its row (:class:`PatternTimeout`), never the batch or the server.
"""

from __future__ import annotations

import re

import regex

from batchscore.errors import ModelError

TIMEOUT_S = 0.05
"""The time one pattern may spend on one value."""
TIMEOUTS_PER_BATCH = 3
"""After this many values of one batch ran out of time, a function's remaining values fail
without being tried, so a hostile pattern costs a batch at most about 0.15 s per function."""
Pattern = regex.Pattern[str]

_JAVA_GROUP = re.compile(r"\$(\d)")


class PatternTimeout(Exception):
    """A pattern ran out of time on a value."""


class TimeoutBudget:
    """Counts the values that ran out of time in one batch; once :data:`TIMEOUTS_PER_BATCH`
    did, :meth:`check` fails every further value at once."""

    def __init__(self) -> None:
        self.timeouts = 0

    def check(self) -> None:
        if self.timeouts >= TIMEOUTS_PER_BATCH:
            raise PatternTimeout

    def spent(self) -> None:
        self.timeouts += 1


def compile_pattern(pattern: str, *, ignore_case: bool = False) -> Pattern:
    """``pattern`` (Java/PCRE syntax, which ``regex`` reads) compiled; a ModelError if invalid."""
    flags = regex.V0 | (regex.IGNORECASE if ignore_case else 0)
    try:
        return regex.compile(pattern, flags)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise ModelError(f"Invalid PMML: unsupported regular expression {pattern!r}.") from exc


def literal(text: str, *, ignore_case: bool = False) -> Pattern:
    return compile_pattern(regex.escape(text), ignore_case=ignore_case)


def java_replacement(replacement: str) -> str:
    """A Java ``Matcher.replaceAll`` replacement (``$1``) in ``regex`` syntax (``\\1``)."""
    escaped = replacement.replace("\\", "\\\\")
    return _JAVA_GROUP.sub(r"\\\1", escaped)


def search(pattern: Pattern, text: str) -> bool:
    try:
        return pattern.search(text, timeout=TIMEOUT_S) is not None
    except TimeoutError as exc:
        raise PatternTimeout from exc


def substitute(pattern: Pattern, replacement: str, text: str) -> str:
    try:
        result: str = pattern.sub(replacement, text, timeout=TIMEOUT_S)
    except TimeoutError as exc:
        raise PatternTimeout from exc
    return result


def split(pattern: Pattern, text: str) -> list[tuple[int, int]]:
    """The spans of ``pattern``'s matches in ``text``."""
    try:
        return [m.span() for m in pattern.finditer(text, timeout=TIMEOUT_S)]
    except TimeoutError as exc:
        raise PatternTimeout from exc
