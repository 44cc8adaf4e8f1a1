"""pages and printed PDFs addressed by a keyed hash; their SHA-256 kept encrypted

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

The attachments and documents tables held each page's plain SHA-256 (and indexed it), so anyone
holding a copy of the database and of a page could confirm that this station has that page. The
digest is now AES-GCM ciphertext like the other personal data (the sync engine still reads it to
address the hub, which stores by SHA-256 of the bytes it receives), and lookups and
de-duplication go through `address`: an HMAC of the digest under a key derived from the store's
data key, the same name the encrypted file already has on disk (no file is renamed).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from local_db.crypto import DataKey

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 5000


def _key(cur: Any) -> DataKey:
    loader = op.get_context().config.attributes.get("data_key_loader")  # type: ignore[union-attr]
    if loader is None:
        raise RuntimeError(
            "migration 0008 needs the data key: run it through local_db.engine.open_store"
        )
    return loader(cur)  # type: ignore[no-any-return]


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.drop_index("ix_attachments_sha256")
        batch_op.add_column(
            sa.Column("address", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.create_index("ix_attachments_address", ["address"], unique=False)
    with op.batch_alter_table("documents") as batch_op:
        batch_op.add_column(
            sa.Column("address", sa.String(length=64), nullable=False, server_default="")
        )

    dbapi = op.get_bind().connection.dbapi_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    cur.execute("PRAGMA secure_delete=ON")  # the plain digests must not linger in freed pages
    if not cur.execute(
        "SELECT 1 FROM attachments UNION ALL SELECT 1 FROM documents"
        " UNION ALL SELECT 1 FROM sync_items WHERE kind='page' LIMIT 1"
    ).fetchone():
        return  # a new store: nothing to rewrite (and its key is made by 0004 in this run)
    key = _key(cur)
    for table in ("attachments", "documents"):
        purpose = f"{table}.sha256".encode()
        last = 0
        while True:
            rows = cur.execute(
                f"SELECT rowid, sha256 FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, BATCH),
            ).fetchall()
            if not rows:
                break
            cur.executemany(
                f"UPDATE {table} SET sha256=?, address=? WHERE rowid=?",
                [
                    (key.encrypt_text(sha, purpose), key.blob_name(sha), rowid)
                    for rowid, sha in rows
                    if isinstance(sha, str)
                ],
            )
            last = rows[-1][0]
    # Pages the sync engine parked were keyed by their digest too.
    rows = cur.execute("SELECT rowid, key FROM sync_items WHERE kind='page'").fetchall()
    cur.executemany(
        "UPDATE sync_items SET key=? WHERE rowid=?",
        [(key.blob_name(k), rowid) for rowid, k in rows if isinstance(k, str) and len(k) == 64],
    )


def downgrade() -> None:
    # The previous release's shape: plain digests again (decrypted with the data key), parked
    # page items keyed by digest, no address column.
    dbapi = op.get_bind().connection.dbapi_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    by_address: dict[str, str] = {}
    if cur.execute(
        "SELECT 1 FROM attachments UNION ALL SELECT 1 FROM documents LIMIT 1"
    ).fetchone():
        key = _key(cur)
        for table in ("attachments", "documents"):
            purpose = f"{table}.sha256".encode()
            rows = cur.execute(f"SELECT rowid, sha256, address FROM {table}").fetchall()
            plain = [
                (key.decrypt_text(sha, purpose), address, rowid)
                for rowid, sha, address in rows
                if isinstance(sha, bytes)
            ]
            cur.executemany(
                f"UPDATE {table} SET sha256=? WHERE rowid=?", [(d, r) for d, _a, r in plain]
            )
            by_address.update({a: d for d, a, _r in plain})
        rows = cur.execute("SELECT rowid, key FROM sync_items WHERE kind='page'").fetchall()
        cur.executemany(
            "UPDATE sync_items SET key=? WHERE rowid=?",
            [(by_address[k], rowid) for rowid, k in rows if k in by_address],
        )
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_column("address")
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.drop_index("ix_attachments_address")
        batch_op.drop_column("address")
        batch_op.create_index("ix_attachments_sha256", ["sha256"], unique=False)
