"""Query parameters of the Cumulocity-style routes: strict (a parameter a route does not know is
a 422 naming it, never a silently ignored filter), and Cumulocity's formats for ids, instants
and lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from batchscore.domain.documents import object_id
from batchscore.domain.inventory import Hierarchy
from batchscore.domain.measurements import from_ns, to_ns
from batchscore.domain.timefmt import parse_query_instant
from batchscore.errors import Invalid

NS_MIN, NS_MAX = -(2**63), 2**63 - 1
MAX_LIST = 100

# Parameters clients send that are no filter, accepted and ignored by name and value:
# c8y-api 3.7's ``Alarms.select`` passes Python's builtin ``filter`` on as a parameter (its
# text is ``<class 'filter'>``).
_CLIENT_QUIRKS = {("filter", "<class 'filter'>")}
_known: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> set[str]:
    """The query parameters a route declares, its dependencies' included."""
    names = {p.alias for p in getattr(dependant, "query_params", [])}
    for sub in getattr(dependant, "dependencies", []):
        names |= _query_names(sub)
    return names


def _declared(route: Any) -> frozenset[str]:
    key = id(route)
    if key not in _known:
        _known[key] = frozenset(_query_names(getattr(route, "dependant", None)))
    return _known[key]


def strict_query(request: Request) -> None:
    """Refuse query parameters the matched route does not declare (a dependency of every
    Cumulocity-style router)."""
    route = request.scope.get("route")
    if route is None:
        return
    known = _declared(route)
    unknown = [
        key
        for key, value in request.query_params.multi_items()
        if key not in known and (key, value) not in _CLIENT_QUIRKS
    ]
    if unknown:
        names = ", ".join(dict.fromkeys(k[:40] for k in unknown))
        raise Invalid(f"{names}: not supported here; no such query parameter is known.")


def instant_ns(text: str | None, name: str) -> int | None:
    """An instant parameter (ISO-8601 with offset, or a date alone) as epoch nanoseconds."""
    if text is None:
        return None
    try:
        time_ns = to_ns(parse_query_instant(text))
    except (ValueError, TypeError):
        raise Invalid(
            f"{name}: {text[:64]!r} is neither ISO-8601 with a UTC offset nor a date (YYYY-MM-DD)."
        ) from None
    # Stored times are 64-bit nanoseconds (years 1677-2262); a bound past them selects as
    # much as the extreme value does, and would overflow the database's integer.
    return min(max(time_ns, NS_MIN), NS_MAX)


def instant(text: str | None, name: str) -> datetime | None:
    """An instant parameter as an aware UTC datetime (for creation and update times)."""
    time_ns = instant_ns(text, name)
    return None if time_ns is None else from_ns(max(time_ns, 0))


def source_below(
    source: str | None, with_assets: bool, with_devices: bool
) -> tuple[int | None, tuple[Hierarchy, ...]]:
    """``source`` and the hierarchies below it that ``withSourceAssets``/``withSourceDevices``
    add (Cumulocity requires a source with them)."""
    source_id = id_param(source, "source")
    below = tuple(
        kind
        for kind, wanted in ((Hierarchy.ASSET, with_assets), (Hierarchy.DEVICE, with_devices))
        if wanted
    )
    if below and source_id is None:
        raise Invalid("withSourceAssets, withSourceDevices: need a source.")
    return source_id, below


def id_param(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    parsed = object_id(text)
    if parsed is None:
        raise Invalid(f"{name}: {text[:40]!r} is not a managed object id.")
    return parsed


def text_list(text: str | None, name: str) -> tuple[str, ...] | None:
    """A comma-separated list (``type=a,b``), as Cumulocity takes several values."""
    if text is None:
        return None
    parts = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not parts or len(parts) > MAX_LIST:
        raise Invalid(f"{name}: a comma-separated list of 1 to {MAX_LIST} values.")
    return parts
