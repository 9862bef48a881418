"""job lifecycle: edit, pause, resume and backfill (design §2.8)

Revision ID: 0008_job_lifecycle
Revises: 0007
Create Date: 2026-12-06 22:30:00.000000

- ``jobs.version`` (bumped by every edit, pause and resume), ``jobs.paused`` (null until the job
  is paused once) and ``jobs.resume_fire_at`` (the first instant a paused job did not fire).
- ``executions.model_name``, ``model_sha256``, ``model_mappings``: the definition an execution
  ran with; null for the executions before this revision. ``executions.backfill_id``.
- ``backfills``: one row per job with a backfill, its range and the next instant to create.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_job_lifecycle"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("jobs", sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("paused", sa.Boolean(), nullable=True))
    op.add_column("jobs", sa.Column("resume_fire_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("executions", sa.Column("model_name", sa.String(255), nullable=True))
    op.add_column("executions", sa.Column("model_sha256", sa.String(64), nullable=True))
    op.add_column("executions", sa.Column("model_mappings", sa.JSON(), nullable=True))
    op.add_column("executions", sa.Column("backfill_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "backfills",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("job_id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("range_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("range_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instants", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_backfills_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_backfills"),
        sa.UniqueConstraint("job_id", name="uq_backfills_job_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_backfills_next_at", "backfills", ["next_at"])


def downgrade() -> None:
    op.drop_index("ix_backfills_next_at", table_name="backfills")
    op.drop_table("backfills")
    with op.batch_alter_table("executions") as batch_op:
        for name in ("backfill_id", "model_mappings", "model_sha256", "model_name"):
            batch_op.drop_column(name)
    with op.batch_alter_table("jobs") as batch_op:
        for name in ("resume_fire_at", "paused", "version"):
            batch_op.drop_column(name)
