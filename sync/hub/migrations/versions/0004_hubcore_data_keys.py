"""per-county data keys (hub_data_keys) and the county a station's data is sealed under

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Rows written before this revision stay in clear until `intake hub rewrap` seals them (the
migration has no master key).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_data_keys",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("county", sa.String(length=12), nullable=False),
        sa.Column("master_key_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hub_data_keys_county", "hub_data_keys", ["county"])
    with op.batch_alter_table("hub_stations") as batch:
        batch.add_column(sa.Column("county", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_stations") as batch:
        batch.drop_column("county")
    op.drop_index("ix_hub_data_keys_county", table_name="hub_data_keys")
    op.drop_table("hub_data_keys")
