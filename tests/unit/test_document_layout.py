"""Layout of long documents and documents with nothing to say (issue 11 item 8), read back from
the PDF page by page with pypdf."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from pypdf import PdfReader

from app.documents import DocMaterial
from printing.documents import build_commitment, build_notice, build_receipt
from tests.sample_docs import MATERIALS, sample_document

HEADING = "四、容缺受理材料"


def pages_of(pdf: bytes) -> list[str]:
    return [re.sub(r"\s+", "", p.extract_text()) for p in PdfReader(io.BytesIO(pdf)).pages]


def receipt_with(collected: int, tolerated: int, paper: str) -> tuple[bytes, list[str]]:
    extra = tuple(
        DocMaterial(
            seq=0, name=f"第{n}号补充证明材料", form="copy", copies=1, state="collected", pages=1
        )
        for n in range(1, collected + 1)
    )
    owed = tuple(
        DocMaterial(
            seq=0,
            name=f"容缺之{'甲乙丙丁戊'[n]}类证明",
            form="original",
            copies=1,
            state="tolerated",
        )
        for n in range(tolerated)
    )
    materials = tuple(dataclasses.replace(m, seq=i) for i, m in enumerate((*extra, *owed), start=1))
    doc = sample_document("receipt", materials=materials)
    return build_receipt(doc, paper), [m.name for m in owed]  # type: ignore[arg-type]


@pytest.mark.parametrize("paper", ["A4", "A5"])
def test_the_tolerated_table_never_splits_from_its_heading(paper: str) -> None:
    # Every length of the material list puts the page break somewhere else; for each, the
    # heading and all the tolerated rows must share one page.
    two_page = 0
    for collected in range(1, 30):
        pdf, owed = receipt_with(collected, 4, paper)
        pages = pages_of(pdf)
        two_page += len(pages) > 1
        with_heading = [i for i, text in enumerate(pages) if HEADING in text]
        assert len(with_heading) == 1, collected
        page = pages[with_heading[0]]
        tail = page[page.index(HEADING) :]
        for name in owed:
            assert name in tail, (collected, name)
    assert two_page > 5  # the sizes really did cross page breaks


def test_no_notice_without_a_missing_material() -> None:
    complete = tuple(dataclasses.replace(m, state="collected") for m in MATERIALS)
    with pytest.raises(ValueError):
        build_notice(sample_document("notice", materials=complete))


def test_no_commitment_without_a_tolerated_material() -> None:
    none = tuple(m for m in MATERIALS if m.state != "tolerated")
    with pytest.raises(ValueError):
        build_commitment(sample_document("commitment", materials=none))
