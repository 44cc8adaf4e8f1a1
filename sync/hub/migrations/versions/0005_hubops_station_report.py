"""what `intake hub stations` lists: each station's last contact and what it last reported

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_stations") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("client_version", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("catalog_version", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("backlog", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_stations") as batch:
        for name in ("backlog", "catalog_version", "client_version", "last_seen_at"):
            batch.drop_column(name)
