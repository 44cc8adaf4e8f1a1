"""consultations (咨询) and the departments' 1-working-day acceptance deadline

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

- consultations: one row per 办事指南 given at the window before any applicant exists (bundle,
  items, situation answers, clerk, time; no personal data), counted in the ledger as 咨询.
- submission_items.first_decided_at: when the department first decided 受理 / 不予受理 (decided_at
  is overwritten by 办结). Existing decisions: their decided_at is the best record there is.
- submissions.acceptance_due / acceptance_pending / acceptance_late: the due day (1 working day
  after the push, on China's calendar) and the two facts the supervisor's figure needs, kept
  on the submission like the other item outcomes (0005). The due day of submissions pushed
  before this revision is filled in by the application (app.acceptance.fill_due), which knows
  the holiday calendar; the SQL here only fills what needs no calendar.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consultations",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("station_id", sa.Integer(), sa.ForeignKey("stations.id"), nullable=False),
        sa.Column("clerk_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("bundle_id", sa.String(length=64), nullable=False),
        sa.Column("catalog_version", sa.String(length=32), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("local_date", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
    )
    op.create_index("ix_consultations_local_date", "consultations", ["local_date"])
    op.add_column("submission_items", sa.Column("first_decided_at", sa.String(32), nullable=True))
    op.add_column("submissions", sa.Column("acceptance_due", sa.Date(), nullable=True))
    op.add_column(
        "submissions",
        sa.Column("acceptance_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "submissions",
        sa.Column("acceptance_late", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE submission_items SET first_decided_at = decided_at WHERE decision IS NOT NULL"
    )
    op.execute("""
        UPDATE submissions SET acceptance_pending = EXISTS (
            SELECT 1 FROM submission_items i WHERE i.submission_id = submissions.id
            AND i.active AND i.decision IS NULL)
        WHERE pushed_at IS NOT NULL
    """)


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        for column in ("acceptance_late", "acceptance_pending", "acceptance_due"):
            batch.drop_column(column)
    with op.batch_alter_table("submission_items") as batch:
        batch.drop_column("first_decided_at")
    op.drop_index("ix_consultations_local_date", "consultations")
    op.drop_table("consultations")
