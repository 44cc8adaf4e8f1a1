"""The reference hub over HTTP on loopback, on SQLite and on a real PostgreSQL server.

PostgreSQL: INTAKE_TEST_PG_URL (installer/ci-postgres.sh prints it), else a throwaway cluster
started here from the Debian binaries. Never skipped.
"""

import hashlib
import json
import os
import uuid

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.audit import GENESIS, chain_hash
from app.receipts import ReceiptSigner
from sync.protocol import frame_header
from tests.expected_logs import AUDIT_ENTRY_REFUSED
from tests.hub_doubles import station_session
from tests.sync_doubles import hub_on, small_catalog

pytestmark = [
    pytest.mark.integration,
    AUDIT_ENTRY_REFUSED,
]


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    with hub_on(request.param, tmp_path, lambda: request.getfixturevalue("pg_admin_url")) as h:
        yield h


def enroll(hub, code="XX01", store=None):
    return station_session(hub.url, hub.store.issue_enroll_code(code), store, station_code=code)


def ev(sid, seq, etype="created", payload=None, eid=None):
    return {
        "id": eid or str(uuid.uuid4()),
        "seq": seq,
        "submission_id": sid,
        "type": etype,
        "payload": payload if payload is not None else {},
        "clerk_id": 1,
        "at": "2024-12-02T01:30:00.000000Z",
    }


def post_events(hub, s, events):
    r = s.post(f"{hub.url}/v1/events", json={"store_id": s.store_id, "events": events})
    assert r.status_code == 200, r.text
    return r.json()


def test_backend_is_the_one_asked_for(hub):
    assert hub.store.engine.dialect.name == hub.kind


def test_enrollment_code_is_single_use_and_a_lost_answer_can_be_retried(hub):
    code = hub.store.issue_enroll_code("XX01")
    store = str(uuid.uuid4())
    first = requests.post(f"{hub.url}/v1/enrollments", json={"code": code, "store_id": store})
    again = requests.post(
        f"{hub.url}/v1/enrollments", json={"code": code.lower(), "store_id": store}
    )
    assert first.status_code == again.status_code == 201
    other = requests.post(
        f"{hub.url}/v1/enrollments", json={"code": code, "store_id": str(uuid.uuid4())}
    )
    assert other.status_code == 403 and other.json()["error"]["code"] == "enroll.code_used"
    # the retried exchange revoked the token whose answer was lost
    old = requests.get(
        f"{hub.url}/v1/ping", headers={"Authorization": "Bearer " + first.json()["token"]}
    )
    new = requests.get(
        f"{hub.url}/v1/ping", headers={"Authorization": "Bearer " + again.json()["token"]}
    )
    assert (
        old.status_code == 401 and new.status_code == 200 and new.json()["station_code"] == "XX01"
    )
    wrong = requests.post(
        f"{hub.url}/v1/enrollments", json={"code": "AAAA-BBBB-CCCC", "store_id": store}
    )
    assert wrong.status_code == 403 and "登记码" in wrong.json()["error"]["message"]


def test_events_are_idempotent_and_conflicts_refused(hub):
    s = enroll(hub)
    sid = str(uuid.uuid4())
    batch = [ev(sid, 1), ev(sid, 2, "applicant_set", {"name": "x"})]
    assert [r["status"] for r in post_events(hub, s, batch)["results"]] == ["stored", "stored"]
    assert [r["status"] for r in post_events(hub, s, batch)["results"]] == [
        "duplicate",
        "duplicate",
    ]
    changed = dict(batch[1], payload={"name": "y"})
    res = post_events(hub, s, [changed])["results"][0]
    assert res["status"] == "refused" and res["code"] == "event.conflict" and not res["retry"]
    same_seq = ev(sid, 2, "answered", {"answers": {}})
    assert post_events(hub, s, [same_seq])["results"][0]["code"] == "event.seq_conflict"
    bad = dict(ev(sid, 3), type="Not A Type")
    assert post_events(hub, s, [bad])["results"][0]["code"] == "event.type"
    newer = ev(
        sid, 4, "page_rotated_3d", {"attachment": "a"}
    )  # a type from a newer station is kept
    assert post_events(hub, s, [newer])["results"][0]["status"] == "stored"
    assert hub.store.counts()["events"] == 3


