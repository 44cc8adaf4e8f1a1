"""applicant_notices: the notices to the applicant (短信告知) the hub reports as sent

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

The hub sends 受理 / 不予受理 / 办结 / 领取 notices; the station keeps their kind, status and time
(read with the status updates) so the clerk sees what the applicant was told and when.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applicant_notices",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("sent_at", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
    )
    op.create_index("ix_applicant_notices_submission_id", "applicant_notices", ["submission_id"])


def downgrade() -> None:
    op.drop_table("applicant_notices")
