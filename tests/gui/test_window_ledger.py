"""The day ledger view: filters by state, bundle and clerk; identity column; xlsx and CSV export
(a supervisor's: a clerk sees the list without the export buttons and the service refuses)."""

from __future__ import annotations

import csv
import io
import logging
import re
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from app.audit import verify
from app.views import ApplicantInput
from local_db.models import AuditEntry
from tests.expected_logs import STAFF_REFUSED
from tests.gui.conftest import login

pytestmark = [
    pytest.mark.gui,
    STAFF_REFUSED,
    pytest.mark.expect_log(logging.WARNING, "intake.ui.ledger", r"^applicant cells not loaded"),
]
ANSWERS = {"parents_married": True, "applied_by_agent": False, "parents_local_insured": True}


def make_intake(ctx: Any, username: str, password: str, complete: bool, source: str) -> str:
    clerk = ctx.staff.login(username, password)
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(
        clerk,
        sid,
        ApplicantInput(
            name="张秀英",
            resident_id="11010519491231002X",
            phone="13812345678",
            sources={"resident_id": source, "name": source},
        ),
    )
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, ANSWERS)
    lines = ctx.intake.checklist(sid).materials
    marks = (
        {m.id: "collected" for m in lines if m.produced_by is None}
        if complete
        else {lines[0].id: "collected"}
    )
    ctx.intake.mark_many(clerk, sid, marks)
    ctx.intake.finish(clerk, sid)
    return sid


def test_filters_identity_and_exports(qtbot: Any, shell: Any, ctx: Any, tmp_path: Any) -> None:
    a = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    b = make_intake(ctx, "lina", "clerk1234", False, "typed")
    window = login(qtbot, shell, "zhangjing", "super1234")
    ledger = window.ledger
    assert not ledger.export_xlsx.isHidden() and not ledger.export_csv.isHidden()
    window.tabs.setCurrentWidget(ledger)
    ledger.refresh()
    assert {r.submission_id for r in ledger.model.rows} == {a, b}
    col = len(ledger.model.COLUMNS) - 1

    def identities() -> dict[str, str]:
        return {
            ledger.model.row_at(i).submission_id: ledger.model.index(i, col).data()
            for i in range(2)
        }

    qtbot.waitUntil(
        lambda: "…" not in identities().values(), timeout=5000
    )  # applicant cells load as shown
    assert identities() == {a: "读卡", b: "手工录入"}
    assert {ledger.model.index(i, 3).data() for i in range(2)} == {"张**"}  # masked

    ledger.set_filter("clerk", "李娜")
    assert [r.submission_id for r in ledger.model.rows] == [b]
    ledger.set_filter("clerk", "")
    ledger.set_filter("state", "已一次告知")
    assert [r.submission_id for r in ledger.model.rows] == [b]
    ledger.set_filter("state", "")
    ledger.set_filter("bundle", "新生儿出生")
    assert len(ledger.model.rows) == 2

    xlsx, csv_path = tmp_path / "l.xlsx", tmp_path / "l.csv"
    with qtbot.waitSignal(ledger.exported, timeout=5000):
        ledger.export("xlsx", str(xlsx))
    ledger.set_filter("clerk", "王芳")
    with qtbot.waitSignal(ledger.exported, timeout=5000):
        ledger.export("csv", str(csv_path))
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["汇总", "明细"] and wb["明细"].max_row == 3
    rows = list(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][7] == "王芳"  # only what the filter shows
    assert "11010519491231002X" not in csv_path.read_bytes().decode("utf-8-sig")
    # PDF: the summary and the rows shown, masked; a closed day's export carries its seal
    pdf_path = tmp_path / "l.pdf"
    sup = ctx.staff.login("zhangjing", "super1234")
    closed = ctx.dayclose.close(sup, "super1234", ledger.day.date().toPython())
    with qtbot.waitSignal(ledger.exported, timeout=5000):
        ledger.export("pdf", str(pdf_path))
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(str(pdf_path)).pages))
    number_a = ctx.queries.get(a).number
    assert (
        "受理台账" in text and number_a in text and ctx.queries.get(b).number not in text
    )  # filtered
    assert "窗口人员：王芳" in text and "410721" not in text and "11010519491231002X" not in text
    assert "110105********002X" in text and closed.seal in text
    with ctx.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry))]
    assert actions.count("export.ledger.xlsx") == 1 and actions.count("export.ledger.csv") == 1
    assert actions.count("export.ledger.pdf") == 1


