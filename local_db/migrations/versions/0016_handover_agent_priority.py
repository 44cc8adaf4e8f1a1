"""帮办代办, 优先办 and the hand-over of paper to the lead department

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

- agents: the 代办人 acting for an intake's applicant (one per intake); personal data is
  ciphertext like the applicant's, the ID number searchable through a blind index.
- submissions.priority: 优先办 ("" none, "elderly" 60 and over, "disabled" marked by the clerk).
- handover_batches / handover_lines: a 移交清单 of paper originals handed to one lead
  department, and the intakes it carried (an intake's paper is handed over once).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column(
            "submission_id",
            sa.String(36),
            sa.ForeignKey("submissions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("resident_id", sa.Text(), nullable=False),
        sa.Column("document_type", sa.String(24), nullable=False, server_default="resident"),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("resident_id_bidx", sa.LargeBinary(16), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_agents_resident_id_bidx", "agents", ["resident_id_bidx"])
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("priority", sa.String(16), nullable=False, server_default=""))
    op.create_table(
        "handover_batches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("local_date", sa.String(10), nullable=False),
        sa.Column("station_id", sa.Integer(), sa.ForeignKey("stations.id"), nullable=False),
        sa.Column("clerk_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("received_by", sa.Text(), nullable=False),  # a name: ciphertext
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_handover_batches_day", "handover_batches", ["local_date", "department"])
    op.create_table(
        "handover_lines",
        sa.Column(
            "batch_id",
            sa.String(36),
            sa.ForeignKey("handover_batches.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "submission_id",
            sa.String(36),
            sa.ForeignKey("submissions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.UniqueConstraint("submission_id", name="uq_handover_lines_submission"),
    )


def downgrade() -> None:
    op.drop_table("handover_lines")
    op.drop_index("ix_handover_batches_day", table_name="handover_batches")
    op.drop_table("handover_batches")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("priority")
    op.drop_index("ix_agents_resident_id_bidx", table_name="agents")
    op.drop_table("agents")
