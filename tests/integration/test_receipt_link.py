"""The receipt's QR is a link a phone can open: the county's query address carrying the signed
token. The hub answers it with a masked status page; `intake verify-receipt` still checks the
token offline, given the link or the bare token; the window's scan still finds the intake."""

import json
from urllib.parse import parse_qs, urlsplit

import pypdfium2
import pytest
import requests
from pyzbar import pyzbar

from app.capture.codes import classify_payload
from app.cli import main as intake_main
from app.numbering import parse_receipt_payload
from local_db.keys import MemorySecretStore
from printing.documents import build_receipt
from sync.engine import SyncEngine
from sync.keystore import MemoryTokenStore
from tests.sync_doubles import station

from .test_intake_service import new_intake
from .test_receipts import altered_receipt

pytestmark = pytest.mark.integration


def printed_qr(doc) -> str:
    """The QR as a phone reads it: from the printed PDF, rendered at 200 dpi."""
    page = pypdfium2.PdfDocument(build_receipt(doc))[0]
    image = page.render(scale=200 / 72).to_pil().convert("L")
    codes = [c.data.decode() for c in pyzbar.decode(image) if c.type == "QRCODE"]
    assert len(codes) == 1
    return codes[0]


def printed_text(doc) -> str:
    pdf = pypdfium2.PdfDocument(build_receipt(doc))
    return pdf[0].get_textpage().get_text_range()


@pytest.fixture()
def enrolled(tmp_path, clock, newborn_catalog, hub, monkeypatch):
    monkeypatch.delenv("INTAKE_RECEIPT_QUERY_URL", raising=False)
    ctx, clerk = station(
        tmp_path / "st", "XX01", clock, newborn_catalog, secrets=MemorySecretStore()
    )
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), clock=clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    hub.store.publish_catalog(newborn_catalog)
    yield ctx, clerk, eng
    ctx.close()


def test_the_printed_qr_is_the_hubs_status_page_and_it_shows_only_masked_facts(enrolled, hub):
    ctx, clerk, eng = enrolled
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    eng.run_until_idle()
    doc = ctx.documents.document(None, sid, "receipt")
    link = printed_qr(doc)
    assert link.startswith(f"{hub.url}/r?t=")
    assert "扫描右侧二维码查询办理进度" in printed_text(doc)
    token = parse_qs(urlsplit(link).query)["t"][0]
    assert token.startswith("YJS1|R|" + doc.number + "|")
    r = requests.get(link)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    page = r.text
    assert doc.number in page and "真实有效" in page
    assert "张*" in page and "110105********002X" in page  # masked by hand: 6 + 8 stars + 4
    assert "张三" not in page and "11010519491231002X" not in page and "13812345678" not in page
    assert (
        "出生医学证明" in page or "新生儿" in page
    )  # the items, by name from the published catalog
    assert "待部门受理" in page


def test_a_forged_or_broken_link_gets_a_chinese_4xx_page(enrolled, hub):
    ctx, clerk, eng = enrolled
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    eng.run_until_idle()
    doc = ctx.documents.document(None, sid, "receipt")
    bare = parse_qs(urlsplit(doc.qr_payload).query)["t"][0]
    for field in ("number", "t", "s"):
        r = requests.get(f"{hub.url}/r", params={"t": altered_receipt(bare, field)})
        assert r.status_code == 403, field
        assert "无法查询" in r.text and "真实有效" not in r.text
        assert "张*" not in r.text and "110105" not in r.text and "待部门受理" not in r.text
    for junk in ("", "hello", "YJS1|R|garbage"):
        r = requests.get(f"{hub.url}/r", params={"t": junk})
        assert r.status_code == 400 and "无法查询" in r.text


def test_verify_receipt_takes_the_link_or_the_bare_token_offline(enrolled, tmp_path, capsys):
    ctx, clerk, _eng = enrolled
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    doc = ctx.documents.document(None, sid, "receipt")
    link = printed_qr(doc)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({ctx.signer.key_id: ctx.signer.public_key_text()}))
    bare = parse_qs(urlsplit(link).query)["t"][0]
    for form in (link, bare):
        assert intake_main(["verify-receipt", form, "--keys", str(keys), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["number"] == doc.number
    forged = link.replace("%7Ct=", "%7Ct=1")
    assert forged != link
    assert intake_main(["verify-receipt", forged, "--keys", str(keys), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["code"] == "receipt.bad_signature"


def test_a_configured_query_address_is_used_and_a_scan_still_opens_the_intake(
    enrolled, monkeypatch
):
    ctx, clerk, _eng = enrolled
    monkeypatch.setenv("INTAKE_RECEIPT_QUERY_URL", "https://zwfw.xinxiang.gov.cn/yjs/cx")
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    doc = ctx.documents.document(None, sid, "receipt")
    link = printed_qr(doc)
    assert link.startswith("https://zwfw.xinxiang.gov.cn/yjs/cx?t=YJS1")
    meaning = classify_payload(link)  # what the window does with a scanned code
    assert meaning.kind == "receipt" and meaning.intake_number == doc.number
    assert ctx.queries.find_by_number(parse_receipt_payload(link).number) == sid


def test_without_a_query_address_the_receipt_does_not_promise_a_scan(
    tmp_path, clock, newborn_catalog, monkeypatch
):
    monkeypatch.delenv("INTAKE_RECEIPT_QUERY_URL", raising=False)
    ctx, clerk = station(
        tmp_path / "st", "XX01", clock, newborn_catalog, secrets=MemorySecretStore()
    )
    sid = new_intake(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    doc = ctx.documents.document(None, sid, "receipt")
    assert printed_qr(doc).startswith("YJS1|R|")
    text = printed_text(doc)
    assert "扫描右侧二维码查询办理进度" not in text and "核验回执真伪" in text
    ctx.close()
