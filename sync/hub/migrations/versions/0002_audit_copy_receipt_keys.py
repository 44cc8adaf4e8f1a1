"""the hub's copy of each station's audit log, and the stations' receipt-signing keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
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
        "hub_audit_entries",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["hub_stations.id"],
        ),
        sa.PrimaryKeyConstraint("station_id", "store_id", "entry_id"),
    )
    op.create_table(
        "hub_receipt_keys",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["hub_stations.id"],
        ),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index(
        op.f("ix_hub_receipt_keys_station_id"), "hub_receipt_keys", ["station_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_hub_receipt_keys_station_id"), table_name="hub_receipt_keys")
    op.drop_table("hub_receipt_keys")
    op.drop_table("hub_audit_entries")
