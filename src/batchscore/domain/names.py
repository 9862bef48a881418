"""The bounds of every name the service stores (tenants, users, models, jobs), in one place.

The database columns are declared from these lengths (``store/tables.py``), and every name is
checked here before it reaches a backend, so SQLite (which does not enforce a column's length)
and PostgreSQL (which refuses with a driver error) behave alike.
"""

from __future__ import annotations

import re

MAX_TENANT = 64
"""Characters of a tenant id."""
MAX_NAME = 255
"""Characters of a user, model or job name (and of a job's model reference)."""

_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def tenant_problem(tenant: str) -> str | None:
    """Why ``tenant`` cannot be a tenant id, or None: letters, digits, ``.``, ``_``, ``-``,
    starting with a letter or digit (it sits before the ``/`` of ``tenant/user`` logins)."""
    if not tenant:
        return "The tenant must not be empty."
    if len(tenant) > MAX_TENANT:
        return f"The tenant must be at most {MAX_TENANT} characters long."
    if not _TENANT.fullmatch(tenant):
        return (
            "The tenant may hold only letters, digits, '.', '_' and '-', "
            "and must start with a letter or digit."
        )
    return None


def user_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a user name, or None (``:`` ends the name in a Basic login)."""
    if not name or not name.strip():
        return "The user name must not be empty."
    if len(name) > MAX_NAME:
        return f"The user name must be at most {MAX_NAME} characters long."
    if ":" in name:
        return "The user name must not contain ':'."
    if name != name.strip() or _CONTROL.search(name):
        return "The user name must not hold control characters or surrounding spaces."
    return None


def model_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a model's name, or None: a model must be addressable as one path
    segment (``/model/{name}``), so ``/``, ``.`` and ``..`` are out."""
    if not name.strip():
        return "The model name must not be empty."
    if len(name) > MAX_NAME:
        return f"The model name must be at most {MAX_NAME} characters long."
    if "/" in name or name in (".", ".."):
        return "The model name must not contain '/' or be '.' or '..'."
    if _CONTROL.search(name):
        return "The model name must not contain control characters."
    return None


def fits(name: str, limit: int = MAX_NAME) -> bool:
    """True if ``name`` could be stored at all: looking up a longer name finds nothing."""
    return len(name) <= limit and "\x00" not in name
