"""instances: the processes that own executions and their heartbeats

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 19:00:00.000000

A crashed instance's executions used to wait for their lease (300 s) before anyone took them
over. Instances now beat every few seconds; one silent for longer than the dead-after setting
is dead, and its claimed executions are taken over, its running ones finished as interrupted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_instances"),
    )
    op.create_index("ix_instances_heartbeat_at", "instances", ["heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_instances_heartbeat_at", table_name="instances")
    op.drop_table("instances")
