"""online applications (一体化政务服务平台) reviewed at a window within two hours

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "hub_online_applications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform_ref", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("county", sa.String(length=12), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", ts, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", ts, nullable=True),
        sa.Column("claim_expires_at", ts, nullable=True),
        sa.Column("answered_at", ts, nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("document_sha", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["claimed_by"], ["hub_stations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_ref"),
    )
    op.create_index("ix_hub_online_applications_county", "hub_online_applications", ["county"])


def downgrade() -> None:
    op.drop_index("ix_hub_online_applications_county", table_name="hub_online_applications")
    op.drop_table("hub_online_applications")
