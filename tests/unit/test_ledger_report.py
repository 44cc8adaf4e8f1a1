"""The day-close ledger report carries its title, figures, masked ID numbers and the seal,
read back from the PDF itself."""

from __future__ import annotations

import datetime as dt
import io
import re

from pypdf import PdfReader

from app.dayclose import SealBasis
from app.reports import Metric
from app.validators import mask_resident_id
from app.views import LedgerRow
from printing.ledger_report import build_ledger_report

FULL_ID = "11010519491231002X"
SEAL = SealBasis(
    dt.date(2026, 11, 20),
    prev_seal="ab12" * 16,
    records_hash="cd34" * 16,
    submissions=42,
    events=311,
)


def _row(n: int) -> LedgerRow:
    at = dt.datetime(2026, 11, 20, 1, n, tzinfo=dt.UTC)
    return LedgerRow(
        submission_id=f"sid-{n}",
        number=f"XX01-20261120-{n:04d}",
        created_at=at,
        bundle_id="birth",
        bundle_name="新生儿出生",
        applicant_name="张*英",
        applicant_id_masked=mask_resident_id(FULL_ID),
        stage="received",
        label="已收件",
        awaiting_supplement=False,
        clerk_name="王芳",
        received_at=at,
        digitised_at=None,
        pushed_at=None,
        identity_source="card",
    )


def _text(pdf: bytes) -> str:
    return re.sub(
        r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    )


def _build(seal: SealBasis | None) -> bytes:
    metrics = (Metric("push_within_2h", "2小时内推送", 66.7, 2, 3, 100.0),)
    return build_ledger_report(
        "日结报告",
        "新乡县政务服务中心",
        "2026年11月20日",
        [("收件", 37), ("一次告知", 5)],
        metrics,
        [_row(1), _row(2)],
        seal,
    )


def test_report_carries_title_figures_masked_ids_and_seal() -> None:
    text = _text(_build(SEAL))
    assert "日结报告" in text and "新乡县政务服务中心" in text
    assert "收件" in text and "37" in text
    assert "66.7%" in text and "100.0%" in text and "2/3" in text and "未达标" in text
    assert "XX01-20261120-0001" in text
    assert mask_resident_id(FULL_ID) in text
    assert FULL_ID not in text
    # what the seal is computed from, so the seal can be recomputed from the paper and the file
    assert f"上一日封存值：{SEAL.prev_seal}" in text
    assert f"记录摘要（当日全部受理事件的SHA-256）：{SEAL.records_hash}" in text
    assert "受理件数：42" in text and "事件数：311" in text


def test_report_without_seal_says_not_closed_and_is_deterministic() -> None:
    pdf = _build(None)
    assert "尚未日结" in _text(pdf)
    assert pdf == _build(None)


def test_day_close_report_lists_open_work_and_ends_with_the_supervisors_signature() -> None:
    pending = Metric("push_within_2h", "2小时内推送", None, 0, 0, 100.0, pending=3)
    pdf = build_ledger_report(
        "受理台账日结报告",
        "新乡县政务服务中心",
        "2026年11月20日",
        [("全部受理", 2)],
        (pending,),
        [_row(1), _row(2)],
        SEAL,
        open_work=[
            ("容缺待补", []),
            ("待数字化", ["XX01-20261120-0001"]),
            ("未推送", ["XX01-20261120-0001"]),
        ],
        sign_off="张静",
    )
    text = _text(pdf)
    assert (
        "日结时尚未完结" in text
        and "待数字化（1件）：XX01-20261120-0001" in text
        and "容缺待补（0件）：无" in text
    )
    assert "日结操作人：张静" in text and "负责人签字：" in text and "日期：" in text
    # nothing pushed yet, all within their 2 hours: no percentage, no 达标
    assert "0/0（另3件待推送）" in text and "待推送，暂无结果" in text and "100.0%达标" not in text
    # an export (no sign-off asked) has no signature line
    assert "负责人签字" not in _text(_build(None))


def test_report_shows_the_ratings_distribution_and_open_followups() -> None:
    from app.rating_figures import RatingFigures

    figures = RatingFigures(
        counts={
            "very_satisfied": 6,
            "satisfied": 1,
            "basic": 1,
            "dissatisfied": 0,
            "very_dissatisfied": 2,
        },
        declined=3,
        open_followups=2,
        overdue_followups=1,
    )
    pdf = build_ledger_report(
        "受理台账日结报告",
        "新乡县政务服务中心",
        "2026年11月20日",
        [("全部受理", 2)],
        (),
        [_row(1)],
        SEAL,
        ratings=figures,
    )
    text = _text(pdf)
    # by hand: 6 of 10 ratings 非常满意, 8 of 10 are 好评, 未评价 is not a rating
    assert "二、好差评" in text and "非常满意660.0%" in text and "非常不满意220.0%" in text
    assert "未评价3—" in text and "80.0%（8/10）" in text
    assert "待整改差评2件，其中逾期未整改1件" in text
    assert "好差评" not in _text(_build(None))  # an export without figures has no such section
