"""SQLAlchemy Core tables: the schema of record. Alembic migrations must produce exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

from batchscore.domain.names import MAX_NAME, MAX_TENANT


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every backend (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Tenant ids and the names of users, models and jobs' models: bounded in domain/names.py.
Tenant = String(MAX_TENANT)
Name = String(MAX_NAME)

# BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")
# Ids are never reused (``sqlite_autoincrement=True`` below): PostgreSQL's sequences never hand
# a number out twice, and on SQLite AUTOINCREMENT keeps the largest id ever used (in
# sqlite_sequence) instead of taking max(id) + 1, so a client holding the id of a deleted
# resource never reads another one under it.

tenants = Table(
    "tenants",
    metadata,
    Column("id", Tenant, primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # Bumped in every transaction that changes how the tenant's jobs look in the API (create,
    # delete, a finished execution), so a job list can be served again while it is unchanged.
    Column("jobs_version", BigInteger, nullable=False, server_default="0"),
    # Bumped whenever a user of the tenant is deleted or changes password or roles: every
    # process drops the logins it cached for the tenant when it sees the number move.
    Column("credentials_version", BigInteger, nullable=False, server_default="0"),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Tenant, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", Name, nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "name"),
    sqlite_autoincrement=True,
)

# Console sign-ins, so that signing out, deleting a user or changing a password ends them on the
# server (the cookie alone would stay valid until it expires). The id is the SHA-256 of the
# secret the signed cookie carries, never the secret itself.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index(None, "user_id"),
)

models = Table(
    "models",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Tenant, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", Name, nullable=False),
    Column("description", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("source", LargeBinary, nullable=False),
    Column("input_fields", JSON, nullable=False),
    Column("output_fields", JSON, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "name"),
    sqlite_autoincrement=True,
)

managed_objects = Table(
    "managed_objects",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Tenant, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=True),
    Column("type", String(255), nullable=True),
    Column("owner", String(255), nullable=True),
    Column("is_device", Boolean, nullable=False),
    Column("is_group", Boolean, nullable=False),
    # Every other field as sent, never holding a non-finite number (the JSON serializer of
    # store.engine refuses them), so it can be spliced into a response as it is stored.
    Column("fragments", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index(None, "tenant_id", "is_device"),
    Index(None, "tenant_id", "type"),
    Index(None, "tenant_id", "name"),
    sqlite_autoincrement=True,
)

# Cumulocity's two hierarchies: child assets (groups and what they hold; jobs resolve a group's
# devices through them) and child devices (a gateway and the devices behind it).
child_references = Table(
    "child_references",
    metadata,
    Column("parent_id", Id, ForeignKey("managed_objects.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("child_id", Id, ForeignKey("managed_objects.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant_id", Tenant, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "child_id", "kind"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Tenant, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("model_name", Name, nullable=False),
    Column("target_id", BigInteger, nullable=False),
    # Canonical mapping (model input -> "fragment.series.value") and the mapping as sent.
    Column("mappings", JSON, nullable=False),
    Column("mappings_sent", JSON, nullable=False),
    Column("schedule", JSON, nullable=False),
    Column("next_fire_at", UtcDateTime(), nullable=True),
    Column("last_status", String(16), nullable=True),
    Column("last_duration_ms", BigInteger, nullable=True),
    Column("execution_count", Integer, nullable=False, default=0),
    # Design §2.9: rules (webhook secrets included) and write-back; NULL for jobs without.
    Column("actions", JSON, nullable=True),
    Column("write_back", JSON, nullable=True),
    # Bumped by every edit, pause and resume (design §2.8): part of the job's listing stamp.
    Column("version", Integer, nullable=False, server_default="0"),
    # Null until the job is paused once (``paused`` stays absent from its JSON until then).
    # A paused job has no next_fire_at; resume_fire_at keeps the first instant it did not fire.
    Column("paused", Boolean, nullable=True),
    Column("resume_fire_at", UtcDateTime(), nullable=True),
    Index(None, "tenant_id", "id"),
    Index(None, "next_fire_at"),
    sqlite_autoincrement=True,
)

# A job's backfill (at most one per job): the range, how many schedule instants it holds, and the
# next instant to create an execution for (null once every instant has one, or cancelled).
# Any scheduler instance advances it, under a row lock, so its progress lives here only.
backfills = Table(
    "backfills",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", Tenant, nullable=False),
    Column("range_from", UtcDateTime(), nullable=False),
    Column("range_to", UtcDateTime(), nullable=False),
    Column("instants", Integer, nullable=False),
    Column("next_at", UtcDateTime(), nullable=True),
    Column("created", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("cancelled_at", UtcDateTime(), nullable=True),
    UniqueConstraint("job_id"),
    Index(None, "next_at"),
    sqlite_autoincrement=True,
)

executions = Table(
    "executions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", Tenant, nullable=False),
    Column("number", Integer, nullable=False),
    Column("scheduled_at", UtcDateTime(), nullable=False),
    Column("window_from", UtcDateTime(), nullable=True),
    Column("window_to", UtcDateTime(), nullable=True),
    Column("is_group", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("messages", JSON, nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("duration_ms", BigInteger, nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("record_count", BigInteger, nullable=False, default=0),
    # The definition the execution ran with (null for executions before 0008 and for one that
    # failed before its model was resolved).
    Column("model_name", Name, nullable=True),
    Column("model_sha256", String(64), nullable=True),
    Column("model_mappings", JSON, nullable=True),
    # Set on the executions a backfill created (design §2.8); no foreign key: a backfill row
    # replaced by a newer one of its job leaves its executions as they are.
    Column("backfill_id", BigInteger, nullable=True),
    UniqueConstraint("job_id", "number"),
    UniqueConstraint("job_id", "scheduled_at"),
    Index(None, "status", "lease_until"),
    sqlite_autoincrement=True,
)

# One row per live process that owns executions (`serve`, `scheduler`, `job run`), so that
# instances can tell a crashed one from a slow one: each beats every few seconds, and one
# silent for longer than the dead-after setting is taken for dead (its executions taken over).
instances = Table(
    "instances",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("heartbeat_at", UtcDateTime(), nullable=False),
    Index(None, "heartbeat_at"),
)

inference_chunks = Table(
    "inference_chunks",
    metadata,
    Column("execution_id", Id, ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    Column("row_start", BigInteger, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

# One row per measurement as the API knows it: its own id (never reused), source, time, type and
# every fragment as posted. Every POST is a new row, also when source, time and type repeat.
measurements = Table(
    "measurements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Tenant, nullable=False),
    Column("device_id", BigInteger, nullable=False),
    Column("time_ns", BigInteger, nullable=False),
    Column("type", String(255), nullable=False),
    Column("fragments", JSON, nullable=False),
    # A source's measurements by time (the API's usual query and the connector's), and a tenant's.
    Index(None, "tenant_id", "device_id", "time_ns", "id"),
    Index(None, "tenant_id", "time_ns", "id"),
    sqlite_autoincrement=True,
)

# The numeric projection of the measurements: one row per {"value": number} leaf, which is what
# job executions map and scan. The primary key is the covering index of a window scan (tenant,
# device, fragment, series, time); the measurement id ends it, so two measurements may carry a
# value of the same series at the same instant. Times are epoch nanoseconds, so windows read
# straight into int64 arrays.
measurement_values = Table(
    "measurement_values",
    metadata,
    Column("tenant_id", Tenant, primary_key=True),
    Column("device_id", BigInteger, primary_key=True, autoincrement=False),
    Column("fragment", String(255), primary_key=True),
    Column("series", String(255), primary_key=True),
    Column("time_ns", BigInteger, primary_key=True, autoincrement=False),
    Column("measurement_id", BigInteger, primary_key=True, autoincrement=False),
    Column("value", Double, nullable=False),
    Column("unit", String(32), nullable=True),
    # On SQLite the primary key then *is* the table, so a window scan reads one b-tree.
    sqlite_with_rowid=False,
)

alarms = Table(
    "alarms",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Tenant, nullable=False),
    Column("source_id", BigInteger, nullable=False),
    Column("type", String(255), nullable=False),
    Column("time_ns", BigInteger, nullable=False),
    Column("first_ns", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("fragments", JSON, nullable=False),
    # Cumulocity's de-duplication, enforced by the database: at most one alarm of a source and
    # type that is not CLEARED; a POST meeting it counts up instead (INSERT ... ON CONFLICT).
    Index(
        "uq_alarms_open",
        "tenant_id",
        "source_id",
        "type",
        unique=True,
        sqlite_where=text("status <> 'CLEARED'"),
        postgresql_where=text("status <> 'CLEARED'"),
    ),
    Index(None, "tenant_id", "source_id", "time_ns", "id"),
    Index(None, "tenant_id", "time_ns", "id"),
    sqlite_autoincrement=True,
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Tenant, nullable=False),
    Column("source_id", BigInteger, nullable=False),
    Column("type", String(255), nullable=False),
    Column("time_ns", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("fragments", JSON, nullable=False),
    Index(None, "tenant_id", "source_id", "time_ns", "id"),
    Index(None, "tenant_id", "time_ns", "id"),
    sqlite_autoincrement=True,
)

# Design §2.9: the outbox of job actions. Each effect (execution, device, rule, target) is
# written in the transaction that finishes its execution and delivered from here with its
# idempotency key; a delivery holds its row by a lease, so instances never deliver one twice.
action_effects = Table(
    "action_effects",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("execution_id", Id, ForeignKey("executions.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", Tenant, nullable=False),
    Column("device_id", BigInteger, nullable=False),
    Column("rule", String(255), nullable=False),
    Column("target", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    UniqueConstraint("execution_id", "device_id", "rule", "target"),
    Index(None, "status", "next_attempt_at"),
    sqlite_autoincrement=True,
)
