"""The v1 protocol's pure parts: event and update checks, ranges, page framing, Retry-After,
the USB export format, the status line, and the OpenAPI document against the hub's routes."""

import datetime as dt
import email.utils
import hashlib
import json
import uuid

import pytest

from sync.client import retry_after
from sync.export import ExportError, export_key, read_export, read_header, write_export
from sync.protocol import (
    check_event,
    check_status_update,
    event_digest,
    frame_header,
    in_ranges,
    parse_frame_header,
    ranges,
)
from sync.status import Problem, SyncStatus, duration_text

SID = "6f1c1a0e-8d7b-4d3e-9a57-0c1e2f3a4b5c"


def event(**kw):
    base = {
        "id": str(uuid.uuid4()),
        "seq": 1,
        "submission_id": SID,
        "type": "created",
        "payload": {},
        "clerk_id": 3,
        "at": "2024-12-02T01:30:00.000000Z",
    }
    base.update(kw)
    return base


def test_well_formed_events_pass():
    assert check_event(event()) is None
    assert (
        check_event(event(type="page_attached", payload={"sha256": "a" * 64, "size": 10})) is None
    )
    assert check_event(event(type="some_future_type", clerk_id=None)) is None


@pytest.mark.parametrize(
    "change, code",
    [
        ({"id": "not-a-uuid"}, "event.id"),
        ({"seq": 0}, "event.seq"),
        ({"seq": True}, "event.seq"),
        ({"type": "Created!"}, "event.type"),
        ({"payload": []}, "event.payload"),
        ({"at": "2024-12-02 01:30"}, "event.at"),
        ({"clerk_id": "3"}, "event.clerk_id"),
        ({"type": "page_attached", "payload": {"size": 3}}, "event.page"),
        ({"type": "received", "payload": {"number": "x"}}, "event.items"),
        ({"extra": 1}, "event.fields"),
        ({"payload": {"blob": "x" * 70_000}}, "event.too_large"),
    ],
)
def test_malformed_events_are_named(change, code):
    assert check_event(event(**change))[0] == code


def test_event_digest_ignores_the_id_and_key_order():
    a = event(payload={"b": 1, "a": [1, 2]})
    b = dict(reversed(list(a.items())))
    b["id"] = str(uuid.uuid4())
    assert event_digest(a) == event_digest(b)
    assert event_digest(a) != event_digest(dict(a, payload={"b": 2, "a": [1, 2]}))


def test_status_update_checks():
    good = {
        "cursor": 4,
        "submission_id": SID,
        "item_id": "birth_registration",
        "decision": "rejected",
        "reason": "材料不符",
        "decided_at": "2024-12-02T01:30:00.000000Z",
    }
    assert check_status_update(good) is None
    assert "理由" in check_status_update(dict(good, reason=" "))
    assert check_status_update(dict(good, decision="maybe"))
    assert check_status_update(dict(good, cursor=0))
    assert check_status_update(dict(good, submission_id="x"))
    assert check_status_update("nope")


def test_ranges_and_membership():
    runs = ranges([1, 2, 3, 7, 8, 10])
    assert runs == [[1, 3], [7, 8], [10, 10]]
    assert [n for n in range(12) if in_ranges(n, runs)] == [1, 2, 3, 7, 8, 10]
    assert not in_ranges(5, []) and ranges([]) == []


def test_frame_header_round_trip_and_refusals():
    sha = hashlib.sha256(b"x").hexdigest()
    line = frame_header(sha, 10, 20, 30)
    assert line.endswith(b"\n") and parse_frame_header(line[:-1]) == (sha, 10, 20, 30)
    assert parse_frame_header(b"zz 0 1 1") is None
    assert parse_frame_header(f"{sha} 10 30 30".encode()) is None  # past the end
    assert parse_frame_header(f"{sha} -1 1 1".encode()) is None


def test_retry_after_forms():
    assert retry_after("7") == 7.0
    assert retry_after(None) is None and retry_after("soon") is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    assert 100 < retry_after(email.utils.format_datetime(later, usegmt=True)) <= 121


# ----------------------------------------------------------------------------- USB export


def _export(tmp_path, token="ist1.secret", pages=None):
    pages = (
        pages
        if pages is not None
        else {hashlib.sha256(p).hexdigest(): p for p in (b"page one", b"\x00" * 5000)}
    )
    events = [
        event(seq=n + 1, type="page_attached", payload={"sha256": sha, "size": len(data or b"")})
        for n, (sha, data) in enumerate(pages.items())
    ]
    manifests = [
        {
            "submission_id": SID,
            "pages": [{"sha256": h, "size": len(d or b"")} for h, d in pages.items()],
        }
    ]
    summary = write_export(
        tmp_path / "x.intake-export",
        token=token,
        token_id=str(uuid.uuid4()),
        station_code="XX01",
        store_id=str(uuid.uuid4()),
        events=events,
        manifests=manifests,
        page=pages.get,
        created_at=dt.datetime(2024, 12, 2, tzinfo=dt.UTC),
    )
    return summary, events, pages


