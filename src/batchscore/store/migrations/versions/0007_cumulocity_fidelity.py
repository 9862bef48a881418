"""Cumulocity fidelity: ids never reused, measurements with ids, alarms, events, owners, child
devices

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000

- SQLite tables with generated ids are rebuilt with AUTOINCREMENT, so a deleted id is never handed
  out again (PostgreSQL's sequences never reused one). An id deleted before this migration and
  above every id still present can be handed out once more; nothing records it.
- ``measurements`` held one row per value; a second measurement with the same source and time
  was dropped. It becomes ``measurement_values`` (the projection executions scan, the measurement
  id ending its key), beside a new ``measurements`` table with one row per measurement (id,
  source, time, type, fragments as posted). Existing values are grouped into measurements by
  (device, time, type), as the API showed them.
- ``child_assets`` becomes ``child_references`` with a ``kind`` (``asset`` or ``device``).
- ``managed_objects.owner`` and two lookup indexes; new tables ``alarms`` and ``events``.
- SQLite stored a fragment of ``1e400`` as ``Infinity`` (PostgreSQL's json refused it), which
  made every later listing of the tenant's objects fail: such numbers become ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REBUILT = ("users", "models", "managed_objects", "jobs", "executions")
BATCH = 5000


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        for name in REBUILT:
            with op.batch_alter_table(
                name, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass

    with op.batch_alter_table("managed_objects") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=255), nullable=True))
        batch.create_index(batch.f("ix_managed_objects_tenant_id_type"), ["tenant_id", "type"])
        batch.create_index(batch.f("ix_managed_objects_tenant_id_name"), ["tenant_id", "name"])

    _child_references()
    _measurements(sqlite)
    _alarms_and_events()
    if sqlite:
        _repair_non_finite(bind)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _repair_non_finite(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT id, CAST(fragments AS TEXT) FROM managed_objects WHERE "
            "CAST(fragments AS TEXT) LIKE '%Infinity%' OR CAST(fragments AS TEXT) LIKE '%NaN%'"
        )
    ).all()
    for object_id, text in rows:
        repaired = _dumps(_finite(json.loads(text)))
        if repaired != text:
            bind.execute(
                sa.text("UPDATE managed_objects SET fragments = :f WHERE id = :id"),
                {"f": repaired, "id": object_id},
            )


def _child_references() -> None:
    op.create_table(
        "child_references",
        sa.Column("parent_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("child_id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["managed_objects.id"],
            name=op.f("fk_child_references_parent_id_managed_objects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["managed_objects.id"],
            name=op.f("fk_child_references_child_id_managed_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("parent_id", "kind", "child_id", name=op.f("pk_child_references")),
    )
    op.create_index(
        op.f("ix_child_references_child_id_kind"), "child_references", ["child_id", "kind"]
    )
    op.execute(
        "INSERT INTO child_references (parent_id, kind, child_id, tenant_id, created_at) "
        "SELECT parent_id, 'asset', child_id, tenant_id, created_at FROM child_assets"
    )
    op.drop_index(op.f("ix_child_assets_child_id"), table_name="child_assets")
    op.drop_table("child_assets")


def _measurements(sqlite: bool) -> None:
    bind = op.get_bind()
    op.rename_table("measurements", "measurements_v1")
    if not sqlite:  # constraint names are index names on PostgreSQL, unique per schema
        op.execute("ALTER TABLE measurements_v1 RENAME CONSTRAINT pk_measurements TO pk_v1")
    op.create_table(
        "measurements",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("time_ns", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("fragments", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurements")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "measurement_values",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fragment", sa.String(length=255), nullable=False),
        sa.Column("series", sa.String(length=255), nullable=False),
        sa.Column("time_ns", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("measurement_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "device_id",
            "fragment",
            "series",
            "time_ns",
            "measurement_id",
            name=op.f("pk_measurement_values"),
        ),
        sqlite_with_rowid=False,
    )
    last = _copy_measurements(bind)
    if not sqlite and last:
        op.execute(f"SELECT setval(pg_get_serial_sequence('measurements', 'id'), {last})")
    op.drop_table("measurements_v1")
    op.create_index(
        op.f("ix_measurements_tenant_id_device_id_time_ns_id"),
        "measurements",
        ["tenant_id", "device_id", "time_ns", "id"],
    )
    op.create_index(
        op.f("ix_measurements_tenant_id_time_ns_id"), "measurements", ["tenant_id", "time_ns", "id"]
    )


def _old_rows(bind: sa.Connection) -> Iterator[Any]:
    """The old value rows grouped by measurement, in the order of their index (0004)."""
    # Options on the statement, not the connection: the inserts must not run on a server-side
    # cursor too (Connection.execution_options changes the connection itself).
    query = sa.text(
        "SELECT tenant_id, device_id, time_ns, type, fragment, series, value, unit "
        "FROM measurements_v1 ORDER BY tenant_id, device_id, time_ns, type"
    ).execution_options(stream_results=True, yield_per=BATCH)
    result = bind.execute(query)
    yield from result


def _copy_measurements(bind: sa.Connection) -> int:
    """Copies the old values into measurements (ids 1, 2, ... in time order per device) and
    measurement values; returns the last id used."""
    docs: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    key: tuple[Any, ...] | None = None
    fragments: dict[str, dict[str, Any]] = {}
    next_id = 0
    insert_docs = sa.text(
        "INSERT INTO measurements (id, tenant_id, device_id, time_ns, type, fragments) "
        "VALUES (:id, :tenant_id, :device_id, :time_ns, :type, :fragments)"
    )
    insert_values = sa.text(
        "INSERT INTO measurement_values (tenant_id, device_id, fragment, series, time_ns, "
        "measurement_id, value, unit) VALUES (:tenant_id, :device_id, :fragment, :series, "
        ":time_ns, :measurement_id, :value, :unit)"
    )

    def close() -> None:
        if key is not None:
            tenant, device, time_ns, type_ = key
            docs.append(
                {
                    "id": next_id,
                    "tenant_id": tenant,
                    "device_id": device,
                    "time_ns": time_ns,
                    "type": type_ or next(iter(fragments)),
                    "fragments": _dumps(fragments),
                }
            )

    def flush() -> None:
        if docs:
            bind.execute(insert_docs, docs)
            docs.clear()
        if values:
            bind.execute(insert_values, values)
            values.clear()

    for tenant, device, time_ns, type_, fragment, series, value, unit in _old_rows(bind):
        if (tenant, device, time_ns, type_) != key:
            close()
            if len(docs) >= BATCH:
                flush()
            key, fragments = (tenant, device, time_ns, type_), {}
            next_id += 1
        entry: dict[str, Any] = {"value": value}
        if unit is not None:
            entry["unit"] = unit
        fragments.setdefault(fragment, {})[series] = entry
        values.append(
            {
                "tenant_id": tenant,
                "device_id": device,
                "fragment": fragment,
                "series": series,
                "time_ns": time_ns,
                "measurement_id": next_id,
                "value": value,
                "unit": unit,
            }
        )
    close()
    flush()
    return next_id


def _alarms_and_events() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("time_ns", sa.BigInteger(), nullable=False),
        sa.Column("first_ns", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fragments", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_alarms_open",
        "alarms",
        ["tenant_id", "source_id", "type"],
        unique=True,
        sqlite_where=sa.text("status <> 'CLEARED'"),
        postgresql_where=sa.text("status <> 'CLEARED'"),
    )
    op.create_index(
        op.f("ix_alarms_tenant_id_source_id_time_ns_id"),
        "alarms",
        ["tenant_id", "source_id", "time_ns", "id"],
    )
    op.create_index(
        op.f("ix_alarms_tenant_id_time_ns_id"), "alarms", ["tenant_id", "time_ns", "id"]
    )
    op.create_table(
        "events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("time_ns", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fragments", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_events_tenant_id_source_id_time_ns_id"),
        "events",
        ["tenant_id", "source_id", "time_ns", "id"],
    )
    op.create_index(
        op.f("ix_events_tenant_id_time_ns_id"), "events", ["tenant_id", "time_ns", "id"]
    )


def downgrade() -> None:
    raise NotImplementedError(
        "0007 cannot be undone: measurements posted since carry ids and fragments the old "
        "schema cannot hold. Restore a backup taken before the upgrade instead."
    )
