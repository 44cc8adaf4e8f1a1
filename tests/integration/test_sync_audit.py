"""The station's audit log and receipt key at the real hub on loopback: the hub's checked copy of
the whole chain, a broken chain refused there and parked here, the receipt key enrolled and used
by departments to tell a genuine receipt from an altered or forged one."""

import datetime as dt
import logging
import random

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update

from app.audit import at_text, chain_hash
from app.numbering import (
    format_intake_number,
    parse_receipt_payload,
)
from app.receipts import ReceiptSigner
from local_db.keys import MemorySecretStore
from local_db.models import AuditEntry
from sync.engine import SyncEngine
from sync.hub.server import HubThread
from sync.jobs.shared import SyncConfig
from sync.keystore import MemoryTokenStore
from tests.expected_logs import AUDIT_ENTRY_REFUSED, BAD_HEADERS
from tests.sync_doubles import FaultProxy, intake_with_pages, station

from .test_receipts import RECEIPT_FIELDS, altered_receipt

pytestmark = [
    pytest.mark.integration,
    AUDIT_ENTRY_REFUSED,
    pytest.mark.expect_log(
        logging.WARNING, "intake.sync", r"(refused by the hub|^sync paused|^hub lacks acknowledged)"
    ),
    BAD_HEADERS,
]

T0 = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)
FAST = SyncConfig(
    backoff_base=0.05,
    backoff_cap=0.3,
    connect_timeout=1,
    read_timeout=3,
    status_interval=0,
    catalog_interval=0,
    batch_events=40,
)


def enrolled(tmp_path, code, clock, catalog, hub, *, secrets=None, config=FAST, tokens=None, **kw):
    ctx, clerk = station(tmp_path / code, code, clock, catalog, secrets=secrets)
    eng = SyncEngine.from_context(
        ctx, tokens=tokens or MemoryTokenStore(), config=config, clock=clock, **kw
    )
    eng.enroll(hub.url, hub.store.issue_enroll_code(code))
    return ctx, clerk, eng


