"""personal data encrypted at rest, blind indexes for lookups

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Creates the store's data key (local_db.crypto) and encrypts what is already there: applicant
names, ID numbers, addresses, phones, birth dates and legal representatives, delivery addresses,
and every event payload. The plaintext indexes on ID number and phone go; blind-index columns
take their place. Declared column types stay as they were: SQLite keeps a BLOB in a TEXT column
as it is, and changing the declaration would rebuild the events table for nothing.
secure_delete is on for the rewrite so the old plaintext does not linger in freed pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from local_db.crypto import DataKey, applicant_index

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 5000


def _key(dbapi: Any) -> DataKey:
    factory = op.get_context().config.attributes.get("data_key_factory")  # type: ignore[union-attr]
    if factory is None:
        raise RuntimeError(
            "migration 0004 needs the data key: run it through local_db.engine.open_store"
        )
    return factory(dbapi)  # type: ignore[no-any-return]


def _enc(key: DataKey, value: str | None, purpose: bytes) -> bytes | None:
    return None if value is None else key.encrypt_text(value, purpose)


def _rewrite(
    cur: Any,
    table: str,
    columns: str,
    assignments: str,
    convert: Callable[[tuple[Any, ...]], tuple[Any, ...]],
) -> None:
    """Rewrite every row of TABLE in batches by rowid (events may be many millions)."""
    last = 0
    while True:
        batch = cur.execute(
            f"SELECT rowid, {columns} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (last, BATCH),
        ).fetchall()
        if not batch:
            return
        cur.executemany(
            f"UPDATE {table} SET {assignments} WHERE rowid=?", [convert(r) for r in batch]
        )
        last = batch[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("applicants") as batch_op:
        batch_op.drop_index("ix_applicants_resident_id")
        batch_op.drop_index("ix_applicants_phone")
        for col in ("name_bidx", "resident_id_bidx", "phone_bidx"):
            batch_op.add_column(sa.Column(col, sa.LargeBinary(length=16), nullable=True))
            batch_op.create_index(f"ix_applicants_{col}", [col], unique=False)

    dbapi = op.get_bind().connection.dbapi_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    cur.execute("PRAGMA secure_delete=ON")
    key = _key(cur)

    def applicant(row: tuple[Any, ...]) -> tuple[Any, ...]:
        rowid, name, resident_id, birth, address, phone, legal = row
        birth_text = birth.isoformat() if isinstance(birth, dt.date) else birth
        index = applicant_index(key, name=name, resident_id=resident_id, phone=phone)
        return (
            _enc(key, name, b"applicants.name"),
            _enc(key, resident_id, b"applicants.resident_id"),
            _enc(key, birth_text, b"applicants.birth_date"),
            _enc(key, address, b"applicants.address"),
            _enc(key, phone, b"applicants.phone"),
            _enc(key, legal, b"applicants.legal_representative"),
            index["name_bidx"],
            index["resident_id_bidx"],
            index["phone_bidx"],
            rowid,
        )

    _rewrite(
        cur,
        "applicants",
        "name, resident_id, birth_date, address, phone, legal_representative",
        "name=?, resident_id=?, birth_date=?, address=?, phone=?, legal_representative=?,"
        " name_bidx=?, resident_id_bidx=?, phone_bidx=?",
        applicant,
    )
    _rewrite(
        cur,
        "submissions",
        "delivery_address",
        "delivery_address=?",
        lambda r: (_enc(key, r[1], b"submissions.delivery_address"), r[0]),
    )
    _rewrite(
        cur,
        "events",
        "payload",
        "payload=?",
        lambda r: (key.encrypt_text(r[1], b"events.payload"), r[0]),
    )
    cur.close()


def downgrade() -> None:
    raise NotImplementedError(
        "personal data stays encrypted; restore a backup made before 0004 instead"
    )
