import csv
import datetime as dt
import io

from openpyxl import load_workbook

from app.exports import HEADERS, ledger_csv, ledger_xlsx
from app.views import LedgerRow

T = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)


def row(n: int, stage: str = "received", source: str = "card") -> LedgerRow:
    return LedgerRow(
        submission_id=f"id{n}",
        number=f"XX01-241202-000{n}-A",
        created_at=T,
        bundle_id="newborn_birth",
        bundle_name="新生儿出生",
        applicant_name="张*",
        applicant_id_masked="110105********002X",
        stage=stage,
        label="已收件",
        awaiting_supplement=False,
        clerk_name="王芳",
        received_at=T,
        digitised_at=None,
        pushed_at=None,
        identity_source=source,
    )


def test_csv_is_excel_friendly_and_masked():
    data = ledger_csv([row(1), row(2, source="typed")])
    assert data.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(lines[0]) == HEADERS and len(lines) == 3
    assert lines[1][0] == "XX01-241202-0001-A" and lines[1][1] == "2024-12-02 09:30"
    assert (
        lines[1][4] == "110105********002X" and lines[1][5] == "读卡" and lines[2][5] == "手工录入"
    )


def test_xlsx_has_summary_and_detail():
    wb = load_workbook(
        io.BytesIO(ledger_xlsx([row(1), row(2), row(3, "notified")], "2024-12-02 台账"))
    )
    assert wb.sheetnames == ["汇总", "明细"]
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(min_row=3, values_only=True)}
    assert (
        summary["合计"] == 3
        and summary["一件事：新生儿出生"] == 3
        and summary["窗口人员：王芳"] == 3
    )
    detail = list(wb["明细"].iter_rows(values_only=True))
    assert tuple(detail[0]) == HEADERS and len(detail) == 4 and detail[1][4] == "110105********002X"
