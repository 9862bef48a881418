"""Tenants and users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from batchscore.domain.roles import Role
from batchscore.store.tables import tenants, users


@dataclass(frozen=True, slots=True)
class UserRecord:
    tenant: str
    name: str
    password_hash: str
    roles: frozenset[Role]


def ensure_tenant(conn: Connection, tenant: str, now: datetime) -> None:
    exists = conn.execute(select(tenants.c.id).where(tenants.c.id == tenant)).first()
    if exists is None:
        conn.execute(insert(tenants).values(id=tenant, created_at=now))


def tenant_exists(conn: Connection, tenant: str) -> bool:
    return conn.execute(select(tenants.c.id).where(tenants.c.id == tenant)).first() is not None


def get_user(conn: Connection, tenant: str, name: str) -> UserRecord | None:
    row = conn.execute(
        select(users.c.password_hash, users.c.roles).where(
            users.c.tenant_id == tenant, users.c.name == name
        )
    ).first()
    if row is None:
        return None
    return UserRecord(tenant, name, row.password_hash, frozenset(Role(r) for r in row.roles))


def upsert_user(
    conn: Connection,
    tenant: str,
    name: str,
    password_hash: str,
    roles: frozenset[Role],
    now: datetime,
) -> bool:
    """Create the user or replace its password and roles; True if it was created."""
    ensure_tenant(conn, tenant, now)
    role_list = sorted(r.value for r in roles)
    updated = conn.execute(
        update(users)
        .where(users.c.tenant_id == tenant, users.c.name == name)
        .values(password_hash=password_hash, roles=role_list)
    )
    if updated.rowcount:
        return False
    conn.execute(
        insert(users).values(
            tenant_id=tenant,
            name=name,
            password_hash=password_hash,
            roles=role_list,
            created_at=now,
        )
    )
    return True


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())
