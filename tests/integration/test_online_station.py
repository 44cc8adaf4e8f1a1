"""The online channel at the window, end to end against the real hub on loopback: the queue
arrives with a sync (offline stations see it as of their last sync), one window claims and
reviews it against the checklist with the uploaded files as pages, the other is refused, the
answer (电子一次告知通知书 / 电子收件回执) reaches the platform, an answer given offline is sent
once the link is back, and the same from the command line."""

import datetime as dt
import io
import json

import keyring
import pytest
import requests
from pypdf import PdfReader

from app.clock import FixedClock
from app.errors import IntakeError
from sync.engine import SyncEngine
from sync.hub.server import HubThread
from sync.jobs.shared import SyncConfig
from sync.keystore import MemoryTokenStore
from sync.online import OnlineService
from tests.expected_logs import NO_KEYRING_CHECKPOINT, RECEIPT_KEY_REFUSED, SYNC_PAUSED
from tests.online_doubles import COUNTY, PLATFORM_TOKEN, application, jpeg_bytes, pdf_bytes
from tests.sync_doubles import FaultProxy, MemoryKeyring, small_catalog, station

pytestmark = [
    pytest.mark.integration,
    SYNC_PAUSED,
    NO_KEYRING_CHECKPOINT,
    RECEIPT_KEY_REFUSED,
]
T0 = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)
FAST = SyncConfig(
    backoff_base=0.05, backoff_cap=0.3, connect_timeout=1, read_timeout=3, status_interval=0
)
PLATFORM = {"Authorization": f"Bearer {PLATFORM_TOKEN}"}
UPLOADS = [
    ("birth_medical_certificate_application", "出生信息.pdf", pdf_bytes("birth info")),
    ("marriage_certificate", "结婚证.jpg", jpeg_bytes()),
]


@pytest.fixture()
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_HUB_PLATFORM_TOKEN", PLATFORM_TOKEN)
    h = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "hub-blobs").start()
    yield h
    h.stop()


@pytest.fixture()
def catalog(tmp_path):
    return small_catalog(tmp_path / "catalog")


def window(tmp_path, code, hub, url, catalog, clock=None):
    ctx, clerk = station(tmp_path / code, code, clock or FixedClock(T0), catalog)
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST)
    eng.enroll(url, hub.store.issue_enroll_code(code, county=COUNTY))
    return ctx, clerk, eng, OnlineService(ctx, eng)


