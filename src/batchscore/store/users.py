"""Tenants and users, and the per-tenant number that moves when credentials change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from batchscore.domain.roles import Role
from batchscore.store.tables import tenants, users


@dataclass(frozen=True, slots=True)
class UserRecord:
    tenant: str
    name: str
    password_hash: str
    roles: frozenset[Role]
    id: int
    created_at: datetime


_COLUMNS = (
    users.c.id,
    users.c.tenant_id,
    users.c.name,
    users.c.password_hash,
    users.c.roles,
    users.c.created_at,
)


def _record(row: Any) -> UserRecord:
    return UserRecord(
        tenant=row.tenant_id,
        name=row.name,
        password_hash=row.password_hash,
        roles=frozenset(Role(r) for r in row.roles),
        id=int(row.id),
        created_at=row.created_at,
    )


def ensure_tenant(conn: Connection, tenant: str, now: datetime) -> None:
    exists = conn.execute(select(tenants.c.id).where(tenants.c.id == tenant)).first()
    if exists is None:
        conn.execute(insert(tenants).values(id=tenant, created_at=now))


def get_user(conn: Connection, tenant: str, name: str) -> UserRecord | None:
    row = conn.execute(
        select(*_COLUMNS).where(users.c.tenant_id == tenant, users.c.name == name)
    ).first()
    return _record(row) if row is not None else None


def list_users(conn: Connection, tenant: str | None) -> list[UserRecord]:
    query = select(*_COLUMNS).order_by(users.c.tenant_id, users.c.name)
    if tenant is not None:
        query = query.where(users.c.tenant_id == tenant)
    return [_record(row) for row in conn.execute(query)]


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


def set_password(conn: Connection, tenant: str, name: str, password_hash: str) -> bool:
    updated = conn.execute(
        update(users)
        .where(users.c.tenant_id == tenant, users.c.name == name)
        .values(password_hash=password_hash)
    )
    return bool(updated.rowcount)


def delete_user(conn: Connection, tenant: str, name: str) -> bool:
    """Delete the user (its console sessions go with it); True if it existed."""
    deleted = conn.execute(delete(users).where(users.c.tenant_id == tenant, users.c.name == name))
    return bool(deleted.rowcount)


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def bump_credentials(conn: Connection, tenant: str) -> None:
    """Tell every process that logins of ``tenant`` it has cached may no longer hold."""
    conn.execute(
        update(tenants)
        .where(tenants.c.id == tenant)
        .values(credentials_version=tenants.c.credentials_version + 1)
    )


def credentials_versions(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(tenants.c.id, tenants.c.credentials_version))
    return {row.id: int(row.credentials_version) for row in rows}


def credentials_version(conn: Connection, tenant: str) -> int:
    found = conn.execute(
        select(tenants.c.credentials_version).where(tenants.c.id == tenant)
    ).scalar()
    return int(found or 0)
