"""hub_ratings: the stations' 好差评, projected from their rating events

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_ratings",
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("clerk_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=24), nullable=True),
        sa.Column("reasons", sa.String(length=200), nullable=False),
        sa.Column("rated_at", sa.String(length=32), nullable=False),
        sa.Column("followup_closed_at", sa.String(length=32), nullable=True),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["station_id"], ["hub_stations.id"]),
        sa.ForeignKeyConstraint(["submission_id"], ["hub_submissions.id"]),
        sa.PrimaryKeyConstraint("submission_id"),
    )
    op.create_index("ix_hub_ratings_station_id", "hub_ratings", ["station_id"])


def downgrade() -> None:
    op.drop_index("ix_hub_ratings_station_id", table_name="hub_ratings")
    op.drop_table("hub_ratings")
