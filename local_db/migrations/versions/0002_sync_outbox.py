"""sync outbox: cursor state and failed/parked items

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
        "sync_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "sync_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=True),
        sa.Column("station_seq", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("first_failed_at", sa.String(length=32), nullable=False),
        sa.Column("last_failed_at", sa.String(length=32), nullable=False),
        sa.Column("next_retry_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_sync_items_kind_key"),
    )
    with op.batch_alter_table("sync_items", schema=None) as batch_op:
        batch_op.create_index("ix_sync_items_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_items", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_items_state")
    op.drop_table("sync_items")
    op.drop_table("sync_state")
