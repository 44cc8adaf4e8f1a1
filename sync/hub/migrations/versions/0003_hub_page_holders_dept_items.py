"""pages per station (hub_page_holders) and departments' item scope (hub_dept_keys.items)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_page_holders",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["hub_stations.id"],
        ),
        sa.PrimaryKeyConstraint("station_id", "sha256"),
    )
    # Pages already on the hub belong to the stations whose manifests named them (before this
    # revision a page reached the hub only after its station's manifest).
    op.execute(
        "INSERT INTO hub_page_holders (station_id, sha256) "
        "SELECT DISTINCT s.station_id, m.sha256 FROM hub_manifest_pages m "
        "JOIN hub_submissions s ON s.id = m.submission_id"
    )
    with op.batch_alter_table("hub_dept_keys") as batch:
        batch.add_column(sa.Column("items", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_dept_keys") as batch:
        batch.drop_column("items")
    op.drop_table("hub_page_holders")