def submit(hub, ref, files=UPLOADS):
    r = requests.post(
        f"{hub.url}/v1/online/applications", json=application(ref, files), headers=PLATFORM
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def platform_view(hub, aid):
    return requests.get(f"{hub.url}/v1/online/applications/{aid}", headers=PLATFORM).json()


def pdf_text(data):
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_queue_claim_review_and_the_notice_goes_back_to_the_platform(tmp_path, hub, catalog):
    aid = submit(hub, "ZW-0001")
    ctx_a, clerk_a, eng_a, a = window(tmp_path, "XX01", hub, hub.url, catalog)
    ctx_b, clerk_b, eng_b, b = window(tmp_path, "XX02", hub, hub.url, catalog)
    eng_a.run_until_idle(max_seconds=20)
    eng_b.run_until_idle(max_seconds=20)
    (view,) = a.queue()
    assert view.id == aid and view.applicant_name == "李小明" and view.status == "open"
    assert view.deadline_at - view.received_at == dt.timedelta(hours=2)
    assert {f.name for f in view.files} == {"出生信息.pdf", "结婚证.jpg"}
    assert [v.id for v in b.queue()] == [aid]

    claimed = a.claim(clerk_a, aid[:8])
    assert claimed.mine and claimed.status == "claimed" and claimed.submission_id
    with pytest.raises(IntakeError) as refused:
        b.claim(clerk_b, aid)
    assert refused.value.code == "online.claimed" and "XX01" in refused.value.message

    # the uploaded files are the materials' captured pages
    pages = ctx_a.queries.get(claimed.submission_id).pages
    assert sorted((p.material_id, p.mime) for p in pages) == [
        ("birth_medical_certificate_application", "application/pdf"),
        ("marriage_certificate", "image/jpeg"),
    ]
    lines = [m for m in a.checklist(aid).materials if m.produced_by is None]
    present = {m.id for m in lines} - {"household_register"}
    a.mark(clerk_a, aid, {m: "received" for m in present} | {"household_register": "missing"})
    out = a.answer(clerk_a, aid)
    assert out.decision == "notice" and out.sent and out.number.startswith("XX01")
    assert out.missing == ("居民户口簿",)
    text = pdf_text(out.pdf)
    assert "电子一次告知通知书" in text and "户口簿" in text

    seen = platform_view(hub, aid)
    assert seen["status"] == "answered" and seen["decision"] == "notice"
    assert seen["answer"]["number"] == out.number and seen["answer"]["missing"] == ["居民户口簿"]
    assert seen["answer"]["marks"]["household_register"] == "missing"
    doc = requests.get(f"{hub.url}/v1/online/applications/{aid}/document", headers=PLATFORM)
    assert doc.content == out.pdf
    # a normal intake in the ledger, synced as any intake
    got = ctx_a.queries.get(claimed.submission_id)
    assert got.number == out.number and got.stage == "notified"
    eng_a.run_until_idle(max_seconds=20)
    hub.store.listing_lag = dt.timedelta(0)  # listed at once (30 s in service)
    listed = hub.store.submissions(station_code="XX01")["submissions"]
    assert out.number in {s["number"] for s in listed}
    eng_b.run_until_idle(max_seconds=20)
    assert b.queue() == []
    (done,) = b.queue(done=True)
    assert done.status == "answered" and not done.mine
    ctx_a.close()
    ctx_b.close()


def test_everything_received_answers_with_an_electronic_receipt(tmp_path, hub, catalog):
    aid = submit(hub, "ZW-0002")
    ctx, clerk, _eng, svc = window(tmp_path, "XX01", hub, hub.url, catalog)
    svc.refresh()
    svc.claim(clerk, aid)
    lines = [m for m in svc.checklist(aid).materials if m.produced_by is None]
    svc.mark(clerk, aid, {m.id: "received" for m in lines})
    out = svc.answer(clerk, aid)
    assert out.decision == "receipt" and out.missing == ()
    assert "电子收件回执" in pdf_text(out.pdf)
    assert platform_view(hub, aid)["decision"] == "receipt"
    with pytest.raises(IntakeError) as again:
        svc.answer(clerk, aid)
    assert again.value.code == "online.answered"
    ctx.close()


def test_offline_the_queue_is_the_last_synced_a_claim_is_refused_an_answer_waits(
    tmp_path, hub, catalog
):
    proxy = FaultProxy(hub.port).start()
    try:
        first, second = submit(hub, "ZW-0003"), submit(hub, "ZW-0004")
        ctx, clerk, eng, svc = window(tmp_path, "XX01", hub, proxy.url, catalog)
        eng.run_until_idle(max_seconds=20)
        svc.claim(clerk, first)
        proxy.faults = {"reset": 1.0}  # the link goes down
        assert {v.id for v in svc.queue()} == {first, second}  # as of the last sync
        with pytest.raises(IntakeError) as offline:
            svc.claim(clerk, second)
        assert offline.value.code == "online.offline"
        assert "另一个窗口" in offline.value.message
        lines = [m for m in svc.checklist(first).materials if m.produced_by is None]
        svc.mark(clerk, first, {m.id: "received" for m in lines})
        out = svc.answer(clerk, first)
        assert not out.sent and svc.get(first).status == "answering"
        assert platform_view(hub, first)["status"] == "claimed"
        proxy.faults = {}  # back online: the sync engine sends the kept answer
        eng.wake()
        eng.run_until_idle(max_seconds=20)
        assert svc.get(first).status == "answered"
        seen = platform_view(hub, first)
        assert seen["status"] == "answered" and seen["answer"]["number"] == out.number
        ctx.close()
    finally:
        proxy.stop()


@pytest.fixture()
def memory_keyring():
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)


def cli(capsys, *argv):
    from app.cli import main

    code = main(list(argv))
    return code, capsys.readouterr()


def test_command_line_list_claim_review_answer(tmp_path, hub, catalog, memory_keyring, capsys):
    aid = submit(hub, "ZW-0005")
    ctx, _clerk = station(tmp_path / "st", "XX01", FixedClock(T0), catalog)
    db = str(ctx.db_path)
    code = hub.store.issue_enroll_code("XX01", county=COUNTY)
    assert cli(capsys, "station", "enroll", hub.url, code, "--db", db)[0] == 0
    code, out = cli(capsys, "online", "list", "--refresh", "--db", db)
    assert code == 0 and aid[:8] in out.out and "李小明" in out.out and "待认领" in out.out
    code, out = cli(capsys, "online", "claim", aid[:8], "--clerk", "clerkxx01", "--db", db)
    assert code == 0 and "已认领" in out.out
    code, out = cli(capsys, "online", "review", aid[:8], "--clerk", "clerkxx01", "--db", db)
    assert code == 0 and "marriage_certificate" in out.out and "[已上传文件]" in out.out
    code, out = cli(
        capsys,
        "online",
        "review",
        aid[:8],
        "--clerk",
        "clerkxx01",
        "--db",
        db,
        "--missing",
        "household_register",
        "--received",
        "marriage_certificate",
        "--answer",
        "--pdf",
        str(tmp_path / "answer.pdf"),
        "--json",
    )
    assert code == 0, out.err
    answer = json.loads(out.out)
    assert answer["decision"] == "notice" and answer["sent"] is True
    assert "居民户口簿" in answer["missing"] and "结婚证" not in answer["missing"]
    assert "电子一次告知通知书" in pdf_text((tmp_path / "answer.pdf").read_bytes())
    assert platform_view(hub, aid)["answer"]["number"] == answer["number"]
    # a second claim of the same application is refused with who holds it
    code, out = cli(capsys, "online", "claim", aid[:8], "--clerk", "clerkxx01", "--db", db)
    assert code == 1 and "已由" in out.err
    ctx.close()
