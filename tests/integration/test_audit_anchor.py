"""The audit log's head is anchored outside the database (issue 12, item 1): deleting the newest
rows, or rewriting a row and recomputing the chain with the code's own chain_hash, used to pass
`intake audit verify`; signed checkpoints written at each day close and each acknowledged sync
now catch both."""

import datetime as dt
import json
import random
import sqlite3

import pytest
from sqlalchemy import select

from app.audit import at_text, chain_hash
from app.cli import main
from local_db.models import AuditEntry
from sync.engine import SyncEngine
from sync.keystore import MemoryTokenStore
from tests.sync_doubles import intake_with_pages, station

from .test_sync_audit import FAST

pytestmark = pytest.mark.integration
DAY = dt.date(2024, 12, 2)


def verify(capsys, db):
    code = main(["audit", "verify", "--db", str(db), "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture()
def closed(ctx, staff):
    """A store with a few entries and a closed day (which writes the checkpoint)."""
    ctx.staff.login("wang", "clerk1234")
    ctx.staff.login("zhang", "super1234")
    ctx.dayclose.close(staff["supervisor"], "super1234", DAY)
    with ctx.sessions() as s:
        n = len(s.scalars(select(AuditEntry.id)).all())
    ctx.close()
    return ctx.db_path, n


def test_day_close_writes_a_signed_checkpoint_outside_the_database(closed, capsys):
    db, n = closed
    anchor = db.parent / "intake-files" / "audit-anchor.json"
    cp = json.loads(anchor.read_text(encoding="utf-8"))
    assert cp["count"] == n and cp["reason"] == "day_close" and cp["signature"]
    code, data = verify(capsys, db)
    assert code == 0 and data["valid"] and data["checkpoint"]["entries"] == n


def test_deleting_the_newest_rows_is_caught(closed, capsys):
    db, n = closed
    con = sqlite3.connect(db)  # the issue's own command
    con.execute("delete from audit_entries where id >= (select max(id)-1 from audit_entries)")
    con.commit()
    con.close()
    code, data = verify(capsys, db)
    assert code == 1 and [p["code"] for p in data["problems"]] == ["audit.truncated"]
    assert (
        f"{n} 条" in data["problems"][0]["message"]
        and f"{n - 2} 条" in data["problems"][0]["message"]
    )


def test_rewriting_a_row_and_recomputing_the_chain_is_caught(closed, capsys):
    db, _n = closed
    con = sqlite3.connect(db)
    rows = con.execute(
        "select id, at, staff_id, action, target, detail from audit_entries order by id"
    ).fetchall()
    prev = "0" * 64
    for i, (rid, at, staff_id, action, target, detail) in enumerate(rows):
        if i == 1:
            detail = "edited"
        stamp = at_text(
            dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
            if "T" in at
            else dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC)
        )
        h = chain_hash(prev, stamp, staff_id, action, target, detail)
        con.execute(
            "update audit_entries set detail=?, prev_hash=?, hash=? where id=?",
            (detail, prev, h, rid),
        )
        prev = h
    con.commit()
    con.close()
    code, data = verify(capsys, db)
    codes = [p["code"] for p in data["problems"]]
    assert code == 1 and codes == ["audit.rewritten"], data  # the chain itself verifies


def test_the_keyring_copy_still_catches_it_when_the_file_is_removed(closed, capsys):
    db, _n = closed
    (db.parent / "intake-files" / "audit-anchor.json").unlink()
    con = sqlite3.connect(db)
    con.execute("delete from audit_entries where id = (select max(id) from audit_entries)")
    con.commit()
    con.close()
    code, data = verify(capsys, db)
    assert code == 1 and "audit.truncated" in [p["code"] for p in data["problems"]]


def test_a_forged_checkpoint_file_is_named(closed, capsys):
    db, n = closed
    anchor = db.parent / "intake-files" / "audit-anchor.json"
    cp = json.loads(anchor.read_text(encoding="utf-8"))
    cp["count"] = n + 5  # made without the key: the signature no longer fits
    anchor.write_text(json.dumps(cp), encoding="utf-8")
    code, data = verify(capsys, db)
    assert code == 1 and "audit.checkpoint_forged" in [p["code"] for p in data["problems"]]


def test_an_acknowledged_sync_writes_a_checkpoint(tmp_path, clock, catalog, hub):
    ctx, clerk = station(tmp_path / "XX01", "XX01", clock, catalog)
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    intake_with_pages(ctx, clerk, random.Random(1))
    eng.run_until_idle(max_seconds=30)
    cp = json.loads((ctx.files_dir / "audit-anchor.json").read_text(encoding="utf-8"))
    with ctx.sessions() as s:
        acked = eng.outbox.get_int("audit_acked_id")
        assert cp["reason"] == "sync_ack" and cp["last_id"] >= acked > 0
        assert cp["head"] == s.scalar(select(AuditEntry.hash).where(AuditEntry.id == cp["last_id"]))
    ctx.close()
