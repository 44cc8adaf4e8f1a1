"""The line under the intake number says what the QR is for on that document: checking a
receipt or a notice is genuine only on those; the generated forms (申请表/授权书), handed in at
the window, say the window scans it to open the intake. Read back from the PDF with pdftotext."""

import dataclasses
import re
import subprocess

import pytest

from printing.documents import build_document
from tests.sample_docs import sample_document

from .test_application_forms import CARD_READ, _finished

pytestmark = pytest.mark.integration

NO_LINK_LINES = {
    "receipt": "凭本编号到受理窗口查询办理进度；右侧二维码用于核验回执真伪",
    "supplement": "凭本编号到受理窗口查询办理进度；右侧二维码用于核验回执真伪",
    "notice": "凭本编号到受理窗口查询办理进度；右侧二维码用于核验通知书真伪",
    "commitment": "凭本编号到受理窗口查询办理进度；受理窗口扫描右侧二维码可调取本件",
    "return_list": "凭本编号到受理窗口查询办理进度；受理窗口扫描右侧二维码可调取本件",
}


def text_of(pdf: bytes) -> str:
    """The PDF's text as pdftotext reads it, white space removed (lines wrap by paper)."""
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"\s+", "", out.stdout.decode())


@pytest.mark.parametrize("kind", sorted(NO_LINK_LINES))
def test_each_document_says_what_its_qr_is_for(kind):
    text = text_of(build_document(sample_document(kind)))
    assert NO_LINK_LINES[kind] in text
    if kind not in ("receipt", "supplement", "notice"):
        assert "真伪" not in text


LINK = "https://zwfw.example.gov.cn/cx?t=YJS1|R|x"  # a county query address is configured


@pytest.mark.parametrize("kind", ["receipt", "notice"])
def test_a_query_link_qr_is_offered_for_the_progress_and_not_for_checking(kind):
    doc = dataclasses.replace(sample_document(kind), qr_payload=LINK)
    text = text_of(build_document(doc))
    assert "凭本编号或扫描右侧二维码查询办理进度" in text
    assert "真伪" not in text


@pytest.mark.parametrize("kind", ["application_form", "authorization"])
def test_generated_forms_do_not_claim_their_qr_checks_a_receipt(kind, ctx, staff):
    clerk = staff["clerk"]
    doc = ctx.documents.document(clerk, _finished(ctx, clerk, CARD_READ, exempt=True), kind)
    text = text_of(build_document(doc))
    assert "受理窗口扫描右侧二维码可调取本件" in text
    assert "真伪" not in text and "查询办理进度" not in text
    linked = text_of(build_document(dataclasses.replace(doc, qr_payload=LINK)))
    assert "凭本编号或扫描右侧二维码查询办理进度" in linked and "真伪" not in linked
