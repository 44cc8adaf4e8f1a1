"""applicants.document_type: which card the applicant's number belongs to

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Besides the resident ID card, readers return 港澳台居民居住证 and 外国人永久居留身份证 (2017 and
2023). The card type decides how the number is checked and what the documents call it. Existing
applicants hold resident ID numbers (the only kind accepted so far): they get "resident".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applicants") as batch:
        batch.add_column(
            sa.Column(
                "document_type", sa.String(length=24), nullable=False, server_default="resident"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("applicants") as batch:
        batch.drop_column("document_type")
