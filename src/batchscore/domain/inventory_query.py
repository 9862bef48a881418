"""Cumulocity's inventory query language, the subset batchscore answers: pure parsing.

``$filter=has(c8y_IsDevice) and bygroupid(12)``; the ``$filter=`` prefix is optional and
parentheses may wrap any term. Terms combine with ``and`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchscore.errors import Invalid

MAX_QUERY = 1000
MAX_TERMS = 16

_TOKEN = re.compile(r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")
_ARGUMENT = re.compile(r"\s*(?P<arg>[A-Za-z0-9_]+)\s*\)")


@dataclass(frozen=True, slots=True)
class Has:
    """Objects carrying the fragment ``name``."""

    fragment: str


@dataclass(frozen=True, slots=True)
class ByGroupId:
    """Direct child assets of the group ``group_id``."""

    group_id: int


Term = Has | ByGroupId


def parse_query(text: str) -> tuple[Term, ...]:
    """Parse a query into terms that must all hold; raise ``Invalid`` naming what is wrong."""
    if len(text) > MAX_QUERY:
        raise Invalid(f"query: longer than {MAX_QUERY} characters.")
    body = text.strip()
    if body.startswith("$filter="):
        body = body[len("$filter=") :]
    terms: list[Term] = []
    pos, depth, expect_term = 0, 0, True
    while True:
        match = _TOKEN.match(body, pos)
        if match is None:
            if body[pos:].strip():
                raise _unparseable(text, body[pos:].strip())
            break
        pos = match.end()
        if match["open"]:
            if not expect_term:
                raise _unparseable(text, "(")
            depth += 1
        elif match["close"]:
            if expect_term or depth == 0:
                raise _unparseable(text, ")")
            depth -= 1
        elif expect_term:
            pos = _term(text, body, pos, match["word"], terms)
            expect_term = False
        elif match["word"].lower() == "and":
            expect_term = True
        else:
            raise _unparseable(text, match["word"])
    if expect_term or depth != 0 or not terms:
        raise Invalid(
            f"query: {text[:120]!r} is incomplete; expected has(<fragment>) or "
            "bygroupid(<id>), joined with 'and'."
        )
    if len(terms) > MAX_TERMS:
        raise Invalid(f"query: at most {MAX_TERMS} terms.")
    return tuple(terms)


def _term(text: str, body: str, pos: int, word: str, terms: list[Term]) -> int:
    function = word.lower()
    if function not in ("has", "bygroupid") or not body[pos:].lstrip().startswith("("):
        raise _unparseable(text, word)
    pos = body.index("(", pos) + 1
    arg = _ARGUMENT.match(body, pos)
    if arg is None:
        raise Invalid(f"query: {word}(...) takes one name or id, in {text[:120]!r}.")
    if function == "has":
        terms.append(Has(arg["arg"]))
    elif arg["arg"].isdigit() and len(arg["arg"]) < 19:
        terms.append(ByGroupId(int(arg["arg"])))
    else:
        raise Invalid(f"query: bygroupid needs a numeric group id, not {arg['arg'][:40]!r}.")
    return arg.end()


def _unparseable(text: str, near: str) -> Invalid:
    return Invalid(
        f"query: cannot parse {text[:120]!r} near {near[:40]!r}; supported are "
        "has(<fragment>) and bygroupid(<id>), joined with 'and'."
    )
