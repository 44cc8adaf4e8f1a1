"""item outcomes kept on the submission, for the supervisor's figures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

A month's reconciliation probed every submission's items (a UUID-keyed index spread over the
whole file) three times; the four facts it needs are now columns of the submission, kept by
app.state.item_outcomes whenever a decision or a delivery is recorded. This fills them in for
existing rows with the same rules, in SQL (local day = UTC + 8 hours, as in app.reports).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_LOCAL_DAY = "date({col}, '+8 hours')"


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite does it without copying the table (a million rows here).
    op.add_column(
        "submissions",
        sa.Column("items_accepted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "submissions",
        sa.Column("items_rejected", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("submissions", sa.Column("undelivered_since", sa.Date(), nullable=True))
    op.add_column(
        "submissions",
        sa.Column("delivered_late", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    done = _LOCAL_DAY.format(col="i.decided_at")
    delivered = _LOCAL_DAY.format(col="i.delivered_at")
    # Only submissions with a decision can have an outcome: the rest keep the defaults.
    op.execute(f"""
        UPDATE submissions SET
          items_accepted = EXISTS (SELECT 1 FROM submission_items i WHERE i.submission_id = submissions.id
                                   AND i.decision IN ('accepted', 'completed')),
          items_rejected = EXISTS (SELECT 1 FROM submission_items i WHERE i.submission_id = submissions.id
                                   AND i.decision = 'rejected'),
          undelivered_since = (SELECT min({done}) FROM submission_items i WHERE i.submission_id = submissions.id
                               AND i.decision = 'completed' AND i.decided_at IS NOT NULL
                               AND i.delivered_at IS NULL),
          delivered_late = EXISTS (SELECT 1 FROM submission_items i WHERE i.submission_id = submissions.id
                                   AND i.decision = 'completed' AND i.decided_at IS NOT NULL
                                   AND {delivered} > {done})
        WHERE id IN (SELECT submission_id FROM submission_items WHERE decision IS NOT NULL)
    """)


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        for column in ("delivered_late", "undelivered_since", "items_rejected", "items_accepted"):
            batch.drop_column(column)
