"""stamp PRAGMA application_id on the store

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

A file is recognised as one of our stores from its header (local_db.engine.inspect_file), read
only, before anything in it is changed. Stores made before this revision are recognised by their
tables and revision once, and stamped here.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPLICATION_ID = 0x594A5331  # local_db.engine.APPLICATION_ID, fixed here as migrations are


def upgrade() -> None:
    op.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def downgrade() -> None:
    op.execute("PRAGMA application_id = 0")
