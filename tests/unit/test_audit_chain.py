"""The audit chain's hash is one definition shared by the station and the county hub: pinned to
the values stations have written, and loadable by the hub without the station's store."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit import GENESIS, _entry_hash, append, at_text, chain_hash, verify
from sync.protocol import check_audit_entry

ROOT = Path(__file__).resolve().parents[2]


def test_the_hash_is_the_one_stations_have_always_written():
    # values computed by the station's audit log before the hash was shared with the hub: a
    # change here would make every existing chain (and every hub copy) fail its check
    east8 = dt.timezone(dt.timedelta(hours=8))
    assert (
        _entry_hash(GENESIS, dt.datetime(2024, 12, 2, 9, 30, tzinfo=east8), 3, "login.ok", "", "")
        == "d8d960ed49f276b21476677b2c3a4722956657e19a0539b4b81aa48041ef073e"
    )
    at = dt.datetime(2024, 12, 2, 1, 30, 0, 123456, tzinfo=dt.UTC)
    assert (
        chain_hash(
            "ab" * 32,
            at_text(at),
            None,
            "intake.received",
            "XX01-241202-0001-H",
            "notified->received 收件",
        )
        == "6847347e33bcf828f5309f2c61e23b0183d48a181395a0e77e6bbfee1713ae8a"
    )
    assert at_text(at) == "2024-12-02T01:30:00.123456Z"


def test_the_hub_loads_the_hash_without_the_station_store():
    code = "import sys, sync.hub.store, sync.hub.app; print('local_db.models' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_audit_entry_shape():
    e = {
        "id": 1,
        "at": "2024-12-02T01:30:00.000000Z",
        "staff_id": None,
        "action": "login.ok",
        "target": "",
        "detail": "",
        "prev_hash": GENESIS,
        "hash": "a" * 64,
    }
    assert check_audit_entry(e) is None
    assert check_audit_entry(dict(e, id=0)) == "审计记录 id 应为正整数"
    assert check_audit_entry(dict(e, at="2024-12-02 01:30:00")) is not None
    assert check_audit_entry(dict(e, hash="A" * 64)) is not None
    assert check_audit_entry(dict(e, staff_id="3")) is not None
    assert check_audit_entry(dict(e, extra=1)) is not None
    assert check_audit_entry(dict(e, detail="x\x00")) == "审计记录含有空字符"


# ----------------------------------------------------------------------------- verify
# A real SQLite file holding the audit table alone: append, then tamper the way an intruder with
# the file would (plain SQL), then verify.


@pytest.fixture
def audit_db(tmp_path):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from local_db.models import AuditEntry

    engine = create_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    AuditEntry.__table__.create(engine)
    t0 = dt.datetime(2024, 12, 2, 1, 0, tzinfo=dt.UTC)
    with Session(engine) as s, s.begin():
        for n, action in enumerate(["login.ok", "intake.received", "intake.pushed", "export"]):
            append(s, at=t0 + dt.timedelta(minutes=n), staff_id=None, action=action, target=f"t{n}")
    yield engine
    engine.dispose()


def _verify(engine):
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        return [(p.entry_id, p.code) for p in verify(s)]


def _sql(engine, statement):
    from sqlalchemy import text

    with engine.begin() as con:
        con.execute(text(statement))


def test_an_untouched_chain_verifies(audit_db):
    assert _verify(audit_db) == []


def test_each_entry_links_to_the_one_before(audit_db):
    from sqlalchemy import text

    with audit_db.connect() as con:
        rows = con.execute(text("SELECT prev_hash, hash FROM audit_entries ORDER BY id")).all()
    assert rows[0][0] == "0" * 64
    assert [r[0] for r in rows[1:]] == [r[1] for r in rows[:-1]]


def test_a_deleted_entry_breaks_the_chain_at_the_next_one(audit_db):
    _sql(audit_db, "DELETE FROM audit_entries WHERE id = 2")
    # entry 3's own hash still matches its fields; only the link to its predecessor is gone
    assert _verify(audit_db) == [(3, "audit.chain_broken")]


def test_a_deleted_first_entry_is_found(audit_db):
    _sql(audit_db, "DELETE FROM audit_entries WHERE id = 1")
    assert _verify(audit_db) == [(2, "audit.chain_broken")]


def test_two_entries_swapped_are_found(audit_db):
    # the rows keep their ids but exchange every other column: the order of events is forged
    cols = "at, staff_id, action, target, detail, prev_hash, hash"
    _sql(audit_db, f"CREATE TABLE tmp AS SELECT id, {cols} FROM audit_entries WHERE id IN (2, 3)")
    sets = ", ".join(
        f"{c} = (SELECT {c} FROM tmp WHERE tmp.id = 5 - audit_entries.id)" for c in cols.split(", ")
    )
    _sql(audit_db, f"UPDATE audit_entries SET {sets} WHERE id IN (2, 3)")
    assert _verify(audit_db) == [
        (2, "audit.chain_broken"),
        (3, "audit.chain_broken"),
        (4, "audit.chain_broken"),
    ]


def test_an_edited_entry_is_a_hash_mismatch(audit_db):
    _sql(audit_db, "UPDATE audit_entries SET target = 'other' WHERE id = 3")
    assert _verify(audit_db) == [(3, "audit.hash_mismatch")]


def test_a_forged_link_is_both_broken_and_mismatched(audit_db):
    _sql(audit_db, f"UPDATE audit_entries SET prev_hash = '{'1' * 64}' WHERE id = 3")
    assert _verify(audit_db) == [(3, "audit.chain_broken"), (3, "audit.hash_mismatch")]


def test_entries_appended_in_separate_transactions_link_to_the_last_one(audit_db):
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    t = dt.datetime(2024, 12, 3, 1, 0, tzinfo=dt.UTC)
    for n in range(2):
        with Session(audit_db) as s, s.begin():
            digest = append(s, at=t, staff_id=7, action="login.ok", target=f"later{n}")
            assert s.info["audit_head"] == digest
    with audit_db.connect() as con:
        rows = con.execute(text("SELECT id, prev_hash, hash FROM audit_entries ORDER BY id")).all()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[4][1] == rows[3][2] and rows[5][1] == rows[4][2]
    assert rows[5][2] == digest == chain_hash(rows[4][2], at_text(t), 7, "login.ok", "later1", "")
    assert _verify(audit_db) == []


def test_the_first_entry_links_to_genesis(tmp_path):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from local_db.models import AuditEntry

    engine = create_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    AuditEntry.__table__.create(engine)
    at = dt.datetime(2024, 12, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with Session(engine) as s, s.begin():
        digest = append(s, at=at, staff_id=3, action="login.ok")
    # the value pinned above for this entry
    assert digest == "d8d960ed49f276b21476677b2c3a4722956657e19a0539b4b81aa48041ef073e"
    with Session(engine) as s:
        e = s.scalars(select(AuditEntry)).one()
        assert (e.prev_hash, e.staff_id, e.action, e.target, e.detail) == (
            GENESIS,
            3,
            "login.ok",
            "",
            "",
        )
        assert verify(s) == []
    engine.dispose()


def test_times_are_hashed_in_utc_and_naive_times_refused():
    east8 = dt.timezone(dt.timedelta(hours=8))
    assert at_text(dt.datetime(2024, 12, 2, 9, 30, 0, 5, tzinfo=east8)) == (
        "2024-12-02T01:30:00.000005Z"
    )
    with pytest.raises(ValueError):
        at_text(dt.datetime(2024, 12, 2, 9, 30))


def test_problem_messages_name_the_entry(audit_db):
    from sqlalchemy.orm import Session

    _sql(audit_db, "DELETE FROM audit_entries WHERE id = 2")
    _sql(audit_db, "UPDATE audit_entries SET detail = 'x' WHERE id = 4")
    with Session(audit_db) as s:
        problems = verify(s)
    assert [(p.entry_id, p.code, p.message) for p in problems] == [
        (3, "audit.chain_broken", "第3条审计记录与前一条不衔接（记录被删除或调换）。"),
        (4, "audit.hash_mismatch", "第4条审计记录内容被改动。"),
    ]
