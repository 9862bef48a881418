"""User administration: the first admin and `batchscore user add`."""

from __future__ import annotations

from dataclasses import dataclass

from batchscore.clock import Clock
from batchscore.domain.roles import Role
from batchscore.passwords import generate_password, hash_password
from batchscore.store import users as repo
from batchscore.store.db import Database


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    tenant: str
    user: str
    password: str | None  # set only when it was generated now and must be shown once
    created: bool


def ensure_first_admin(
    db: Database, clock: Clock, tenant: str, user: str, password: str | None
) -> FirstAdmin:
    """Create the first admin if there are no users; a configured password is (re)applied."""
    with db.read() as conn:
        has_users = repo.count_users(conn) > 0
        existing = repo.get_user(conn, tenant, user)
    if password is not None:
        add_user(db, clock, tenant, user, password, frozenset({Role.ML_ADMIN}))
        return FirstAdmin(tenant, user, None, existing is None)
    if has_users:
        return FirstAdmin(tenant, user, None, False)
    generated = generate_password()
    add_user(db, clock, tenant, user, generated, frozenset({Role.ML_ADMIN}))
    return FirstAdmin(tenant, user, generated, True)


def add_user(
    db: Database, clock: Clock, tenant: str, user: str, password: str, roles: frozenset[Role]
) -> bool:
    """Create or update a user; True if created."""
    hashed = hash_password(password)
    with db.write() as conn:
        return repo.upsert_user(conn, tenant, user, hashed, roles, clock.now())
