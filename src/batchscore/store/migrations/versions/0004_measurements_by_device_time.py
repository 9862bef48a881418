"""measurements: an index on (tenant, device, time, type), the access path of the measurement API

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:30:00.000000

GET /measurement/measurements?source=... pages a device's measurements in time order; the
primary key (tenant, device, fragment, series, time) cannot serve that order, so every page
sorted all of the device's rows and looked its values up by (device, time) pairs.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME = "ix_measurements_tenant_id_device_id_time_ns_type"


def upgrade() -> None:
    op.create_index(NAME, "measurements", ["tenant_id", "device_id", "time_ns", "type"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="measurements")
