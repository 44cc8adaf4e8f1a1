"""manifest pages by page: which were not held when named (the "pages missing" figure of
/metrics and `intake hub stations` counts these few rows instead of joining every page ever
sent), and an index on the page, for a department's page reads (the primary key starts with
the submission: each read scanned every page ever sent)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "hub_manifest_pages",
        sa.Column("missing", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # one anti-join (hash joins on PostgreSQL: 2 s for a county's year of 1.5 M pages, where
    # a NOT EXISTS per row took 15 s); row values in IN need SQLite 3.15
    op.execute(
        "UPDATE hub_manifest_pages SET missing = true WHERE (submission_id, sha256) IN ("
        " SELECT m.submission_id, m.sha256 FROM hub_manifest_pages m"
        " JOIN hub_submissions s ON s.id = m.submission_id"
        " LEFT JOIN hub_page_holders h ON h.station_id = s.station_id AND h.sha256 = m.sha256"
        " WHERE h.sha256 IS NULL)"
    )
    op.create_index(
        "ix_hub_manifest_pages_missing",
        "hub_manifest_pages",
        ["sha256"],
        postgresql_where=sa.text("missing"),
        sqlite_where=sa.text("missing"),
    )
    op.create_index("ix_hub_manifest_pages_sha256", "hub_manifest_pages", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_hub_manifest_pages_sha256", table_name="hub_manifest_pages")
    op.drop_index("ix_hub_manifest_pages_missing", table_name="hub_manifest_pages")
    op.drop_column("hub_manifest_pages", "missing")
