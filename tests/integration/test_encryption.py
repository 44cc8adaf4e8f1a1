"""Personal data at rest: what a stolen database file or disk reveals, and the key's life."""

import base64
import os
import sqlite3

import keyring
import pytest
from alembic import command
from sqlalchemy import create_engine, select

from app.backup import KEY_NAME
from app.cli import main
from app.context import build_context
from app.views import ApplicantInput
from local_db.crypto import DataKey, key_name
from local_db.engine import _alembic_config, open_store
from local_db.errors import StoreError
from local_db.keys import SERVICE, KeyringSecretStore, get_or_create_key, recovery_code
from local_db.models import Applicant
from printing.documents import build_document

pytestmark = pytest.mark.integration

NAME = "欧阳测试甲"
RID = "11010519491231002X"
PHONE = "13912345678"
ADDRESS = "新乡县幸福路88号"
PERSON = ApplicantInput(
    name=NAME,
    resident_id=RID,
    phone=PHONE,
    address=ADDRESS,
    sources={"name": "card", "resident_id": "card"},
)
ANSWERS = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True}


def _intake(ctx, clerk, person=PERSON, tolerate=True):
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(clerk, sid, person)
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    if tolerate:
        ctx.intake.mark(clerk, sid, "marriage_certificate", "tolerated")
    return sid


def _needles(*values):
    out = []
    for v in values:
        out += [v.encode("utf-8"), v.encode("utf-16-le"), v.encode("utf-16-be")]
    return out


def _plain_hits(root, needles):
    hits = []
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        data = f.read_bytes()
        hits += [(f.name, n) for n in needles if n in data]
    return hits


def test_database_and_attachment_files_hold_no_name_id_number_or_phone(ctx, staff, tmp_path):
    clerk = staff["clerk"]
    sid = _intake(ctx, clerk)
    # a "page" whose bytes carry the applicant's data in the clear, as a scan's metadata might
    page = b"\x89PNG fake page " + f"{NAME}|{RID}|{PHONE}|{ADDRESS}".encode()
    ctx.pages.attach_page(clerk, sid, "resident_id_card.father", page, "image/png")
    r = ctx.intake.finish(clerk, sid)
    assert r.documents == ("commitment", "receipt")
    for kind in r.documents:  # the commitment letter carries the full ID number
        ctx.documents.save_document(
            clerk, sid, kind, build_document(ctx.documents.document(clerk, sid, kind))
        )
    ctx.intake.mark_pushed(sid)
    for item in r.checklist.active_items:
        ctx.intake.record_decision(None, sid, item.id, "accepted")
        ctx.intake.record_decision(None, sid, item.id, "completed")
    ctx.intake.deliver(
        clerk, sid, method="express", tracking_number="SF1234567890123", address=ADDRESS
    )

    # the services still see everything (the clerk's own open intake shows the full number)
    view = ctx.queries.get(sid, clerk)
    assert (view.applicant.name, view.applicant.resident_id, view.applicant.phone) == (
        NAME,
        RID,
        PHONE,
    )
    assert ctx.pages.page_bytes(view.pages[0]) == page

    ctx.close()
    needles = _needles(NAME, RID, PHONE, ADDRESS, RID[6:14])  # the birth date inside the ID too
    files = list(tmp_path.rglob("*"))
    assert any(f.name.endswith("-wal") for f in files) or (tmp_path / "intake.sqlite3").exists()
    assert _plain_hits(tmp_path, needles) == []
    # and the check itself works: the same scan finds plaintext where there is some
    (tmp_path / "probe.txt").write_text(f"x{NAME}x", encoding="utf-8")
    assert _plain_hits(tmp_path, needles) == [("probe.txt", NAME.encode())]


def test_blob_files_are_ciphertext_under_keyed_names(ctx, staff, tmp_path):
    clerk = staff["clerk"]
    sid = _intake(ctx, clerk, tolerate=False)
    data = b"page bytes " * 100
    page = ctx.pages.attach_page(clerk, sid, "resident_id_card.father", data, "image/png")
    files = [p for p in (tmp_path / "intake-files" / "blobs").rglob("*") if p.is_file()]
    assert len(files) == 1
    assert files[0].name != page.sha256 and page.sha256 not in str(files[0])
    assert data[:20] not in files[0].read_bytes()
    assert ctx.attachments.get(page.sha256) == data
    raw = bytearray(files[0].read_bytes())
    raw[-1] ^= 1
    files[0].write_bytes(bytes(raw))
    with pytest.raises(StoreError) as exc:
        ctx.attachments.get(page.sha256)
    assert exc.value.code == "store.attachment_corrupt"


