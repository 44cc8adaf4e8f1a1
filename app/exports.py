"""Ledger exports (xlsx with a summary and a detail sheet, CSV, PDF), masked and audited; a
supervisor's action (a clerk sees the day's ledger list in the window but does not export it)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app import audit
from app.clock import STATION_TZ
from app.staff import authorize
from app.views import LedgerRow, StaffView
from local_db.engine import write_tx
from local_db.errors import DomainError

IDENTITY_LABELS = {
    "card": "读卡",
    "ocr": "OCR识别",
    "licence_qr": "执照二维码",
    "reuse": "档案复用",
    "typed": "手工录入",
}
HEADERS = (
    "受理编号",
    "时间",
    "一件事",
    "申请人",
    "证件号码",
    "身份核验",
    "状态",
    "窗口人员",
    "收件时间",
    "数字化时间",
    "推送时间",
)


def _t(value: dt.datetime | None) -> str:
    return value.astimezone(STATION_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def detail_rows(rows: Sequence[LedgerRow]) -> list[tuple[str, ...]]:
    return [
        (
            r.number or "",
            _t(r.created_at),
            r.bundle_name,
            r.applicant_name,
            r.applicant_id_masked,
            IDENTITY_LABELS.get(r.identity_source, r.identity_source),
            r.label,
            r.clerk_name,
            _t(r.received_at),
            _t(r.digitised_at),
            _t(r.pushed_at),
        )
        for r in rows
    ]


def summary_rows(rows: Sequence[LedgerRow]) -> list[tuple[str, int]]:
    by_state = Counter(r.label for r in rows)
    by_bundle = Counter(r.bundle_name for r in rows)
    by_clerk = Counter(r.clerk_name for r in rows)
    out: list[tuple[str, int]] = [("合计", len(rows))]
    out += [(f"状态：{k}", v) for k, v in sorted(by_state.items())]
    out += [(f"一件事：{k}", v) for k, v in by_bundle.most_common()]
    out += [(f"窗口人员：{k}", v) for k, v in by_clerk.most_common()]
    return out


def ledger_csv(rows: Sequence[LedgerRow]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    writer.writerows(detail_rows(rows))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly


def ledger_xlsx(rows: Sequence[LedgerRow], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    summary = wb.active
    summary.title = "汇总"
    summary.append([title])
    summary["A1"].font = Font(bold=True, size=13)
    summary.append(["项目", "件数"])
    for label, n in summary_rows(rows):
        summary.append([label, n])
    summary.column_dimensions["A"].width = 36
    detail = wb.create_sheet("明细")
    detail.append(list(HEADERS))
    for cell in detail[1]:
        cell.font = Font(bold=True)
    for r in detail_rows(rows):
        detail.append(list(r))
    for col, width in zip("ABCDEFGHIJK", (22, 16, 18, 10, 22, 10, 16, 10, 16, 16, 16), strict=True):
        detail.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class LedgerPdf(Protocol):
    """Renders the ledger as an A4 report (printing.ledger_report.ledger_pdf): passed in, so
    exports does not reach up into printing."""

    def __call__(
        self,
        rows: Sequence[LedgerRow],
        title: str,
        centre_name: str,
        period_label: str,
        seal: str | None,
    ) -> bytes: ...


def export_ledger(
    sessions: sessionmaker[Session],
    actor: StaffView,
    rows: Sequence[LedgerRow],
    fmt: str,
    title: str,
    at: dt.datetime,
    *,
    centre_name: str = "",
    period_label: str = "",
    seal: str | None = None,
    render_pdf: LedgerPdf | None = None,
) -> bytes:
    """The export's bytes (xlsx, csv or pdf: through RENDER_PDF); every export is in the audit
    log (what, how many rows, by whom)."""
    authorize(sessions, actor, "export.ledger", at=at)
    if fmt not in ("xlsx", "csv", "pdf"):
        raise DomainError("export.format", format=fmt)
    if fmt == "pdf":
        if render_pdf is None:
            raise DomainError("export.pdf_unavailable")
        data = render_pdf(rows, title, centre_name, period_label or title, seal)
    else:
        data = ledger_xlsx(rows, title) if fmt == "xlsx" else ledger_csv(rows)
    with write_tx(sessions) as s:
        audit.append(
            s,
            at=at,
            staff_id=actor.id,
            action=f"export.ledger.{fmt}",
            target=title,
            detail=f"{len(rows)} rows",
        )
    return data