def test_export_round_trip(tmp_path):
    summary, events, pages = _export(tmp_path)
    header = read_header(summary.path)
    assert (header["events"], header["pages"], header["station_code"], header["audit"]) == (
        2,
        2,
        "XX01",
        0,
    )
    got = list(read_export(summary.path, export_key("ist1.secret")))
    assert got[0] == ("doc", {"events": events, "manifests": got[0][1]["manifests"], "audit": []})
    assert {sha: data for kind, (sha, data) in (g for g in got if g[0] == "page")} == pages
    assert b"page one" not in summary.path.read_bytes()  # encrypted
    assert not list(tmp_path.glob("*.tmp"))


def test_export_tampering_and_wrong_key_are_refused(tmp_path):
    summary, _events, _pages = _export(tmp_path)
    with pytest.raises(ExportError) as exc:
        list(read_export(summary.path, export_key("ist1.other")))
    assert exc.value.code == "export.signature"
    raw = bytearray(summary.path.read_bytes())
    for pos in (len(raw) // 2, len(raw) - 5, 40):
        bad = bytearray(raw)
        bad[pos] ^= 1
        (tmp_path / "bad").write_bytes(bytes(bad))
        with pytest.raises(ExportError):
            list(read_export(tmp_path / "bad", export_key("ist1.secret")))
    (tmp_path / "short").write_bytes(bytes(raw[:30]))
    with pytest.raises(ExportError):
        list(read_export(tmp_path / "short", export_key("ist1.secret")))
    (tmp_path / "other").write_bytes(b"hello")
    with pytest.raises(ExportError) as exc:
        read_header(tmp_path / "other")
    assert exc.value.code == "export.not_export"


def test_export_leaves_out_a_page_missing_here(tmp_path):
    data = b"present"
    pages = {hashlib.sha256(data).hexdigest(): data, "f" * 64: None}
    summary, _events, _pages = _export(tmp_path, pages=pages)
    got = [g for g in read_export(summary.path, export_key("ist1.secret")) if g[0] == "page"]
    assert [sha for _k, (sha, _d) in got] == [hashlib.sha256(data).hexdigest()]


# ----------------------------------------------------------------------------- status line


def test_status_text_for_the_window():
    at = dt.datetime(2024, 12, 2, tzinfo=dt.UTC)
    offline = SyncStatus(
        state="offline",
        waiting=3,
        waiting_events=40,
        oldest_waiting_at=at,
        oldest_waiting_seconds=2 * 86400 + 3 * 3600 + 60,
        needs_person=1,
        last_success_at=None,
        next_attempt_at=None,
        problem=Problem("sync.offline", "无法连接县级平台。", "检查网络。"),
    )
    assert (
        offline.text
        == "未联网 · 3件待上传（最早已等待2天3小时） · 1项需人工处理 · 无法连接县级平台。 · 资料已保存在本机，联网后自动上传"
    )
    online = SyncStatus(
        state="online",
        waiting=0,
        waiting_events=0,
        oldest_waiting_at=None,
        oldest_waiting_seconds=None,
        needs_person=0,
        last_success_at=at,
        next_attempt_at=None,
        problem=None,
    )
    assert online.text == "已联网 · 全部已上传"
    assert json.loads(json.dumps(offline.to_json()))["label"] == "未联网"
    assert duration_text(30) == "不到1分钟" and duration_text(3700) == "1小时1分钟"


# ----------------------------------------------------------------------------- the document


def test_openapi_description_is_generated_and_covers_every_route(tmp_path):
    from sync.hub.app import create_app
    from sync.hub.blobs import BlobStore

    class NoStore:
        pass

    app = create_app(NoStore(), BlobStore(tmp_path / "b", sealer=None))  # type: ignore[arg-type]
    doc = app.openapi()
    assert doc["openapi"].startswith("3.") and doc["info"]["version"] == "1"
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = {
        (m, route.path)
        for route in app.routes
        for m in getattr(route, "methods", ())
        if route.path not in ("/openapi.json",)
    }
    assert documented == served
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") and op.get("responses"), (method, path)
    # what a station must send is in the description, by hand from the protocol
    events = doc["components"]["schemas"]["EventsIn"]
    assert (
        set(events["required"]) == {"store_id", "events"}
        and events["additionalProperties"] is False
    )
    event = doc["components"]["schemas"]["Event"]
    assert set(event["required"]) == {
        "id",
        "seq",
        "submission_id",
        "type",
        "payload",
        "clerk_id",
        "at",
    }
    batch = doc["paths"]["/v1/blobs"]["post"]["requestBody"]["content"]
    assert list(batch) == ["application/x-intake-blobs"]
    put = {p["name"]: p for p in doc["paths"]["/v1/blobs/{sha}"]["put"]["parameters"]}
    assert put["Upload-Length"]["required"] and put["Upload-Length"]["in"] == "header"