def test_lookups_by_id_number_phone_and_name_go_through_blind_indexes(ctx, staff):
    clerk = staff["clerk"]
    sid = _intake(ctx, clerk, tolerate=False)
    other = _intake(
        ctx,
        clerk,
        ApplicantInput(name="李四", resident_id="110105194912310021", phone="13700000000"),
        tolerate=False,
    )
    for q in (RID, RID.lower(), PHONE, NAME, "欧阳", "测试甲"):
        assert [r.submission_id for r in ctx.queries.search(q)] == [sid], q
    assert [r.submission_id for r in ctx.queries.search("李四")] == [other]
    assert ctx.queries.search("王五") == []
    with ctx.sessions() as s:
        a = s.scalars(
            select(Applicant).where(Applicant.name == NAME)
        ).all()  # ciphertext never equals
        assert a == []
        row = (
            s.connection()
            .exec_driver_sql(
                "SELECT name, resident_id, phone, resident_id_bidx FROM applicants ORDER BY id LIMIT 1"
            )
            .one()
        )
    assert all(isinstance(v, bytes) for v in row)
    assert row.resident_id_bidx != DataKey(os.urandom(32)).blind("resident_id", RID)


def test_a_tampered_encrypted_field_is_reported_not_crashed(ctx, staff, tmp_path, newborn_catalog):
    clerk = staff["clerk"]
    sid = _intake(ctx, clerk, tolerate=False)
    ctx.close()
    con = sqlite3.connect(tmp_path / "intake.sqlite3")
    (blob,) = con.execute("SELECT name FROM applicants").fetchone()
    flipped = bytearray(blob)
    flipped[20] ^= 0x40
    con.execute("UPDATE applicants SET name=?", (bytes(flipped),))
    con.commit()
    con.close()
    again = build_context(
        tmp_path / "intake.sqlite3", clock=ctx.clock, catalog_path=newborn_catalog
    )
    try:
        with pytest.raises(StoreError) as exc:
            again.queries.get(sid, clerk)
        assert exc.value.code == "store.decrypt_failed" and "恢复码" in exc.value.message
    finally:
        again.close()


def _drop_data_key(db_path):
    con = sqlite3.connect(db_path)
    (store_id,) = con.execute("SELECT value FROM settings WHERE key='store.id'").fetchone()
    con.close()
    keyring.delete_password(SERVICE, key_name(store_id))
    return store_id


def test_a_missing_data_key_gives_a_recovery_message_and_the_recovery_code_brings_it_back(
    ctx, staff, tmp_path, newborn_catalog, capsys
):
    clerk = staff["clerk"]
    sid = _intake(ctx, clerk, tolerate=False)
    code = recovery_code(
        get_or_create_key(KeyringSecretStore(), KEY_NAME)
    )  # written down by the admin
    db = tmp_path / "intake.sqlite3"
    ctx.close()
    _drop_data_key(db)
    keyring.delete_password(SERVICE, KEY_NAME)  # a replaced machine: nothing in its keyring

    with pytest.raises(StoreError) as exc:
        build_context(db, clock=ctx.clock, catalog_path=newborn_catalog)
    assert exc.value.code == "keys.data_key_missing"
    assert "intake keys recover" in exc.value.message and "恢复码" in exc.value.message

    assert main(["keys", "status", "--db", str(db), "--json"]) == 1
    assert (
        main(["keys", "recover", "--db", str(db), "--recovery-code", "AAAA-" + code[5:], "--json"])
        == 1
    )
    assert "恢复码与这个数据库不匹配" in capsys.readouterr().out
    assert main(["keys", "recover", "--db", str(db), "--recovery-code", code, "--json"]) == 0
    assert main(["keys", "status", "--db", str(db), "--json"]) == 0

    back = build_context(db, clock=ctx.clock, catalog_path=newborn_catalog)
    try:
        assert back.queries.get(sid, clerk).applicant.name == NAME
    finally:
        back.close()


