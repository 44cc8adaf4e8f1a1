"""Online applications on the real hub over HTTP on loopback, on SQLite and on PostgreSQL: the
platform's submission (bad files refused with nothing stored), the county's queue, the claim that
only one window wins, the answer the platform reads back, encryption at rest."""

import base64
import threading

import pytest
import requests
from pypdf import PdfReader
from sqlalchemy import func, select, text

from sync.hub.models import HubOnlineApplication
from tests.hub_doubles import station_session
from tests.online_doubles import (
    COUNTY,
    PLATFORM_TOKEN,
    application,
    b64,
    jpeg_bytes,
    pdf_bytes,
)
from tests.sync_doubles import hub_on

pytestmark = pytest.mark.integration
PLATFORM = {"Authorization": f"Bearer {PLATFORM_TOKEN}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_HUB_PLATFORM_TOKEN", PLATFORM_TOKEN)
    with hub_on(request.param, tmp_path, lambda: request.getfixturevalue("pg_admin_url")) as h:
        yield h


def window(hub, code, county=COUNTY):
    c = hub.store.issue_enroll_code(code, county=county)
    return station_session(hub.url, c, station_code=code)


def submit(hub, body, headers=PLATFORM):
    return requests.post(f"{hub.url}/v1/online/applications", json=body, headers=headers)


def stored(hub):
    with hub.store.sessions() as s:
        return s.scalar(select(func.count()).select_from(HubOnlineApplication))


def blob_count(hub):
    return sum(1 for _ in hub.blobs.objects())


def vast_png():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (10_000, 7_000)).save(buf, "PNG")
    return buf.getvalue()


