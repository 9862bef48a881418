"""console_sessions (server-side console sign-ins) and tenants.credentials_version

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 19:00:00.000000

Signing out, deleting a user or changing a password ends the user's console sessions at once,
and every process drops the API logins it cached for the tenant when credentials_version moves.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The types as tables.py declares them, spelled out so this file stands alone.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("credentials_version", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_console_sessions_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_console_sessions"),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_user_id", table_name="console_sessions")
    op.drop_table("console_sessions")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("credentials_version")
