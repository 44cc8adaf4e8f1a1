"""The hub against crafted requests: every malformed request is a 4xx with a code and
`retry: false` (a station retries 5xx forever), and a station sees only its own pages."""

import datetime as dt
import hashlib
import os
import uuid

import pytest
import requests

from sync.protocol import frame_header

from .test_sync_hub import enroll, ev

pytestmark = pytest.mark.integration


def refused(r, status=400):
    assert r.status_code == status, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["code"] and err["retry"] is False and err["message"]
    return err


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"store_id": "x", "events": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"store_id": "x", "events": [' + b"1" * 5000 + b"]}",  # past Python's digit limit
        b'{"store_id": "x", "events": [NaN]}',
    ],
)
def test_crafted_json_bodies_are_a_400_not_a_retryable_500(hub, body):
    s = enroll(hub)
    for path in ("/v1/events", "/v1/audit", "/v1/manifests"):
        r = s.post(f"{hub.url}{path}", data=body, headers={"Content-Type": "application/json"})
        refused(r)


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/status-updates", "after"),
        ("/v1/status-updates", "limit"),
        ("/v1/events/received", "start"),
        ("/v1/events/received", "end"),
    ],
)
@pytest.mark.parametrize("value", [str(2**63), str(2**64 + 5), "-" + str(2**64), "1e3", "abc"])
def test_integers_out_of_range_in_the_query_are_a_400(hub, path, param, value):
    s = enroll(hub)
    r = s.get(f"{hub.url}{path}", params={param: value})
    err = refused(r)
    assert param in err["message"]


def test_an_event_with_an_integer_past_64_bits_is_refused_alone(hub):
    s = enroll(hub)
    sid = str(uuid.uuid4())
    bad = ev(sid, 2)
    bad["clerk_id"] = 2**64
    r = s.post(f"{hub.url}/v1/events", json={"store_id": s.store_id, "events": [ev(sid, 1), bad]})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert res[0]["status"] == "stored"
    assert (
        res[1]["status"] == "refused"
        and res[1]["code"] == "event.clerk_id"
        and res[1]["retry"] is False
    )


def test_an_audit_entry_with_an_integer_past_64_bits_is_refused(hub):
    from app.audit import chain_hash

    from .test_sync_hub import audit_chain, post_audit

    s = enroll(hub)
    chain = audit_chain(2)
    e = chain[1]
    e["staff_id"] = 2**64
    e["hash"] = chain_hash(
        e["prev_hash"], e["at"], e["staff_id"], e["action"], e["target"], e["detail"]
    )
    err = refused(post_audit(hub, s, chain), 400)
    assert err["code"] == "request.schema" and err["field"] == "entries.1.staff_id"


def test_department_listing_limit_is_bounded(hub):
    key = hub.store.issue_dept_key("民政局")
    h = {"Authorization": "Bearer " + key}
    for value in (str(2**64), "-1"):
        refused(requests.get(f"{hub.url}/v1/dept/submissions", params={"limit": value}, headers=h))


# ----------------------------------------------------------------------------- pages are per station


