"""the outbox of notices to applicants (短信告知) and each station's notice cursor

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hub_notices",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("station_id", sa.Integer(), sa.ForeignKey("hub_stations.id"), nullable=False),
        sa.Column(
            "submission_id",
            sa.String(length=36),
            sa.ForeignKey("hub_submissions.id"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False, unique=True),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", TS, nullable=False),
        sa.Column("claim", sa.String(length=36), nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_hub_notices_submission_id", "hub_notices", ["submission_id"])
    op.create_index("ix_hub_notices_due", "hub_notices", ["status", "next_at"])
    op.create_index("ix_hub_notices_station_seq", "hub_notices", ["station_id", "seq"])
    op.create_table(
        "hub_notice_seqs",
        sa.Column("station_id", sa.Integer(), sa.ForeignKey("hub_stations.id"), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hub_notice_seqs")
    op.drop_table("hub_notices")
