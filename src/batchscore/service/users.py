"""User administration: the first admin and `batchscore user add|passwd|delete|list`.

Names are checked against ``domain/names.py`` and passwords against the policy of
``domain/password_policy.py`` before anything is stored. Changing a user's password or roles,
or deleting the user, ends their console sessions at once and moves the tenant's
``credentials_version``, which makes every process drop the API logins it cached for the tenant
(within ``REVOCATION_CHECK_S``, see ``service/auth.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from batchscore.clock import Clock
from batchscore.domain.names import tenant_problem, user_name_problem
from batchscore.domain.password_policy import password_problems
from batchscore.domain.roles import Role
from batchscore.errors import Invalid, NotFound
from batchscore.passwords import generate_password, hash_password, verify_password
from batchscore.store import sessions as sessions_repo
from batchscore.store import users as repo
from batchscore.store.db import Database


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    tenant: str
    user: str
    password: str | None  # set only when it was generated now and must be shown once
    created: bool


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A user as `batchscore user list` shows it (never the password hash)."""

    tenant: str
    name: str
    roles: frozenset[Role]
    created_at: datetime


def check_names(tenant: str, user: str) -> None:
    """Refuse a tenant or user name that could not be stored or logged in with."""
    problems = [p for p in (tenant_problem(tenant), user_name_problem(user)) if p]
    if problems:
        raise Invalid.collect(problems)


def check_password(password: str, tenant: str, user: str) -> None:
    """Refuse a password against the policy stated in SECURITY.md."""
    if problems := password_problems(password, user, tenant):
        raise Invalid.collect(problems)


def ensure_first_admin(
    db: Database, clock: Clock, tenant: str, user: str, password: str | None
) -> FirstAdmin:
    """Create the first admin if there are no users; a configured password is (re)applied
    unless the admin already has it (so a restart does not end the admin's sessions)."""
    with db.read() as conn:
        has_users = repo.count_users(conn) > 0
        existing = repo.get_user(conn, tenant, user)
    if password is not None:
        if (
            existing is not None
            and Role.ML_ADMIN in existing.roles
            and verify_password(existing.password_hash, password)
        ):
            return FirstAdmin(tenant, user, None, False)
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
    """Create or update a user; True if created. An update ends the user's sessions."""
    check_names(tenant, user)
    check_password(password, tenant, user)
    hashed = hash_password(password)
    with db.write() as conn:
        created = repo.upsert_user(conn, tenant, user, hashed, roles, clock.now())
        if not created:
            _revoke(conn, tenant, user)
    return created


def set_password(db: Database, tenant: str, user: str, password: str) -> None:
    """Give an existing user a new password and end their sessions and cached logins."""
    check_password(password, tenant, user)
    hashed = hash_password(password)
    with db.write() as conn:
        if not repo.set_password(conn, tenant, user, hashed):
            raise user_not_found(tenant, user)
        _revoke(conn, tenant, user)


def delete_user(db: Database, tenant: str, user: str) -> None:
    """Delete a user with their sessions; their cached logins end too."""
    with db.write() as conn:
        if not repo.delete_user(conn, tenant, user):  # sessions go by ON DELETE CASCADE
            raise user_not_found(tenant, user)
        repo.bump_credentials(conn, tenant)


def list_users(db: Database, tenant: str | None = None) -> list[UserSummary]:
    with db.read() as conn:
        records = repo.list_users(conn, tenant)
    return [UserSummary(r.tenant, r.name, r.roles, r.created_at) for r in records]


def user_not_found(tenant: str, user: str) -> NotFound:
    return NotFound(f"The user '{user}' of tenant '{tenant}' does not exist.")


def _revoke(conn: Connection, tenant: str, user: str) -> None:
    record = repo.get_user(conn, tenant, user)
    if record is not None:
        sessions_repo.delete_user_sessions(conn, record.id)
    repo.bump_credentials(conn, tenant)
