"""measurements

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 18:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "measurements",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fragment", sa.String(length=255), nullable=False),
        sa.Column("series", sa.String(length=255), nullable=False),
        sa.Column("time_ns", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("type", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant_id", "device_id", "fragment", "series", "time_ns", name=op.f("pk_measurements")
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("measurements")
