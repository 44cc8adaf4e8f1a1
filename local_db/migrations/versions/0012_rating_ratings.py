"""ratings (好差评): one per intake, with the 差评's follow-up (整改)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

The applicant rates the service on the five national levels after the intake is finished; a
declined rating (未评价) is kept as a row without a level. Each 差评 opens a follow-up due one
working day later, closed by a supervisor with a note.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=24), nullable=True),
        sa.Column("reasons", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("reason_text", sa.LargeBinary(), nullable=True),
        sa.Column("rated_at", sa.String(length=32), nullable=False),
        sa.Column("local_date", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("followup_due", sa.Date(), nullable=True),
        sa.Column("followup_closed_at", sa.String(length=32), nullable=True),
        sa.Column("followup_closed_by", sa.Integer(), nullable=True),
        sa.Column("followup_note", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["clerk_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["staff.id"]),
        sa.ForeignKeyConstraint(["followup_closed_by"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", name="uq_ratings_submission"),
    )
    op.create_index("ix_ratings_local_date", "ratings", ["local_date"])


def downgrade() -> None:
    op.drop_index("ix_ratings_local_date", table_name="ratings")
    op.drop_table("ratings")