def local_audit(ctx):
    """The station's log as the hub's copy lists it."""
    with ctx.sessions() as s:
        return [
            {
                "id": e.id,
                "at": at_text(e.at),
                "staff_id": e.staff_id,
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def hub_audit(hub, code="XX01"):
    return [{k: v for k, v in e.items() if k != "store_id"} for e in hub.store.audit_of(code)]


# ----------------------------------------------------------------------------- audit copy


def test_the_hub_keeps_a_copy_of_the_whole_audit_log_and_gets_only_new_entries(
    tmp_path, clock, catalog, hub
):
    ctx, clerk = station(tmp_path / "XX01", "XX01", clock, catalog)
    ctx.staff.login("clerkxx01", "clerk1234")  # before enrollment: the whole chain goes
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    intake_with_pages(ctx, clerk, random.Random(1))
    report = eng.run_until_idle(max_seconds=30)
    mine = local_audit(ctx)
    assert {"station.setup", "account.create", "login.ok", "intake.received", "intake.pushed"} <= {
        e["action"] for e in mine
    }
    assert hub_audit(hub) == mine and mine[0]["id"] == 1
    assert report.audit_sent == len(mine)

    # a second sync sends only what is new
    ctx.staff.login("adminxx01", "admin1234")
    intake_with_pages(ctx, clerk, random.Random(2))
    report = eng.run_until_idle(max_seconds=30)
    now = local_audit(ctx)
    assert len(now) > len(mine) and now[: len(mine)] == mine
    assert report.audit_sent == len(now) - len(mine)
    assert hub_audit(hub) == now


def test_small_batches_and_a_lost_cursor_leave_the_same_copy(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = enrolled(
        tmp_path,
        "XX01",
        clock,
        catalog,
        hub,
        config=SyncConfig(
            backoff_base=0.05, backoff_cap=0.3, status_interval=0, catalog_interval=0, batch_audit=4
        ),
    )
    for n in range(3):
        ctx.staff.login("clerkxx01", "clerk1234")
        intake_with_pages(ctx, clerk, random.Random(n))
    eng.run_until_idle(max_seconds=30)
    mine = local_audit(ctx)
    assert len(mine) > 12 and hub_audit(hub) == mine
    # the station forgets its cursor: everything is sent again and acknowledged, nothing changes
    eng.outbox.set(audit_acked_id=0)
    report = eng.run_until_idle(max_seconds=30)
    assert report.audit_sent == len(mine) and hub_audit(hub) == mine
    assert eng.outbox.get_int("audit_acked_id") == mine[-1]["id"] and eng.status().needs_person == 0


def test_a_new_hub_gets_the_whole_chain_although_the_station_had_sent_it_elsewhere(
    tmp_path, clock, catalog, hub
):
    ctx, clerk, eng = enrolled(tmp_path, "XX01", clock, catalog, hub)
    intake_with_pages(ctx, clerk, random.Random(1))
    eng.run_until_idle(max_seconds=30)
    assert eng.outbox.get_int("audit_acked_id") == len(local_audit(ctx))
    other = HubThread(f"sqlite:///{tmp_path}/hub2.sqlite3", tmp_path / "hub2-blobs").start()
    try:
        eng.enroll(other.url, other.store.issue_enroll_code("XX01"))
        ctx.staff.login("clerkxx01", "clerk1234")
        eng.run_until_idle(max_seconds=30)
        assert hub_audit(other) == local_audit(ctx) and eng.status().needs_person == 0
    finally:
        other.stop()


def test_lost_answers_and_broken_connections_leave_the_copy_whole_and_nothing_parked(
    tmp_path, clock, catalog, hub
):
    proxy = FaultProxy(hub.port, seed=5, stall=1.0).start()
    try:
        config = SyncConfig(
            backoff_base=0.02,
            backoff_cap=0.1,
            connect_timeout=1,
            read_timeout=2,
            status_interval=0,
            catalog_interval=3600,
            batch_audit=3,
        )
        ctx, clerk, eng = enrolled(tmp_path, "XX01", clock, catalog, hub, config=config)
        eng.outbox.set(hub_url=proxy.url)  # the link goes through the relay from here
        for n in range(4):
            ctx.staff.login("clerkxx01", "clerk1234")
            intake_with_pages(ctx, clerk, random.Random(n))
        proxy.faults = {
            "cut_answer": 0.15,
            "drop": 0.05,
            "reset": 0.05,
            "error500": 0.05,
            "html": 0.05,
        }
        for _ in range(30):
            eng.run_until_idle(max_seconds=10)
            if hub_audit(hub) == local_audit(ctx):
                break
        assert proxy.injected.get("cut_answer", 0) >= 2, proxy.injected
        proxy.faults = {}
        eng.run_until_idle(max_seconds=30)
        assert hub_audit(hub) == local_audit(ctx)
        assert (
            eng.status().needs_person == 0
            and eng.outbox.get_int("audit_acked_id") == local_audit(ctx)[-1]["id"]
        )
    finally:
        proxy.stop()


@pytest.mark.parametrize("tamper", ["edited", "relinked", "deleted"])
def test_a_broken_chain_is_refused_by_the_hub_and_parked_at_the_station(
    tmp_path, clock, catalog, hub, tamper
):
    ctx, clerk, eng = enrolled(tmp_path, "XX01", clock, catalog, hub)
    intake_with_pages(ctx, clerk, random.Random(1))
    eng.run_until_idle(max_seconds=30)
    before = hub_audit(hub)
    n = len(before)
    for _ in range(3):
        ctx.staff.login("clerkxx01", "clerk1234")  # entries n+1 .. n+3
    bad = n + 2
    with ctx.sessions.begin() as s:
        if tamper == "edited":  # the content changed, the hash left as it was
            s.execute(update(AuditEntry).where(AuditEntry.id == bad).values(detail="改过"))
        elif tamper == "relinked":  # changed and re-hashed: it recomputes, but no longer links
            e = s.get(AuditEntry, bad)
            e.prev_hash = "f" * 64
            e.hash = chain_hash(
                e.prev_hash, at_text(e.at), e.staff_id, e.action, e.target, e.detail
            )
        else:
            s.execute(delete(AuditEntry).where(AuditEntry.id == bad))
    sid = intake_with_pages(ctx, clerk, random.Random(2))
    eng.run_until_idle(max_seconds=30)

    after = hub_audit(hub)
    assert after[:n] == before  # what the hub held is unchanged
    assert [e["id"] for e in after] == list(range(1, bad))  # the valid prefix, nothing beyond
    assert after[-1] == next(e for e in local_audit(ctx) if e["id"] == bad - 1)
    assert ctx.queries.get(sid).stage == "pushed"  # the intakes keep going
    parked = [q for q in eng.queue() if q.kind == "audit"]
    refused = bad + 1 if tamper == "deleted" else bad
    assert (
        len(parked) == 1
        and parked[0].state == "needs_person"
        and parked[0].detail["key"] == str(refused)
    )
    problem = parked[0].last_error
    assert problem.code == "sync.audit_refused" and "审计日志" in problem.message
    assert f"第{refused}条审计记录" in problem.message and "intake audit verify" in problem.fix
    assert eng.needs_person() and eng.status().needs_person == 1

    # asked again, the hub refuses again and keeps its copy as it was
    eng.retry(parked[0].id)
    eng.run_until_idle(max_seconds=30)
    assert hub_audit(hub) == after
    assert [q.state for q in eng.queue() if q.kind == "audit"] == ["needs_person"]


# ----------------------------------------------------------------------------- receipt keys


def _verifier(hub):
    key = hub.store.issue_dept_key("新乡县卫健委")

    def verify(payload):
        r = requests.post(
            f"{hub.url}/v1/receipts/verify",
            json={"payload": payload},
            headers={"Authorization": "Bearer " + key},
        )
        assert r.status_code == 200, r.text
        return r.json()

    return verify


@pytest.fixture()
def signed_station(tmp_path, clock, catalog, hub):
    ctx, clerk, eng = enrolled(tmp_path, "XX01", clock, catalog, hub, secrets=MemorySecretStore())
    sid = intake_with_pages(ctx, clerk, random.Random(1))
    doc = ctx.documents.document(None, sid, "receipt")
    return ctx, eng, doc


def test_enrollment_registers_the_receipt_key_and_a_genuine_receipt_verifies(signed_station, hub):
    ctx, eng, doc = signed_station
    assert ctx.signer is not None
    assert hub.store.receipt_keys("XX01") == {ctx.signer.key_id: ctx.signer.public_key_text()}
    assert eng.outbox.get("receipt_key_id") == ctx.signer.key_id
    v = _verifier(hub)(doc.qr_payload)
    assert v["valid"] is True and v["code"] == "receipt.ok" and v["message"] == "回执真实有效。"
    assert v["number"] == doc.number and v["station"] == "XX01" and v["on_hub"] is False
    eng.run_until_idle(max_seconds=30)
    assert _verifier(hub)(doc.qr_payload)["on_hub"] is True
    # without a department key the hub does not answer
    r = requests.post(f"{hub.url}/v1/receipts/verify", json={"payload": doc.qr_payload})
    assert r.status_code == 401


@pytest.mark.parametrize("field", RECEIPT_FIELDS)
def test_a_receipt_with_any_field_changed_is_refused(signed_station, hub, field):
    _ctx, _eng, doc = signed_station
    v = _verifier(hub)(altered_receipt(doc.qr_payload, field))
    assert v["valid"] is False
    assert v["code"] == ("receipt.unknown_key" if field == "k" else "receipt.bad_signature")
    assert "伪造" in v["message"]


def test_a_receipt_signed_by_an_unknown_key_or_another_station_is_refused(
    signed_station, hub, tmp_path, clock, catalog
):
    _ctx, _eng, doc = signed_station
    ref = parse_receipt_payload(doc.qr_payload)
    verify = _verifier(hub)
    stranger = ReceiptSigner(Ed25519PrivateKey.generate())
    v = verify(stranger.payload(doc.number, ref.fields["t"], ref.fields["m"]))
    assert (v["valid"], v["code"], v["station"]) == (False, "receipt.unknown_key", None)
    # a key the hub knows, but of another station, signing this station's number
    ctx2, _clerk2, _eng2 = enrolled(
        tmp_path, "XX02", clock, catalog, hub, secrets=MemorySecretStore()
    )
    v = verify(ctx2.signer.payload(doc.number, ref.fields["t"], ref.fields["m"]))
    assert (v["valid"], v["code"], v["station"]) == (False, "receipt.station_mismatch", "XX02")


def test_a_key_missing_at_enrollment_is_sent_by_a_later_sync_and_old_keys_are_kept(
    tmp_path, clock, catalog, hub
):
    tokens = MemoryTokenStore()
    ctx, _clerk, eng = enrolled(
        tmp_path, "XX01", clock, catalog, hub, tokens=tokens, signer=None
    )  # no keyring
    assert eng.signer is None
    eng.run_until_idle(max_seconds=30)
    assert hub.store.receipt_keys("XX01") == {}
    first = ReceiptSigner.from_store(MemorySecretStore())
    SyncEngine.from_context(
        ctx, tokens=tokens, config=FAST, clock=clock, signer=first
    ).run_until_idle(max_seconds=30)
    assert hub.store.receipt_keys("XX01") == {first.key_id: first.public_key_text()}
    second = ReceiptSigner.from_store(MemorySecretStore())  # a new key later (a rebuilt keyring)
    SyncEngine.from_context(
        ctx, tokens=tokens, config=FAST, clock=clock, signer=second
    ).run_until_idle(max_seconds=30)
    assert hub.store.receipt_keys("XX01") == {
        first.key_id: first.public_key_text(),
        second.key_id: second.public_key_text(),
    }
    # receipts signed with the old key still verify
    number = format_intake_number("XX01", dt.date(2024, 12, 2), 1)
    assert _verifier(hub)(first.payload(number, "2024-12-02T09:30", "ab" * 16))["valid"] is True


def test_a_key_the_hub_refuses_is_parked_with_a_reason(tmp_path, clock, catalog, hub):
    secrets = MemorySecretStore()
    _ctx1, _c1, _e1 = enrolled(tmp_path, "XX01", clock, catalog, hub, secrets=secrets)
    # a second station holding the same key (a copied keyring): the hub never rebinds a key id
    ctx, _clerk, eng = enrolled(tmp_path, "XX02", clock, catalog, hub, secrets=secrets)
    assert hub.store.receipt_keys("XX02") == {} and eng.outbox.get("receipt_key_id") is None
    eng.run_until_idle(max_seconds=30)
    parked = [q for q in eng.queue() if q.kind == "receipt_key"]
    assert len(parked) == 1 and parked[0].state == "needs_person"
    assert (
        parked[0].last_error.code == "sync.receipt_key_refused"
        and "另一站点" in parked[0].last_error.message
    )
    assert hub.store.receipt_keys("XX01") == {ctx.signer.key_id: ctx.signer.public_key_text()}


# Warnings these tests provoke on purpose (the log-failure fixture fails any other).
