"""What the alarm and event use cases share: source checks, fragment merging and budget."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from batchscore.domain.documents import object_id
from batchscore.errors import Invalid, NotFound, PayloadTooLarge
from batchscore.store import inventory as inventory_repo


def require_source(conn: Connection, tenant: str, source: int) -> None:
    if inventory_repo.get_object(conn, tenant, source) is None:
        raise Invalid(f"source: managed object '{source}' not found.")


def merge_fragments(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """A PUT's fragments: each one sent replaces the stored one, ``null`` removes it."""
    out = dict(current)
    for key, value in change.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def check_budget(fragments: dict[str, Any], budget: int, what: str) -> None:
    size = len(json.dumps(fragments, ensure_ascii=False, separators=(",", ":")).encode())
    if size > budget:
        raise PayloadTooLarge(
            f"The fragments of {what} may take at most {budget} bytes as JSON; these would "
            f"take {size}."
        )


def parse_id(text: str | int, what: str) -> int:
    parsed = object_id(text)
    if parsed is None:
        raise not_found(what, text)
    return parsed


def not_found(what: str, text: str | int) -> NotFound:
    return NotFound(f"{what} with id '{str(text)[:40]}' not found.")
