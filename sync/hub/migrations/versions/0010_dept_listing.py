"""when the hub listed each case (its own clock, set when the event giving the intake its
number arrives: received, or 一次告知), so departments page through GET /v1/dept/submissions
with a cursor instead of getting the oldest 1 000 submissions forever

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("hub_submissions", sa.Column("listed_at", sa.DateTime(timezone=True)))
    # cases (a number: received, or 一次告知) before this version, in the order the hub first
    # saw them
    op.execute("UPDATE hub_submissions SET listed_at = created_at WHERE number IS NOT NULL")
    op.create_index("ix_hub_submissions_listed", "hub_submissions", ["listed_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_hub_submissions_listed", table_name="hub_submissions")
    op.drop_column("hub_submissions", "listed_at")