def test_export_to_an_unwritable_place_says_so(
    qtbot: Any, shell: Any, ctx: Any, tmp_path: Any
) -> None:
    make_intake(ctx, "wangfang", "clerk1234", True, "card")
    ledger = login(qtbot, shell, "zhangjing", "super1234").ledger
    ledger.refresh()
    ledger.export("csv", str(tmp_path / "missing-dir" / "x.csv"))
    qtbot.waitUntil(lambda: "导出失败" in ledger.counts.text(), timeout=5000)
    assert "无法写入文件" in ledger.counts.text()


def test_clerk_sees_the_list_but_cannot_export(
    qtbot: Any, window: Any, ctx: Any, tmp_path: Any
) -> None:
    a = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    ledger = window.ledger  # wangfang, a clerk
    window.show_ledger()
    ledger.refresh()
    assert [r.submission_id for r in ledger.model.rows] == [a]
    assert ledger.export_xlsx.isHidden() and ledger.export_csv.isHidden()
    out = tmp_path / "l.xlsx"
    ledger.export("xlsx", str(out))  # reached anyway: the service refuses
    assert "导出失败" in ledger.counts.text() and "负责人权限" in ledger.counts.text()
    assert not out.exists()
    with ctx.sessions() as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert verify(s) == []
    assert (entries[-1].action, entries[-1].target) == ("auth.refused", "export.ledger")
    assert not any(e.action.startswith("export.ledger") for e in entries)


def test_a_busy_day_decrypts_only_the_applicants_on_screen(
    qtbot: Any, shell: Any, ctx: Any
) -> None:
    """The list of a busy day comes without applicant data; the names and masked ID numbers of
    the rows the clerk sees are read (and decrypted) as they are painted."""
    import datetime as dt

    from app.demo import generate

    generate(ctx.sessions, ctx.catalogs.current, 1500, days=1, seed=3, now=ctx.clock.now())
    window = login(qtbot, shell, "zhangjing", "super1234")
    ledger = window.ledger
    asked: list[str] = []
    ledger.model.cells_wanted.connect(asked.extend)
    window.tabs.setCurrentWidget(ledger)
    ledger.refresh()
    rows = ledger.model.rows
    assert len(rows) > 1000 and all(r.applicant_pending and r.applicant_name == "" for r in rows)
    top = ledger.table.rowAt(0)
    qtbot.waitUntil(lambda: ledger.model.index(top, 4).data() != "…", timeout=5000)
    assert "*" in ledger.model.index(top, 4).data()  # a masked ID number, never the full one
    visible = ledger.table.rowAt(ledger.table.viewport().height() - 1) - top + 1
    assert 0 < len(asked) <= 2 * max(visible, 30) and len(set(asked)) == len(
        asked
    )  # what is on screen, once
    # scrolling to the end brings those rows' cells
    ledger.table.scrollToBottom()
    last = len(rows) - 1
    qtbot.waitUntil(lambda: ledger.model.index(last, 3).data() != "…", timeout=5000)
    assert rows[last].submission_id in asked
    assert isinstance(rows[0].created_at, dt.datetime)


def test_an_applicant_that_cannot_be_decrypted_shows_a_dash_not_a_crash(
    qtbot: Any, shell: Any, ctx: Any
) -> None:
    from sqlalchemy import text

    sid = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    with ctx.sessions() as s:  # a byte of the stored name flipped behind the program's back
        aid, name = s.execute(
            text(
                "SELECT a.id, a.name FROM applicants a JOIN submissions s ON s.applicant_id = a.id"
                " WHERE s.id = :sid"
            ),
            {"sid": sid},
        ).one()
        s.execute(
            text("UPDATE applicants SET name = :n WHERE id = :i"),
            {"n": name[:-1] + bytes([name[-1] ^ 1]), "i": aid},
        )
        s.commit()
    window = login(qtbot, shell, "zhangjing", "super1234")
    ledger = window.ledger
    window.tabs.setCurrentWidget(ledger)
    ledger.refresh()
    assert [r.submission_id for r in ledger.model.rows] == [sid]  # the list itself still shows
    qtbot.waitUntil(lambda: ledger.model.index(0, 3).data() != "…", timeout=5000)
    assert ledger.model.index(0, 3).data() == "—" and ledger.model.index(0, 4).data() == "—"