def test_a_station_cannot_write_to_another_stations_submission(hub):
    a, b = enroll(hub, "XX01"), enroll(hub, "XX02")
    sid = str(uuid.uuid4())
    post_events(hub, a, [ev(sid, 1)])
    res = post_events(hub, b, [ev(sid, 1, "applicant_set", {})])["results"][0]
    assert res["status"] == "refused" and res["code"] == "submission.forbidden"
    m = b.post(
        f"{hub.url}/v1/manifests", json={"manifests": [{"submission_id": sid, "pages": []}]}
    ).json()
    assert m["refused"][0]["code"] == "submission.forbidden"
    wrong_store = b.post(f"{hub.url}/v1/events", json={"store_id": a.store_id, "events": []})
    assert wrong_store.status_code == 403


def test_page_before_its_event_manifest_and_resumable_upload(hub):
    s = enroll(hub)
    sid = str(uuid.uuid4())
    data = os.urandom(300_000)
    sha = hashlib.sha256(data).hexdigest()
    page_ev = ev(
        sid,
        2,
        "page_attached",
        {"sha256": sha, "size": len(data), "material": "m", "attachment": "a"},
    )
    res = post_events(hub, s, [ev(sid, 1), page_ev, ev(sid, 3, "digitised")])["results"]
    assert [r["status"] for r in res] == ["stored", "refused", "skipped"]
    assert res[1]["code"] == "page.missing" and res[1]["retry"]
    needed = s.post(
        f"{hub.url}/v1/manifests",
        json={"manifests": [{"submission_id": sid, "pages": [{"sha256": sha, "size": len(data)}]}]},
    ).json()["needed"]
    assert needed == [{"sha256": sha, "size": len(data), "offset": 0}]
    # first half arrives, then the connection is gone: the hub keeps it and says where to resume
    half = s.put(
        f"{hub.url}/v1/blobs/{sha}",
        data=data[:120_000],
        headers={"Upload-Offset": "0", "Upload-Length": str(len(data))},
    ).json()
    assert half == {"sha256": sha, "offset": 120_000, "complete": False}
    head = s.head(f"{hub.url}/v1/blobs/{sha}")
    assert head.status_code == 404 and head.headers["Upload-Offset"] == "120000"
    needed = s.post(
        f"{hub.url}/v1/manifests",
        json={"manifests": [{"submission_id": sid, "pages": [{"sha256": sha, "size": len(data)}]}]},
    ).json()["needed"]
    assert needed[0]["offset"] == 120_000
    gap = s.put(
        f"{hub.url}/v1/blobs/{sha}",
        data=data[200_000:],
        headers={"Upload-Offset": "200000", "Upload-Length": str(len(data))},
    )
    assert gap.status_code == 409 and gap.headers["Upload-Offset"] == "120000"
    # resending an overlap is fine: the hub skips what it holds
    done = s.put(
        f"{hub.url}/v1/blobs/{sha}",
        data=data[100_000:],
        headers={"Upload-Offset": "100000", "Upload-Length": str(len(data))},
    ).json()
    assert done["complete"] and hub.blobs.read(sha) == data
    res = post_events(hub, s, [page_ev, ev(sid, 3, "digitised")])["results"]
    assert [r["status"] for r in res] == ["stored", "stored"]


