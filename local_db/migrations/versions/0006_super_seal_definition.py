"""day closes remember what their seal covers (1: all submissions, 2: intakes only)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing seals were computed over every submission of the day, drafts included: they keep
    # verifying by that definition.
    with op.batch_alter_table("day_closes") as batch:
        batch.add_column(sa.Column("definition", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("day_closes") as batch:
        batch.drop_column("definition")