def test_a_wrong_data_key_is_named_as_such(ctx, staff, tmp_path, newborn_catalog):
    db = tmp_path / "intake.sqlite3"
    ctx.close()
    store_id = _drop_data_key(db)
    keyring.set_password(SERVICE, key_name(store_id), base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(StoreError) as exc:
        build_context(db, clock=ctx.clock, catalog_path=newborn_catalog)
    assert exc.value.code == "keys.data_key_wrong" and "恢复码" in exc.value.message


def test_two_stores_in_one_process_keep_their_own_keys(
    ctx, staff, tmp_path, newborn_catalog, clock
):
    other = build_context(tmp_path / "other.sqlite3", clock=clock, catalog_path=newborn_catalog)
    try:
        other.staff.setup_station(
            code="XX02",
            name="二站",
            centre_name="中心",
            jurisdiction="xinxiang",
            admin_username="a2",
            admin_display_name="管理员",
            admin_password="admin1234",
        )
        a2 = other.staff.login("a2", "admin1234")
        sid2 = _intake(other, a2, tolerate=False)
        sid1 = _intake(ctx, staff["clerk"], tolerate=False)
        assert (
            other.queries.get(sid2, a2).applicant.name
            == NAME
            == ctx.queries.get(sid1, staff["clerk"]).applicant.name
        )
        assert other.attachments._key.check != ctx.attachments._key.check
    finally:
        other.close()


def test_migration_0004_encrypts_an_existing_plaintext_store(tmp_path, newborn_catalog, clock):
    """A store written before encryption (revision 0003) is encrypted in place on upgrade, and
    the old plaintext does not linger in freed pages."""
    db = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{db}")
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    engine.dispose()
    con = sqlite3.connect(db)
    con.execute(
        "INSERT INTO stations (id, code, name, centre_name, jurisdiction, progress_phone, is_local, created_at)"
        " VALUES (1, 'XX01', '站', '中心', 'xinxiang', '', 1, '2024-12-01T00:00:00.000000Z')"
    )
    con.execute(
        "INSERT INTO staff (id, station_id, username, display_name, role, password_hash, active, failed_logins,"
        " created_at) VALUES (1, 1, 'u', '王', 'clerk', 'x', 1, 0, '2024-12-01T00:00:00.000000Z')"
    )
    con.execute(
        "INSERT INTO applicants (id, kind, name, resident_id, gender, birth_date, address, phone, uscc,"
        " legal_representative, field_sources, consent_reuse, created_at, updated_at) VALUES"
        " (1, 'personal', ?, ?, '男', '1949-12-31', ?, ?, NULL, '', '{}', 0,"
        " '2024-12-01T00:00:00.000000Z', '2024-12-01T00:00:00.000000Z')",
        (NAME, RID, ADDRESS, PHONE),
    )
    con.execute(
        "INSERT INTO submissions (id, number, station_id, clerk_id, applicant_id, bundle_id, catalog_version,"
        " catalog_digest, state, awaiting_supplement, local_date, created_at, updated_at, delivery_method,"
        " delivery_address, reduction_separate, reduction_merged) VALUES ('s1', NULL, 1, 1, 1, NULL, 'v',"
        " 'd', 'draft', 0, '2024-12-02', '2024-12-02T01:00:00.000000Z', '2024-12-02T01:00:00.000000Z',"
        " 'window', '', 0, 0)"
    )
    con.execute(
        "INSERT INTO events (id, station_seq, submission_id, type, payload, clerk_id, at) VALUES"
        " ('e1', 1, 's1', 'applicant_set', ?, 1, '2024-12-02T01:00:00.000000Z')",
        (f'{{"name": "{NAME}", "resident_id": "{RID}", "phone": "{PHONE}"}}',),
    )
    con.commit()
    con.close()
    assert _plain_hits(tmp_path, _needles(NAME, RID)) != []

    sessions = open_store(db)
    with sessions() as s:
        a = s.get(Applicant, 1)
        assert (a.name, a.resident_id, a.phone, a.address, str(a.birth_date)) == (
            NAME,
            RID,
            PHONE,
            ADDRESS,
            "1949-12-31",
        )
        assert s.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        # while the store is still open: neither the main file nor the WAL holds the old text
        assert _plain_hits(tmp_path, _needles(NAME, RID, PHONE, ADDRESS)) == []
    sessions.kw["bind"].dispose()

    ctx = build_context(db, clock=clock, catalog_path=newborn_catalog)
    try:
        assert [r.submission_id for r in ctx.queries.search(RID)] == ["s1"]
        assert [r.submission_id for r in ctx.queries.search(PHONE)] == ["s1"]
    finally:
        ctx.close()


def test_a_tampered_payload_of_a_closed_day_is_a_seal_problem(ctx, staff, tmp_path):
    clerk, sup = staff["clerk"], staff["supervisor"]
    sid = _intake(ctx, clerk, tolerate=False)
    ctx.intake.finish(clerk, sid)
    import datetime as dt

    ctx.dayclose.close(sup, "super1234", dt.date(2024, 12, 2))
    assert ctx.dayclose.verify(sup) == []
    with ctx.sessions.begin() as s:
        conn = s.connection()
        blob = conn.exec_driver_sql(
            "SELECT payload FROM events WHERE type='applicant_set'"
        ).scalar()
        conn.exec_driver_sql(
            "UPDATE events SET payload=? WHERE type='applicant_set'",
            (blob[:-1] + bytes([blob[-1] ^ 1]),),
        )
    problems = ctx.dayclose.verify(sup)
    assert [p.code for p in problems] == ["dayclose.records_changed"]
