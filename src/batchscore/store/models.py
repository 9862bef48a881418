"""The model registry's table: bytes, checksum and declared fields per tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from batchscore.domain.models import ModelDescription, ModelField, StoredModel
from batchscore.errors import AlreadyExists
from batchscore.store.tables import models

_META = [c for c in models.c if c.name != "source"]


def _fields(raw: list[dict[str, Any]]) -> tuple[ModelField, ...]:
    return tuple(ModelField(**f) for f in raw)


def _from_row(row: Row[Any]) -> StoredModel:
    return StoredModel(
        tenant=row.tenant_id,
        name=row.name,
        description=row.description,
        kind=row.kind,
        sha256=row.sha256,
        size=row.size,
        is_active=row.is_active,
        created_at=row.created_at,
        inputs=_fields(row.input_fields),
        outputs=_fields(row.output_fields),
    )


def _field_dicts(fields: tuple[ModelField, ...]) -> list[dict[str, Any]]:
    return [
        {"name": f.name, "data_type": f.data_type, "op_type": f.op_type, "required": f.required}
        for f in fields
    ]


def insert_model(
    conn: Connection,
    tenant: str,
    desc: ModelDescription,
    source: bytes,
    sha256: str,
    now: datetime,
) -> StoredModel:
    """Insert a model; ``AlreadyExists`` if the tenant has one of that name (a concurrent
    upload won the race)."""
    try:
        conn.execute(
            insert(models).values(
                tenant_id=tenant,
                name=desc.name,
                description=desc.description,
                kind=desc.kind,
                sha256=sha256,
                size=len(source),
                source=source,
                input_fields=_field_dicts(desc.inputs),
                output_fields=_field_dicts(desc.outputs),
                is_active=True,
                created_at=now,
            )
        )
    except IntegrityError:
        raise AlreadyExists(f"A model named {desc.name!r} already exists.") from None
    found = get_model(conn, tenant, desc.name)
    assert found is not None
    return found


def get_model(conn: Connection, tenant: str, name: str) -> StoredModel | None:
    row = conn.execute(
        select(*_META).where(models.c.tenant_id == tenant, models.c.name == name)
    ).first()
    return _from_row(row) if row is not None else None


def get_source(conn: Connection, tenant: str, name: str) -> bytes | None:
    row = conn.execute(
        select(models.c.source).where(models.c.tenant_id == tenant, models.c.name == name)
    ).first()
    return bytes(row.source) if row is not None else None


def list_names(conn: Connection, tenant: str) -> list[str]:
    rows = conn.execute(
        select(models.c.name).where(models.c.tenant_id == tenant).order_by(models.c.id)
    )
    return [r.name for r in rows]


def list_models(conn: Connection, tenant: str) -> list[StoredModel]:
    rows = conn.execute(select(*_META).where(models.c.tenant_id == tenant).order_by(models.c.id))
    return [_from_row(row) for row in rows]


def set_active(conn: Connection, tenant: str, name: str, active: bool) -> bool:
    result = conn.execute(
        update(models)
        .where(models.c.tenant_id == tenant, models.c.name == name)
        .values(is_active=active)
    )
    return bool(result.rowcount)


def delete_model(conn: Connection, tenant: str, name: str) -> bool:
    result = conn.execute(delete(models).where(models.c.tenant_id == tenant, models.c.name == name))
    return bool(result.rowcount)


def delete_all(conn: Connection, tenant: str) -> None:
    conn.execute(delete(models).where(models.c.tenant_id == tenant))


def active_states(conn: Connection, tenant: str) -> dict[str, bool]:
    """Whether each of the tenant's models is active, by name, in upload order."""
    rows = conn.execute(
        select(models.c.name, models.c.is_active)
        .where(models.c.tenant_id == tenant)
        .order_by(models.c.id)
    )
    return {r.name: bool(r.is_active) for r in rows}
