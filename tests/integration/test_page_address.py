"""Pages and printed PDFs are addressed by a keyed hash, not their plain SHA-256 (issue 12,
item 5): a copy of the database plus a copy of a page no longer confirms the page is here."""

import hashlib
import os
import sqlite3

import pytest
from sqlalchemy import select

from local_db.engine import open_store
from local_db.models import Attachment

from .test_intake_service import new_intake
from .test_store_files import store_at

pytestmark = pytest.mark.integration


def store_bytes(db):
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())


def test_a_page_digest_is_not_in_the_database_and_duplicates_share_one_file(ctx, staff):
    clerk = staff["clerk"]
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    page = os.urandom(3000)
    digest = hashlib.sha256(page).hexdigest()
    first = ctx.pages.attach_page(clerk, sid, "household_register", page, "image/jpeg")
    second = ctx.pages.attach_page(clerk, sid, "household_register", page, "image/jpeg")
    assert first.sha256 == second.sha256 == digest  # the application still names pages by digest
    assert ctx.pages.page_bytes(first) == page
    raw = store_bytes(ctx.db_path)
    assert digest.encode() not in raw and hashlib.sha256(page).digest() not in raw
    con = sqlite3.connect(ctx.db_path)
    addresses = [r[0] for r in con.execute("select address from attachments")]
    con.close()
    assert len(addresses) == 2 and addresses[0] == addresses[1] and len(addresses[0]) == 64
    assert addresses[0] != digest
    assert (
        len([p for p in (ctx.files_dir / "blobs").rglob("*") if p.is_file()]) == 1
    )  # de-duplicated


def test_existing_stores_are_rewritten_by_the_migration(tmp_path):
    db = tmp_path / "old.sqlite3"
    store_at(db, "0007")
    digest = hashlib.sha256(b"an old page").hexdigest()
    con = sqlite3.connect(db)  # a page row as the previous release wrote it
    con.execute(
        "insert into attachments (id, submission_id, material_id, position, sha256, size, mime, rotation,"
        " removed, created_at) values ('a1', 's1', 'm1', 1, ?, 11, 'image/jpeg', 0, 0,"
        " '2024-12-02 01:30:00.000000')",
        (digest,),
    )
    con.execute(
        "insert into documents (id, submission_id, kind, sha256, reprint, created_at)"
        " values ('d1', 's1', 'receipt', ?, 0, '2024-12-02 01:30:00.000000')",
        (digest,),
    )
    con.commit()
    con.close()
    sessions = open_store(db)
    with sessions() as s:
        att = s.scalars(select(Attachment)).one()
        assert att.sha256 == digest and att.address and att.address != digest
    sessions.kw["bind"].dispose()
    assert digest.encode() not in store_bytes(db)


def test_a_parked_page_is_keyed_by_its_address_in_the_sync_items(ctx, staff, clock):
    from sync.engine import SyncEngine
    from sync.keystore import MemoryTokenStore

    digest = hashlib.sha256(b"a damaged page").hexdigest()
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore())
    eng.outbox.record_failure(
        eng.work.failure("page", digest, "sync.page_corrupt"), clock.now(), 3, None, park=True
    )
    con = sqlite3.connect(ctx.db_path)
    keys = [r[0] for r in con.execute("select key from sync_items where kind='page'")]
    con.close()
    assert keys == [ctx.attachments.address(digest)] and digest.encode() not in store_bytes(
        ctx.db_path
    )
