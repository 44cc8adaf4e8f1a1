"""Alembic environment of the hub's database: always run programmatically with a connection
from sync.hub.store (SQLite or PostgreSQL)."""

from __future__ import annotations

from alembic import context

from sync.hub.models import HubBase

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=HubBase.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run(config.attributes["connection"])