def test_a_file_that_is_not_a_document_is_refused_and_nothing_is_stored(hub):
    good = ("birth_medical_certificate_application", "出生信息.pdf", pdf_bytes())
    for bad, code in (
        (b"MZ\x90\x00 this is a program, not a scan", "online.file_type"),
        (b"%PDF-1.4\n garbage that is no PDF at all", "online.file_damaged"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDRbroken", "online.file_damaged"),
        (vast_png(), "online.file_damaged"),  # 70 megapixels in a small file: not decoded
    ):
        body = application("REF-BAD", [good, ("marriage_certificate", "结婚证.jpg", bad)])
        r = submit(hub, body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == code
        assert "结婚证.jpg" in r.json()["error"]["message"]
    not_base64 = application("REF-BAD")
    not_base64["files"] = [{"material_id": "marriage_certificate", "name": "x.pdf", "data": "@@@@"}]
    assert submit(hub, not_base64).json()["error"]["code"] == "online.file_encoding"
    assert stored(hub) == 0 and blob_count(hub) == 0  # the good file was not kept either


def test_the_platform_needs_its_own_token(hub):
    body = application("REF-AUTH")
    assert submit(hub, body, headers={}).status_code == 401
    station = window(hub, "XX01")
    r = station.post(f"{hub.url}/v1/online/applications", json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.platform"
    assert stored(hub) == 0


def test_malformed_applications_are_4xx(hub):
    no_applicant = application("REF-M")
    del no_applicant["applicant"]
    assert submit(hub, no_applicant).status_code == 400
    assert submit(hub, application("bad ref with spaces")).status_code == 400
    r = requests.post(
        f"{hub.url}/v1/online/applications",
        data=b"{not json",
        headers={**PLATFORM, "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert stored(hub) == 0


def test_a_resend_is_a_duplicate_and_other_content_under_the_same_ref_a_conflict(hub):
    body = application("REF-DUP", [("marriage_certificate", "结婚证.jpg", jpeg_bytes())])
    first, again = submit(hub, body), submit(hub, body)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    other = application("REF-DUP", [("marriage_certificate", "结婚证.jpg", jpeg_bytes((0, 0, 9)))])
    assert submit(hub, other).status_code == 409
    assert stored(hub) == 1


def test_queue_claim_answer_and_the_platform_reads_the_answer(hub):
    scan = jpeg_bytes()
    r = submit(hub, application("REF-1", [("marriage_certificate", "结婚证.jpg", scan)]))
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    a, b, elsewhere = window(hub, "XX01"), window(hub, "XX02"), window(hub, "YY01", "330106")

    q = a.get(f"{hub.url}/v1/online/queue").json()
    (app,) = q["applications"]
    assert app["id"] == aid and app["applicant"]["name"] == "李小明"
    assert app["status"] == "open" and app["bundle"] == "newborn_birth"
    (f,) = app["files"]
    assert f["mime"] == "image/jpeg" and f["name"] == "结婚证.jpg"
    assert elsewhere.get(f"{hub.url}/v1/online/queue").json()["applications"] == []
    got = a.get(f"{hub.url}/v1/online/applications/{aid}/files/{f['sha']}")
    assert got.status_code == 200 and got.content == scan
    assert (
        elsewhere.get(f"{hub.url}/v1/online/applications/{aid}/files/{f['sha']}").status_code == 404
    )

    assert a.post(f"{hub.url}/v1/online/applications/{aid}/claim").status_code == 200
    second = b.post(f"{hub.url}/v1/online/applications/{aid}/claim")
    assert second.status_code == 409
    err = second.json()["error"]
    assert err["code"] == "online.claimed" and err["held_by"] == "XX01"
    assert "XX01" in err["message"] and "认领" in err["message"]
    assert elsewhere.post(f"{hub.url}/v1/online/applications/{aid}/claim").status_code == 404

    doc = pdf_bytes("electronic receipt")
    answer = {
        "decision": "receipt",
        "number": "XX01-20241202-0001",
        "marks": {"marriage_certificate": "received"},
        "missing": [],
        "document": b64(doc),
    }
    url = f"{hub.url}/v1/online/applications/{aid}/answer"
    assert b.post(url, json=answer).json()["error"]["code"] == "online.not_claimed"
    bad_doc = a.post(url, json={**answer, "document": b64(scan)})
    assert bad_doc.status_code == 422
    ok = a.post(url, json=answer)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "answered" and ok.json()["within_deadline"] is True
    assert a.post(url, json=answer).status_code == 200  # a lost reply: the same answer again
    assert a.post(url, json={**answer, "number": "XX01-20241202-0002"}).status_code == 409

    st = requests.get(f"{hub.url}/v1/online/applications/{aid}", headers=PLATFORM).json()
    assert st["status"] == "answered" and st["decision"] == "receipt"
    assert st["answer"]["number"] == "XX01-20241202-0001" and st["answer"]["station"] == "XX01"
    pdf = requests.get(f"{hub.url}/v1/online/applications/{aid}/document", headers=PLATFORM)
    assert pdf.status_code == 200 and pdf.content == doc
    assert (
        "electronic receipt"
        in PdfReader(__import__("io").BytesIO(pdf.content)).pages[0].extract_text()
    )
    q = b.get(f"{hub.url}/v1/online/queue").json()
    assert q["applications"] == [] and q["answered"][0]["id"] == aid
    assert "applicant" not in q["answered"][0]


def test_two_windows_claiming_at_once_one_wins(hub):
    aid = submit(hub, application("REF-RACE")).json()["id"]
    windows = [window(hub, f"XX{n:02d}") for n in range(1, 7)]
    results: list[int] = []
    start = threading.Barrier(len(windows))

    def claim(s):
        start.wait()
        results.append(s.post(f"{hub.url}/v1/online/applications/{aid}/claim").status_code)

    threads = [threading.Thread(target=claim, args=(s,)) for s in windows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * (len(windows) - 1)


def test_personal_data_and_files_are_encrypted_at_rest(hub):
    scan = jpeg_bytes()
    submit(hub, application("REF-ENC", [("marriage_certificate", "结婚证.jpg", scan)]))
    with hub.store.engine.connect() as con:
        raw = con.execute(text("SELECT payload FROM hub_online_applications")).scalar()
    assert "李小明" not in raw and "11010519491231002X" not in raw and "结婚证" not in raw
    for _sha, data in hub.blobs.objects():
        assert scan not in data and base64.b64encode(scan) not in data


def test_the_same_application_sent_twice_at_once_is_stored_once(hub):
    body = application("REF-TWICE", [("marriage_certificate", "结婚证.jpg", jpeg_bytes())])
    answers: list[requests.Response] = []
    start = threading.Barrier(4)

    def send():
        start.wait()
        answers.append(submit(hub, body))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in answers}) == 1 and stored(hub) == 1
