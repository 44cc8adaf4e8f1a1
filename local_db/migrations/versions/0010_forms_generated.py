"""form_prints: the window's generated application forms and how much of each it prefilled

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

一表申请: the 一件事联办申请表 and the 个人信息查询核验授权书 are printed from the intake's data.
Each printed form keeps its count of declared fields and of fields prefilled (card, applicant
record, answers, licence, shared data), one row per submission and form (a reprint replaces it),
so the supervisor's 表单信息自动生成率 is a sum over the forms actually printed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_prints",
        sa.Column(
            "submission_id",
            sa.String(length=36),
            sa.ForeignKey("submissions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(length=16), primary_key=True),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("fields_total", sa.Integer(), nullable=False),
        sa.Column("fields_prefilled", sa.Integer(), nullable=False),
        sa.Column("printed_at", sa.String(length=32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("form_prints")
