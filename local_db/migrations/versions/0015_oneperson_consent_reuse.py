"""一人一档: consent events per person and the record of what an intake reused

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

consent_events is the record of truth of a person's consent to reuse (granted / withdrawn, when,
by which clerk); the person is named by the keyed blind index of the ID number only, never in
plain. applicants.consent_reuse / consent_at stay the projection on each intake's applicant row.
reuse_records says which applicant fields and which materials an intake took from an earlier
intake of the same person, with that intake's number and date: kept when consent is withdrawn.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_bidx", sa.LargeBinary(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("submission_id", sa.String(length=36), nullable=True),
    )
    op.create_index("ix_consent_events_person", "consent_events", ["person_bidx", "id"])
    op.create_table(
        "reuse_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "submission_id",
            sa.String(length=36),
            sa.ForeignKey("submissions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("origin_submission_id", sa.String(length=36), nullable=False),
        sa.Column("origin_number", sa.String(length=32), nullable=False),
        sa.Column("origin_date", sa.String(length=10), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.UniqueConstraint("submission_id", "kind", "key", name="uq_reuse_records_key"),
    )


def downgrade() -> None:
    op.drop_table("reuse_records")
    op.drop_index("ix_consent_events_person", table_name="consent_events")
    op.drop_table("consent_events")
