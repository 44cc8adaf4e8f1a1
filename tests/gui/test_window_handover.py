"""The clerk's path of issue 15 item 8 in the window: 帮办代办 and 优先办 on the intake screen,
送达 with a carrier and the 送达凭证 printed, and the 材料移交 screen (offscreen, inline runner)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.clock import local_day
from tests.gui.conftest import press, type_into
from tests.gui.test_window_intake import (
    F12,
    VALID_ID,
    answer_questions,
    choose_newborn,
    enter_applicant,
    mark_by_keys,
    pdf_text,
    saved_documents,
)

pytestmark = pytest.mark.gui

AGENT_ID = "41072119800101001X"  # check digit X worked out by hand (GB 11643)


def line_ids(window: Any) -> set[str]:
    model = window.intake.materials.model
    return {line.id for r in range(model.rowCount()) if (line := model.line(r)) is not None}


def fill_agent(qtbot: Any, window: Any, resident_id: str = AGENT_ID) -> None:
    panel = window.intake.agent_panel
    if not panel.acting.isChecked():
        panel.acting.setChecked(True)
        assert panel.name.hasFocus()  # ticking the box goes straight to the agent's name
    panel.name.clear()
    type_into(qtbot, window, panel.name, "李四")
    panel.resident_id.clear()
    type_into(qtbot, window, panel.resident_id, resident_id)
    panel.phone.clear()
    type_into(qtbot, window, panel.phone, "13900001111")
    panel.relation.setCurrentIndex(panel.relation.findData("child"))
    panel.save_button.click()


def test_agent_and_priority_on_the_intake_screen(
    qtbot: Any, window: Any, ctx: Any, printer: Any
) -> None:
    enter_applicant(qtbot, window, resident_id=VALID_ID)  # born 1949: 60 and over
    panel = window.intake.agent_panel
    qtbot.waitUntil(lambda: panel.priority.currentData() == "elderly", timeout=5000)
    assert "60周岁" in panel.priority_hint.text()
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    assert "power_of_attorney" not in line_ids(window)

    fill_agent(qtbot, window, resident_id="410721198001010011")  # wrong check digit
    assert "代办人证件号码" in panel.problem.text() and "校验位" in panel.problem.text()
    assert panel.resident_id.hasFocus()
    assert ctx.agents.agent(window.intake.submission_id) is None

    fill_agent(qtbot, window)
    # the agent's papers joined the list
    assert {"power_of_attorney", "agent_id_card"} <= line_ids(window)
    mark_by_keys(qtbot, window, {})
    press(qtbot, window, window.intake.materials.table, F12)
    sid = window.intake.submission_id
    assert ctx.queries.get(sid).stage == "received"
    assert ctx.agents.priority(sid) == "elderly"
    (receipt,) = [pdf for kind, pdf, _r in saved_documents(ctx, sid) if kind == "receipt"]
    text = pdf_text(receipt)
    assert "李四（子女）" in text and "410721********001X" in text
    assert "老年人（60周岁及以上）" in text


def test_unticking_the_agent_takes_the_papers_off(qtbot: Any, window: Any, ctx: Any) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    fill_agent(qtbot, window)
    panel = window.intake.agent_panel
    panel.priority.setCurrentIndex(panel.priority.findData("disabled"))
    panel.priority.activated.emit(panel.priority.currentIndex())
    sid = window.intake.submission_id
    assert ctx.agents.agent(sid) is not None and ctx.agents.priority(sid) == "disabled"
    panel.acting.setChecked(False)
    assert ctx.agents.agent(sid) is None
    assert "power_of_attorney" not in line_ids(window)
    # reopening the draft shows what is stored
    window.intake.load(sid)
    assert not panel.acting.isChecked() and panel.priority.currentData() == "disabled"


def received_intake(qtbot: Any, window: Any) -> str:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})
    press(qtbot, window, window.intake.materials.table, F12)
    sid = window.intake.submission_id
    assert sid is not None
    return sid


def test_express_delivery_with_a_carrier_prints_the_proof(
    qtbot: Any, window: Any, ctx: Any, printer: Any
) -> None:
    sid = received_intake(qtbot, window)
    ctx.intake.mark_pushed(sid)
    for item in ctx.intake.checklist(sid).active_items:
        ctx.intake.record_decision(None, sid, item.id, "accepted")
        ctx.intake.record_decision(None, sid, item.id, "completed")
    window.search.open_intake(sid)
    detail = window.search.detail
    detail.deliver_button.click()
    dialog = detail.dialog
    dialog.express.setChecked(True)
    dialog.carrier.setCurrentIndex(dialog.carrier.findData("yto"))
    type_into(qtbot, window, dialog.tracking, "SF1234567890123")
    dialog.buttons.accepted.emit()
    assert "圆通速递" in dialog.error_label.text()  # the number is not of that carrier's shape
    assert ctx.queries.get(sid).stage == "completed"
    dialog.carrier.setCurrentIndex(dialog.carrier.findData("sf"))
    jobs = len(printer.jobs)
    dialog.buttons.accepted.emit()
    assert ctx.queries.get(sid).stage == "delivered"
    assert len(printer.jobs) == jobs + 1
    text = pdf_text(printer.jobs[-1][1])
    assert "送达凭证" in text and "顺丰速运" in text and "SF1234567890123" in text
    kinds = [kind for kind, _pdf, _r in saved_documents(ctx, sid)]
    assert "delivery_proof" in kinds  # kept with the intake


def test_handover_screen_lists_by_department_and_prints(
    qtbot: Any, window: Any, ctx: Any, printer: Any
) -> None:
    first = received_intake(qtbot, window)
    press(qtbot, window, window.intake.result.new_button, Qt.Key.Key_Return)
    second = received_intake(qtbot, window)
    window.open_handover()
    screen = window.handover_dialog
    assert screen.day.date().toPython() == local_day(ctx.clock.now())  # today's intakes
    qtbot.waitUntil(lambda: screen.departments.count() == 1, timeout=5000)
    assert screen.departments.item(0).text().startswith("县卫健委")
    numbers = {ctx.queries.get(first).number, ctx.queries.get(second).number}
    assert {screen.table.item(r, 0).text() for r in range(screen.table.rowCount())} == numbers
    screen.create_button.click()
    assert "接收人" in screen.message.text()  # nobody named as receiver yet
    assert ctx.handover.batches() == []
    type_into(qtbot, window, screen.receiver, "赵六")
    jobs = len(printer.jobs)
    screen.create_button.click()
    (batch,) = ctx.handover.batches()
    assert batch.department == "县卫健委" and batch.received_by == "赵六" and batch.intakes == 2
    assert len(printer.jobs) == jobs + 1
    text = pdf_text(printer.jobs[-1][1])
    assert "纸质材料移交清单" in text and batch.number in text and "赵六" in text
    assert screen.departments.count() == 0 and screen.table.rowCount() == 0  # nothing left
    assert batch.number in screen.message.text()
    screen.reprint_button.click()  # the printer jammed: the same list once more
    assert len(printer.jobs) == jobs + 2
    assert pdf_text(printer.jobs[-1][1]) == text
