"""The hub against crafted requests: every malformed request is a 4xx with a code and
`retry: false` (a station retries 5xx forever), and a station sees only its own pages."""

import uuid

import pytest
import requests

from .test_sync_hub import enroll, ev

pytestmark = pytest.mark.integration


def refused(r, status=400):
    assert r.status_code == status, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["code"] and err["retry"] is False and err["message"]
    return err


@pytest.mark.parametrize("body", [
    b"[" * 100_000,
    b'{"store_id": "x", "events": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"store_id": "x", "events": [' + b"1" * 5000 + b"]}",  # past Python's digit limit
    b'{"store_id": "x", "events": [NaN]}',
])
def test_crafted_json_bodies_are_a_400_not_a_retryable_500(hub, body):
    s = enroll(hub)
    for path in ("/v1/events", "/v1/audit", "/v1/manifests"):
        r = s.post(f"{hub.url}{path}", data=body, headers={"Content-Type": "application/json"})
        refused(r)


@pytest.mark.parametrize(("path", "param"), [
    ("/v1/status-updates", "after"), ("/v1/status-updates", "limit"),
    ("/v1/events/received", "start"), ("/v1/events/received", "end"),
])
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
    assert res[1]["status"] == "refused" and res[1]["code"] == "event.clerk_id" and res[1]["retry"] is False


def test_an_audit_entry_with_an_integer_past_64_bits_is_refused(hub):
    from app.audit import chain_hash

    from .test_sync_hub import audit_chain, post_audit

    s = enroll(hub)
    chain = audit_chain(2)
    e = chain[1]
    e["staff_id"] = 2**64
    e["hash"] = chain_hash(e["prev_hash"], e["at"], e["staff_id"], e["action"], e["target"], e["detail"])
    assert refused(post_audit(hub, s, chain), 400)["code"] == "audit.shape"


def test_department_listing_limit_is_bounded(hub):
    key = hub.store.issue_dept_key("民政局")
    h = {"Authorization": "Bearer " + key}
    for value in (str(2**64), "-1"):
        refused(requests.get(f"{hub.url}/v1/dept/submissions", params={"limit": value}, headers=h))
