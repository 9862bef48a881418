"""actions: rules and write-back of jobs, and the outbox of their effects (design §2.9)

Revision ID: 0009_actions
Revises: 0008_job_lifecycle
Create Date: 2026-12-06 22:30:00.000000

Jobs gain two nullable JSON columns (``actions``, ``write_back``); jobs without stay NULL, so
seed clients see no change. ``action_effects`` holds each effect of an execution from the
transaction that finishes it until it is delivered (or given up).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_actions"
down_revision = "0008_job_lifecycle"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("actions", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("write_back", sa.JSON(), nullable=True))
    op.create_table(
        "action_effects",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("execution_id", Id, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_action_effects_execution_id_executions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_action_effects"),
        sa.UniqueConstraint(
            "execution_id",
            "device_id",
            "rule",
            "target",
            name="uq_action_effects_execution_id_device_id_rule_target",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_action_effects_status_next_attempt_at",
        "action_effects",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_action_effects_status_next_attempt_at", table_name="action_effects")
    op.drop_table("action_effects")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("write_back")
        batch.drop_column("actions")
