"""online_applications: the online channel's queue as the hub last showed it, and this window's
reviews of it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.String(length=32)  # UtcDateTime
    op.create_table(
        "online_applications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_ref", sa.String(length=64), nullable=False),
        sa.Column("bundle_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", ts, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=8), nullable=True),
        sa.Column("claim_expires_at", ts, nullable=True),
        sa.Column("submission_id", sa.String(length=36), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("document_sha", sa.String(length=64), nullable=True),
        sa.Column("answered_at", ts, nullable=True),
        sa.Column("answered_by", sa.String(length=8), nullable=True),
        sa.Column("updated_at", ts, nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_online_applications_status", "online_applications", ["status"])


def downgrade() -> None:
    op.drop_index("ix_online_applications_status", table_name="online_applications")
    op.drop_table("online_applications")
