"""tenants.jobs_version: bumped with every change to a tenant's jobs as the API shows them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 21:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("jobs_version", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("jobs_version")