def _upload(hub, s, data, upto=None):
    sha = hashlib.sha256(data).hexdigest()
    body = data if upto is None else data[:upto]
    r = s.put(
        f"{hub.url}/v1/blobs/{sha}",
        data=body,
        headers={"Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert r.status_code == 200, r.text
    return sha


def test_a_station_cannot_learn_whether_another_station_holds_a_page(hub):
    a, b = enroll(hub, "XX01"), enroll(hub, "XX02")
    data = os.urandom(20_000)
    sha = _upload(hub, a, data)
    assert a.head(f"{hub.url}/v1/blobs/{sha}").status_code == 200
    head = b.head(f"{hub.url}/v1/blobs/{sha}")
    assert head.status_code == 404 and head.headers["Upload-Offset"] == "0"
    # nor through its manifest, an empty PUT, a zero-length batch part or a page event
    sid = str(uuid.uuid4())
    needed = b.post(
        f"{hub.url}/v1/manifests",
        json={"manifests": [{"submission_id": sid, "pages": [{"sha256": sha, "size": len(data)}]}]},
    ).json()["needed"]
    assert needed == [{"sha256": sha, "size": len(data), "offset": 0}]
    put = b.put(
        f"{hub.url}/v1/blobs/{sha}",
        data=b"",
        headers={"Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert put.json() == {"sha256": sha, "offset": 0, "complete": False}
    batch = b.post(
        f"{hub.url}/v1/blobs",
        data=frame_header(sha, 0, 0, len(data)),
        headers={"Content-Type": "application/x-intake-blobs"},
    ).json()["blobs"]
    assert batch[0]["complete"] is False and batch[0]["offset"] == 0
    page = ev(
        sid,
        2,
        "page_attached",
        {"sha256": sha, "size": len(data), "material": "m", "attachment": "x"},
    )
    res = b.post(
        f"{hub.url}/v1/events", json={"store_id": b.store_id, "events": [ev(sid, 1), page]}
    ).json()
    assert res["results"][1]["code"] == "page.missing"
    # once B has sent the bytes itself, the page is B's too (stored once on the hub)
    assert _upload(hub, b, data) == sha
    assert b.head(f"{hub.url}/v1/blobs/{sha}").status_code == 200
    assert hub.blobs.read(sha) == data


def test_another_stations_unfinished_upload_is_invisible(hub):
    a, b = enroll(hub, "XX01"), enroll(hub, "XX02")
    data = os.urandom(50_000)
    sha = _upload(hub, a, data, upto=30_000)
    assert a.head(f"{hub.url}/v1/blobs/{sha}").headers["Upload-Offset"] == "30000"
    assert b.head(f"{hub.url}/v1/blobs/{sha}").headers["Upload-Offset"] == "0"
    # B cannot resume A's bytes either: it must start at 0
    r = b.put(
        f"{hub.url}/v1/blobs/{sha}",
        data=data[30_000:],
        headers={"Upload-Offset": "30000", "Upload-Length": str(len(data))},
    )
    assert r.status_code == 409 and r.headers["Upload-Offset"] == "0"


def _received(hub, s, number, items, seq=1):
    sid = str(uuid.uuid4())
    evs = [ev(sid, seq), ev(sid, seq + 1, "received", {"number": number, "items": list(items)})]
    r = s.post(f"{hub.url}/v1/events", json={"store_id": s.store_id, "events": evs})
    assert [x["status"] for x in r.json()["results"]] == ["stored", "stored"]
    return sid


def test_a_department_sees_and_decides_only_the_items_pushed_to_it(hub):
    s = enroll(hub)
    both = _received(hub, s, "XX01-241202-0001-H", ["birth_cert", "hukou"])
    _received(hub, s, "XX01-241202-0002-F", ["hukou"], seq=3)
    health = {"Authorization": "Bearer " + hub.store.issue_dept_key("卫健委", ["birth_cert"])}
    hub.store.listing_lag = dt.timedelta(0)  # listed at once (30 s in service)
    listed = requests.get(f"{hub.url}/v1/dept/submissions", headers=health).json()["submissions"]
    assert [(x["submission_id"], x["items"]) for x in listed] == [(both, ["birth_cert"])]
    r = requests.post(
        f"{hub.url}/v1/dept/decisions",
        headers=health,
        json={"submission_id": both, "item_id": "hukou", "decision": "accepted"},
    )
    refused(r, 403)
    ok = requests.post(
        f"{hub.url}/v1/dept/decisions",
        headers=health,
        json={"submission_id": both, "item_id": "birth_cert", "decision": "accepted"},
    )
    assert ok.status_code == 201
    county = {"Authorization": "Bearer " + hub.store.issue_dept_key("行政审批局")}  # every item
    assert (
        len(requests.get(f"{hub.url}/v1/dept/submissions", headers=county).json()["submissions"])
        == 2
    )


def test_receipt_check_tells_nothing_about_a_number_without_a_genuine_receipt(hub):
    s = enroll(hub)
    _received(hub, s, "XX01-241202-0001-H", ["hukou"])
    key = {"Authorization": "Bearer " + hub.store.issue_dept_key("公安局", ["hukou"])}
    out = requests.post(
        f"{hub.url}/v1/receipts/verify", json={"payload": "XX01-241202-0001-H"}, headers=key
    ).json()
    assert out["valid"] is False and out["on_hub"] is False and out["stage"] is None
