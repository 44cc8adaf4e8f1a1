"""咨询 in the window (Ctrl+G): bundle, items and questions without an applicant, the 办事指南
printed and read back against the list the clerk saw, counted as 咨询 and not as an intake; the
supervisor sees the 咨询 count and the departments' overdue acceptances."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit

from app.clock import STATION_TZ
from app.reports import Period
from tests.gui.conftest import login, press, type_into

pytestmark = [pytest.mark.gui]


def _pdf_text(pdf: bytes, tmp_path: Any) -> str:
    path = tmp_path / "guide.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True)
    return re.sub(r"\s+", "", out.stdout)


def _open_consultation(qtbot: Any, window: Any) -> Any:
    press(qtbot, window, window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "consultation", None) is not None, timeout=3000)
    dialog = window.consultation
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=3000)
    return dialog


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).astimezone(STATION_TZ).date()


def test_clerk_prints_a_guide_without_an_applicant(
    qtbot: Any, window: Any, ctx: Any, printer: Any, tmp_path: Any
) -> None:
    dialog = _open_consultation(qtbot, window)
    type_into(qtbot, window, dialog.bundles.filter, "开办餐饮店")
    press(qtbot, window, dialog.bundles.filter, Qt.Key.Key_Return)
    assert dialog.bundles.bundle is not None and dialog.bundles.bundle.name == "开办餐饮店"
    assert dialog.checklist is not None and dialog.print_button.isEnabled()
    area = dialog.questions.editor("business_area")
    assert isinstance(area, QLineEdit)
    type_into(qtbot, window, area, "350")
    press(qtbot, window, area, Qt.Key.Key_Return)
    owner = dialog.questions.editor("venue_ownership")
    assert isinstance(owner, QComboBox)
    owner.setCurrentIndex(owner.findData("rented"))
    seen = dialog.checklist
    assert "lease_contract" in {m.material.id for m in seen.materials}  # 租赁: the contract
    assert "营业执照" in dialog.preview.toPlainText()
    qtbot.keyClick(dialog, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "已计入今日咨询" in dialog.status.text(), timeout=10_000)
    assert len(printer.jobs) == 1
    job_name, pdf = printer.jobs[0]
    assert job_name == "开办餐饮店 办事指南"
    text = _pdf_text(pdf, tmp_path)
    for line in seen.materials:  # what the clerk saw is what was printed
        assert re.sub(r"\s+", "", line.name) in text
        assert re.sub(r"\s+", "", line.material.acceptance_standard) in text
    assert "350平方米" in text and "租赁" in text
    # counted as 咨询, no intake made
    sup = ctx.staff.login("zhangjing", "super1234")
    rec = ctx.reports.reconcile(sup, Period.of("day", _today()), ctx.clock.now())
    assert rec.counts["consultations"] == 1 and rec.counts["all"] == 0
    assert ctx.queries.ledger(_today()) == []


def test_a_printer_that_is_off_counts_nothing(
    qtbot: Any, window: Any, ctx: Any, printer: Any
) -> None:
    printer.fail_with = "打印机缺纸"
    dialog = _open_consultation(qtbot, window)
    type_into(qtbot, window, dialog.bundles.filter, "新生儿出生")
    press(qtbot, window, dialog.bundles.filter, Qt.Key.Key_Return)
    dialog.print_button.click()
    qtbot.waitUntil(lambda: "未能打印" in dialog.status.text(), timeout=10_000)
    assert "打印机缺纸" in dialog.status.text() and dialog.print_button.isEnabled()
    sup = ctx.staff.login("zhangjing", "super1234")
    rec = ctx.reports.reconcile(sup, Period.of("day", _today()), ctx.clock.now())
    assert rec.counts["consultations"] == 0


def test_supervisor_sees_consultations_and_overdue_acceptances(
    qtbot: Any, shell: Any, ctx: Any
) -> None:
    from local_db.models import Submission
    from tests.gui.test_window_ledger import make_intake

    clerk = ctx.staff.login("wangfang", "clerk1234")
    doc = ctx.consultations.guide(clerk, "新生儿出生")
    ctx.consultations.record(clerk, doc)
    sid = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    ctx.intake.mark_pushed(sid)
    # As if pushed before a long weekend and never decided: its due day has passed.
    with ctx.sessions.begin() as s:
        s.get(Submission, sid).acceptance_due = _today() - dt.timedelta(days=3)
    window = login(qtbot, shell, "zhangjing", "super1234")
    tab = window.supervisor
    tab.set_period("day", _today())
    qtbot.waitUntil(lambda: tab.rec is not None, timeout=10_000)
    assert "咨询 1 次" in tab.period_label.text()
    assert tab.rec.counts["dept_overdue"] == 1
    assert tab.figure_buttons["dept_overdue"].text() == "部门逾期未受理\n1"
    qtbot.waitUntil(lambda: tab.overdue.table.rowCount() > 0, timeout=10_000)
    number = ctx.queries.get(sid).number
    with ctx.sessions() as s:
        active = [i.item_id for i in s.get(Submission, sid).items if i.active]
    assert tab.overdue.table.rowCount() == len(active) > 0
    assert {tab.overdue.table.item(r, 0).text() for r in range(tab.overdue.table.rowCount())} == {
        number
    }
    assert tab.overdue.table.item(0, 5).text() == "仍未作出受理决定"
    tab.figure_buttons["dept_overdue"].click()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=10_000)


def test_supervisor_sets_the_address_the_guides_print(
    qtbot: Any, ctx: Any, printer: Any, reader: Any, tmp_path: Any
) -> None:
    from app.options import MemorySettings
    from tests.gui.conftest import running_shell
    from ui.tasks import InlineTaskRunner

    settings = MemorySettings()
    shells = running_shell(
        qtbot, InlineTaskRunner(), ctx, printer=printer, reader=reader, settings=settings
    )
    shell = next(shells)
    try:
        window = login(qtbot, shell, "zhangjing", "super1234")
        dialog = _open_consultation(qtbot, window)
        assert dialog.save_where.isVisible()
        type_into(qtbot, window, dialog.where, "城关镇便民服务中心一楼大厅")
        dialog.save_where.click()
        assert settings.value("station/address") == "城关镇便民服务中心一楼大厅"
        dialog.bundles.choose("newborn_birth")
        dialog.print_button.click()
        qtbot.waitUntil(lambda: "已计入今日咨询" in dialog.status.text(), timeout=10_000)
        assert "办理地点：城关镇便民服务中心一楼大厅" in _pdf_text(printer.jobs[-1][1], tmp_path)
    finally:
        next(shells, None)


def test_a_clerk_may_change_the_address_for_one_leaflet_but_not_save_it(
    qtbot: Any, window: Any
) -> None:
    dialog = _open_consultation(qtbot, window)
    assert not dialog.save_where.isVisible()