def test_a_damaged_upload_is_dropped_whole(hub):
    s = enroll(hub)
    data = os.urandom(5000)
    sha = hashlib.sha256(data).hexdigest()
    bad = bytearray(data)
    bad[10] ^= 1
    r = s.put(
        f"{hub.url}/v1/blobs/{sha}",
        data=bytes(bad),
        headers={"Upload-Offset": "0", "Upload-Length": "5000"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "blob.hash_mismatch"
    assert not hub.blobs.has(sha) and hub.blobs.offset(sha) == 0


def test_page_batch_framing(hub):
    s = enroll(hub)
    pages = [os.urandom(n) for n in (10, 5000, 70_000)]
    shas = [hashlib.sha256(p).hexdigest() for p in pages]
    body = b"".join(
        frame_header(h, 0, len(p), len(p)) + p for h, p in zip(shas, pages, strict=False)
    )
    # and the second half of a page whose first half is already there
    tail = os.urandom(9000)
    tsha = hashlib.sha256(tail).hexdigest()
    s.put(
        f"{hub.url}/v1/blobs/{tsha}",
        data=tail[:4000],
        headers={"Upload-Offset": "0", "Upload-Length": "9000"},
    )
    body += frame_header(tsha, 4000, 5000, 9000) + tail[4000:]
    r = s.post(
        f"{hub.url}/v1/blobs", data=body, headers={"Content-Type": "application/x-intake-blobs"}
    )
    assert r.status_code == 200, r.text
    assert all(b["complete"] for b in r.json()["blobs"])
    for h, p in zip([*shas, tsha], [*pages, tail], strict=False):
        assert hub.blobs.read(h) == p


def _received(hub, s, items=("item_a", "item_b")):
    sid = str(uuid.uuid4())
    post_events(
        hub,
        s,
        [
            ev(sid, 1),
            ev(sid, 2, "received", {"number": "XX01-241202-0001-H", "items": list(items)}),
        ],
    )
    return sid


def test_department_decisions_flow_to_the_station_feed(hub):
    s = enroll(hub)
    key = hub.store.issue_dept_key("卫健委")
    dept = {"Authorization": "Bearer " + key}
    sid = _received(hub, s)

    def post(**b):
        return requests.post(f"{hub.url}/v1/dept/decisions", json=b, headers=dept)

    assert post(submission_id=sid, item_id="item_a", decision="accepted").status_code == 201
    dup = post(submission_id=sid, item_id="item_a", decision="accepted")
    assert dup.status_code == 201 and dup.json()["status"] == "duplicate"
    assert (
        post(number="XX01-241202-0001-H", item_id="item_a", decision="completed").status_code == 201
    )
    assert (
        post(submission_id=sid, item_id="item_b", decision="rejected").status_code == 400
    )  # reason needed
    assert (
        post(
            submission_id=sid, item_id="item_b", decision="rejected", reason="材料不符合法定形式"
        ).status_code
        == 201
    )
    assert (
        post(submission_id=sid, item_id="item_b", decision="completed").json()["error"]["code"]
        == "decision.order"
    )
    assert post(submission_id=sid, item_id="nope", decision="accepted").status_code == 422
    assert (
        requests.post(
            f"{hub.url}/v1/dept/decisions", json={}, headers={"Authorization": "Bearer x"}
        ).status_code
        == 401
    )
    feed = s.get(f"{hub.url}/v1/status-updates", params={"after": 0}).json()
    assert [(u["cursor"], u["item_id"], u["decision"]) for u in feed["updates"]] == [
        (1, "item_a", "accepted"),
        (2, "item_a", "completed"),
        (3, "item_b", "rejected"),
    ]
    assert feed["updates"][2]["reason"] == "材料不符合法定形式"
    assert s.get(f"{hub.url}/v1/status-updates", params={"after": 3}).json()["updates"] == []
    other = enroll(hub, "XX02")
    assert other.get(f"{hub.url}/v1/status-updates", params={"after": 0}).json()["updates"] == []


def test_decision_on_an_intake_not_yet_received_is_refused(hub):
    s = enroll(hub)
    sid = str(uuid.uuid4())
    post_events(hub, s, [ev(sid, 1)])
    key = hub.store.issue_dept_key("民政局")
    r = requests.post(
        f"{hub.url}/v1/dept/decisions",
        json={"submission_id": sid, "item_id": "a", "decision": "accepted"},
        headers={"Authorization": "Bearer " + key},
    )
    assert r.status_code == 409


def test_revoked_token_is_refused(hub):
    s = enroll(hub)
    assert s.get(f"{hub.url}/v1/ping").status_code == 200
    assert hub.store.revoke("XX01") == 1
    r = s.get(f"{hub.url}/v1/ping")
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.revoked"


def test_catalog_download_with_etag(hub, tmp_path):
    s = enroll(hub)
    assert s.get(f"{hub.url}/v1/catalog").status_code == 404
    out = hub.store.publish_catalog(small_catalog(tmp_path / "cat", "2099.01.01-1"))
    r = s.get(f"{hub.url}/v1/catalog")
    assert r.status_code == 200 and r.headers["X-Catalog-Digest"] == out["digest"]
    assert hashlib.sha256(r.content).hexdigest() == out["digest"]
    assert json.loads(r.content)["header"]["version"] == "2099.01.01-1"
    assert (
        s.get(
            f"{hub.url}/v1/catalog", headers={"If-None-Match": f'"x", "{out["digest"]}"'}
        ).status_code
        == 304
    )
    older = small_catalog(tmp_path / "old", "2000.01.01-1")
    with pytest.raises(Exception) as exc:
        hub.store.publish_catalog(older)
    assert exc.value.code == "catalog.older"


def test_received_ranges_and_bad_requests(hub):
    s = enroll(hub)
    sid = str(uuid.uuid4())
    post_events(
        hub,
        s,
        [
            ev(sid, n) if n == 1 else ev(sid, n, "answered", {"answers": {}})
            for n in (1, 2, 3, 7, 8)
        ],
    )
    assert s.get(f"{hub.url}/v1/events/received", params={"start": 1, "end": 100}).json()[
        "ranges"
    ] == [[1, 3], [7, 8]]
    assert (
        s.post(
            f"{hub.url}/v1/events", data=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert (
        s.post(
            f"{hub.url}/v1/events", data=b"{}", headers={"Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    assert requests.get(f"{hub.url}/v1/ping").status_code == 401


# ----------------------------------------------------------------------------- audit copy, receipt keys


def audit_chain(n, prev=GENESIS, first=1):
    """N well-chained audit entries as a station writes them (ids FIRST…)."""
    out = []
    for i in range(first, first + n):
        e = {
            "id": i,
            "at": f"2024-12-02T01:30:{i % 60:02d}.000000Z",
            "staff_id": i % 3 or None,
            "action": "login.ok",
            "target": "" if i % 2 else "XX01-241202-0001-H",
            "detail": f"第{i}次",
            "prev_hash": prev,
        }
        e["hash"] = prev = chain_hash(
            prev, e["at"], e["staff_id"], e["action"], e["target"], e["detail"]
        )
        out.append(e)
    return out


def post_audit(hub, s, entries, store=None):
    return s.post(f"{hub.url}/v1/audit", json={"store_id": store or s.store_id, "entries": entries})


def test_the_audit_copy_checks_every_link_and_is_never_changed(hub):
    s = enroll(hub)
    chain = audit_chain(10)
    r = post_audit(hub, s, chain[:4])
    assert r.status_code == 200 and r.json()["last_id"] == 4 and r.json()["stored"] == 4
    # re-sent entries are acknowledged, the new ones appended
    r = post_audit(hub, s, chain[2:7]).json()
    assert (r["last_id"], r["stored"], r["duplicate"], r["last_hash"]) == (
        7,
        3,
        2,
        chain[6]["hash"],
    )
    # a hash that does not recompute: the entries before it are kept, it and the rest refused
    edited = [dict(e) for e in chain[7:]]
    edited[1]["detail"] = "改过"
    r = post_audit(hub, s, edited)
    err = r.json()["error"]
    assert (
        r.status_code == 422 and err["code"] == "audit.hash_mismatch" and "第9条" in err["message"]
    )
    assert (err["entry_id"], err["last_id"], err["stored"], err["retry"]) == (9, 8, 1, False)
    # a prev_hash that does not chain to the copy's last entry, although its own hash recomputes
    relinked = dict(chain[8], prev_hash="f" * 64)
    relinked["hash"] = chain_hash(
        "f" * 64, *(relinked[k] for k in ("at", "staff_id", "action", "target", "detail"))
    )
    r = post_audit(hub, s, [relinked])
    assert r.status_code == 409 and r.json()["error"]["code"] == "audit.chain_broken"
    assert r.json()["error"]["last_id"] == 8 and "不衔接" in r.json()["error"]["message"]
    # an entry the copy holds, sent again with other content
    r = post_audit(hub, s, [dict(chain[0], detail="改过")])
    assert r.status_code == 409 and r.json()["error"]["code"] == "audit.conflict"
    # the copy lacks entries before the one sent: where to resume
    r = post_audit(hub, s, chain[9:])
    err = r.json()["error"]
    assert r.status_code == 409 and (err["code"], err["last_id"], err["retry"]) == (
        "audit.gap",
        8,
        True,
    )
    assert [e["hash"] for e in hub.store.audit_of("XX01")] == [e["hash"] for e in chain[:8]]
    assert hub.store.audit_of("XX01")[0] == dict(chain[0], store_id=s.store_id)
    # and the rest, sent properly, completes it
    assert post_audit(hub, s, chain[8:]).json()["last_id"] == 10


def test_each_store_has_its_own_chain_and_bad_batches_store_nothing(hub):
    a, b = enroll(hub, "XX01"), enroll(hub, "XX02")
    assert post_audit(hub, a, audit_chain(3)).status_code == 200
    first = dict(audit_chain(1)[0], prev_hash="a" * 64)  # a first entry must start from GENESIS
    first["hash"] = chain_hash(
        first["prev_hash"], *(first[k] for k in ("at", "staff_id", "action", "target", "detail"))
    )
    assert post_audit(hub, b, [first]).json()["error"]["code"] == "audit.chain_broken"
    assert post_audit(hub, b, audit_chain(2)).json()["last_id"] == 2  # the same ids, another chain
    assert post_audit(hub, b, audit_chain(2), store=a.store_id).status_code == 403
    malformed = audit_chain(5, first=1)
    malformed[3]["at"] = "yesterday"
    r = post_audit(hub, b, malformed)
    # refused by the request schema, naming the entry (0-based) and the field
    assert r.status_code == 400 and r.json()["error"]["code"] == "request.schema"
    assert r.json()["error"]["field"] == "entries.3.at" and r.json()["error"]["retry"] is False
    r = post_audit(hub, b, list(reversed(audit_chain(4))))
    assert r.status_code == 400 and r.json()["error"]["code"] == "audit.order"
    assert [e["id"] for e in hub.store.audit_of("XX02")] == [1, 2]
    assert [e["id"] for e in hub.store.audit_of("XX01")] == [1, 2, 3]


def test_receipt_keys_are_kept_and_a_key_id_is_never_rebound(hub):
    a, b = enroll(hub, "XX01"), enroll(hub, "XX02")
    k1, k2 = (ReceiptSigner(Ed25519PrivateKey.generate()) for _ in range(2))

    def post(s, kid, text):
        return s.post(f"{hub.url}/v1/receipt-keys", json={"key_id": kid, "public_key": text})

    assert post(a, k1.key_id, k1.public_key_text()).json()["status"] == "stored"
    assert post(a, k1.key_id, k1.public_key_text()).json()["status"] == "duplicate"
    assert post(a, k2.key_id, k2.public_key_text()).json()["status"] == "stored"
    r = post(b, k1.key_id, k1.public_key_text())
    assert (
        r.status_code == 409
        and r.json()["error"]["code"] == "receipt_key.conflict"
        and "站点" in r.json()["error"]["message"]
    )
    assert post(a, k2.key_id, k1.public_key_text()).json()["error"]["code"] == "receipt_key.id"
    assert (
        post(a, "00000000", "not a key").json()["error"]["code"] == "request.schema"
    )  # not 43 characters
    assert post(a, "00000000", "!" * 43).json()["error"]["code"] == "receipt_key.invalid"
    assert hub.store.receipt_keys("XX01") == {
        k1.key_id: k1.public_key_text(),
        k2.key_id: k2.public_key_text(),
    }
    assert hub.store.receipt_keys("XX02") == {}
    # the key sent with an enrollment
    k3 = ReceiptSigner(Ed25519PrivateKey.generate())
    code = hub.store.issue_enroll_code("XX03")
    r = requests.post(
        f"{hub.url}/v1/enrollments",
        json={
            "code": code,
            "store_id": str(uuid.uuid4()),
            "receipt_key": {"key_id": k3.key_id, "public_key": k3.public_key_text()},
        },
    )
    assert r.status_code == 201 and r.json()["receipt_key"] == {"status": "stored"}
    # a refused key does not stop an enrollment
    code = hub.store.issue_enroll_code("XX04")
    r = requests.post(
        f"{hub.url}/v1/enrollments",
        json={
            "code": code,
            "store_id": str(uuid.uuid4()),
            "receipt_key": {"key_id": k3.key_id, "public_key": k3.public_key_text()},
        },
    )
    assert r.status_code == 201 and r.json()["receipt_key"]["code"] == "receipt_key.conflict"
    assert (
        hub.store.receipt_keys("XX03") == {k3.key_id: k3.public_key_text()}
        and hub.store.receipt_keys("XX04") == {}
    )


def test_an_existing_hub_database_gets_the_new_tables(hub):
    from sqlalchemy import inspect, text

    from sync.hub.models import (
        HubAuditEntry,
        HubDataKey,
        HubNotice,
        HubNoticeSeq,
        HubOnlineApplication,
        HubPageHolder,
        HubRating,
        HubReceiptKey,
    )
    from sync.hub.schema import head_revision
    from sync.hub.store import HubStore

    s = enroll(hub)
    # a hub database of the first hub: made with create_all, before these tables and migrations
    tables = (
        HubNotice,  # 0008
        HubNoticeSeq,
        HubRating,  # 0007
        HubOnlineApplication,  # 0006
        HubAuditEntry,
        HubReceiptKey,
        HubPageHolder,
        HubDataKey,
    )
    for table in tables:
        table.__table__.drop(hub.store.engine)
    with hub.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("ALTER TABLE hub_dept_keys DROP COLUMN items"))
        conn.execute(text("ALTER TABLE hub_stations DROP COLUMN county"))
        for column in ("last_seen_at", "client_version", "catalog_version", "backlog"):  # 0005
            conn.execute(text(f"ALTER TABLE hub_stations DROP COLUMN {column}"))
        conn.execute(text("DROP INDEX ix_hub_manifest_pages_missing"))  # 0009
        conn.execute(text("DROP INDEX ix_hub_manifest_pages_sha256"))
        conn.execute(text("ALTER TABLE hub_manifest_pages DROP COLUMN missing"))
        conn.execute(text("DROP INDEX ix_hub_submissions_listed"))  # 0010
        conn.execute(text("ALTER TABLE hub_submissions DROP COLUMN listed_at"))
    assert "hub_audit_entries" not in inspect(hub.store.engine).get_table_names()
    HubStore(hub.store.url).close()  # what `intake hub serve` does at its start
    assert {"hub_audit_entries", "hub_receipt_keys"} <= set(
        inspect(hub.store.engine).get_table_names()
    )
    with hub.store.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            == head_revision()
        )
    assert post_audit(hub, s, audit_chain(2)).json()["last_id"] == 2
    assert hub.store.counts()["submissions"] == 0 and s.get(f"{hub.url}/v1/ping").status_code == 200


def test_the_migrations_make_exactly_the_tables_the_code_uses(hub):
    """A fresh hub database is at the head revision and matches the models, column for column
    (alembic's own comparison, on SQLite and PostgreSQL)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sync.hub.models import HubBase
    from sync.hub.schema import head_revision, known_revisions

    with hub.store.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        assert mc.get_current_revision() == head_revision() == known_revisions()[-1]
        assert compare_metadata(mc, HubBase.metadata) == []


def test_a_hub_database_of_a_newer_hub_or_of_something_else_is_refused(hub):
    from sqlalchemy import text

    from sync.hub.errors import HubError
    from sync.hub.models import HubImport
    from sync.hub.store import HubStore

    with hub.store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(HubError) as exc:
        HubStore(hub.store.url)
    assert exc.value.code == "hub.newer_schema" and "升级平台程序" in exc.value.message
    with hub.store.engine.begin() as conn:  # tables of no known version, no version table
        conn.execute(text("DROP TABLE alembic_version"))
    HubImport.__table__.drop(hub.store.engine)
    with pytest.raises(HubError) as exc:
        HubStore(hub.store.url)
    assert exc.value.code == "hub.unknown_schema" and "hub_imports" in exc.value.message


# Warnings these tests provoke on purpose (the log-failure fixture fails any other).
