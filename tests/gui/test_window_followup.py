"""After the intake: 补正, 送达, continuing a notified intake, enterprise applicants, the ledger."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import press, type_into
from tests.gui.test_window_intake import (
    F12,
    answer_questions,
    choose_newborn,
    enter_applicant,
    mark_by_keys,
    saved_documents,
)

pytestmark = pytest.mark.gui


def received_intake(qtbot: Any, window: Any, marks: dict[str, Qt.Key] | None = None) -> str:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, marks or {})
    press(qtbot, window, window.intake.materials.table, F12)
    sid = window.intake.submission_id
    assert sid is not None
    return sid


def test_supplement_clears_the_tolerated_material(qtbot: Any, window: Any, ctx: Any) -> None:
    sid = received_intake(qtbot, window, {"marriage_certificate": Qt.Key.Key_3})
    window.search.open_intake(sid)
    detail = window.search.detail
    assert detail.supplement_button.isEnabled()
    detail.supplement_button.click()
    dialog = detail.dialog
    assert dialog.materials.count() == 1 and "结婚证" in dialog.materials.item(0).text()
    dialog.buttons.accepted.emit()
    view = ctx.queries.get(sid)
    assert not view.awaiting_supplement and view.tolerated_outstanding == ()
    assert not detail.supplement_button.isEnabled()
    assert "补正" in window.messages.text


def test_express_delivery_needs_a_tracking_number(qtbot: Any, window: Any, ctx: Any) -> None:
    sid = received_intake(qtbot, window)
    ctx.intake.mark_pushed(sid)
    for item in ctx.queries.get(sid).items:
        if item == "resident_medical_insurance_enrolment":
            continue  # switched off by the answer: not sent to a department
        ctx.intake.record_decision(None, sid, item, "accepted")
        ctx.intake.record_decision(None, sid, item, "completed")
    window.search.open_intake(sid)
    detail = window.search.detail
    assert detail.deliver_button.isEnabled()
    detail.deliver_button.click()
    dialog = detail.dialog
    dialog.express.setChecked(True)
    dialog.buttons.accepted.emit()
    assert "快递单号" in dialog.error_label.text()  # the service's own words
    assert ctx.queries.get(sid).stage == "completed"

    type_into(qtbot, window, dialog.tracking, "SF1234567890123")
    dialog.buttons.accepted.emit()
    assert ctx.queries.get(sid).stage == "delivered"
    assert ctx.queries.get(sid).delivery_method == "express"


def test_scanning_a_notice_continues_the_intake_in_the_workspace(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {"household_register": Qt.Key.Key_0})
    press(qtbot, window, window.intake.materials.table, F12)
    sid = window.intake.submission_id
    assert ctx.queries.get(sid).stage == "notified"
    payload = ctx.documents.document(None, sid, "notice").qr_payload

    window.show_search()  # the applicant comes back another day; the clerk is elsewhere
    qtbot.keyClicks(window.search.query, payload)
    qtbot.keyClick(window.search.query, Qt.Key.Key_Return)

    assert window.tabs.currentWidget() is window.intake
    assert window.intake.submission_id == sid and not window.intake.finished
    assert window.search.query.text() == ""
    window.intake.materials.select_material("household_register")
    press(qtbot, window, window.intake.materials.table, Qt.Key.Key_1)
    assert window.intake.checklist.verdict == "complete"
    press(qtbot, window, window.intake.materials.table, F12)
    view = ctx.queries.get(sid)
    assert view.stage == "received"
    assert [k for k, _pdf, _r in saved_documents(ctx, sid)] == ["notice", "receipt"]


def test_enterprise_uscc_is_checked_as_typed(qtbot: Any, window: Any) -> None:
    panel = window.intake.applicant
    panel.enterprise.setChecked(True)
    assert panel.uscc_edit.isVisibleTo(window)
    # the legal representative's ID number is asked for (the commitment letter needs it)
    assert (
        panel.id_edit.isVisibleTo(window) and "法定代表人" in panel.rows["resident_id"].label.text()
    )
    type_into(qtbot, window, panel.uscc_edit, "91350100M000100Y44")
    press(qtbot, window, panel.uscc_edit, Qt.Key.Key_Tab)
    assert "校验位不符" in panel.problem_text("uscc")
    panel.uscc_edit.clear()
    type_into(qtbot, window, panel.uscc_edit, "91350100M000100Y43")
    press(qtbot, window, panel.uscc_edit, Qt.Key.Key_Tab)
    assert panel.problem_text("uscc") == ""
    assert panel.value().kind == "enterprise" and panel.value().uscc == "91350100M000100Y43"


def test_bundle_filter_finds_by_alias_and_pinyin(qtbot: Any, window: Any) -> None:
    picker = window.intake.bundles
    for query in ("xsecs", "出生一件事", "xinsheng"):
        picker.filter.setText(query)
        assert picker.visible_bundle_ids()[0] == "newborn_birth", query
    picker.filter.setText("zzzzqqq")
    assert picker.visible_bundle_ids() == []


def test_ledger_lists_the_day_with_counts(qtbot: Any, window: Any) -> None:
    sid = received_intake(qtbot, window)
    press(qtbot, window, window.intake, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    ledger = window.ledger
    assert window.tabs.currentWidget() is ledger
    assert [r.submission_id for r in ledger.model.rows] == [sid]
    assert "共 1 件" in ledger.counts.text() and "待数字化推送 1 件" in ledger.counts.text()
    push = ledger.model.index(0, 7).data()
    assert push.startswith("剩余")


def test_another_card_does_not_silently_replace_the_applicant(
    qtbot: Any, window: Any, reader: Any
) -> None:
    enter_applicant(qtbot, window)
    card = reader.present()
    window.poll_card()
    panel = window.intake.applicant
    assert panel.id_edit.text() == "11010519491231002X"
    assert "替换" in window.messages.text
    window.messages.action_button.click()
    assert panel.id_edit.text() == card.resident_id and panel.verified("resident_id")


def test_idle_time_locks_the_window(qtbot: Any, window: Any) -> None:
    window.idle.set_minutes(0.002)  # about 120 ms
    qtbot.waitUntil(lambda: window.locked, timeout=5000)
    assert not window.wedge.enabled  # no scans into a locked window


def test_keys_and_input_method_text_keep_their_order(qtbot: Any, window: Any) -> None:
    from PySide6.QtGui import QInputMethodEvent
    from PySide6.QtWidgets import QApplication

    address = window.intake.applicant.edit("address")
    address.setFocus()
    qtbot.keyClicks(address, "12")  # held for a moment by the wedge filter…
    commit = QInputMethodEvent()
    commit.setCommitString("号楼")  # …when the input method commits Chinese text
    QApplication.sendEvent(address, commit)
    assert address.text() == "12号楼"


def test_scanning_a_receipt_link_opens_the_intake(
    qtbot: Any, window: Any, ctx: Any, monkeypatch: Any
) -> None:
    # the receipt QR is the county's query link carrying the signed token (issue 11 item 9)
    monkeypatch.setenv("INTAKE_RECEIPT_QUERY_URL", "https://zwfw.example.gov.cn/yjs/cx")
    sid = received_intake(qtbot, window)
    payload = ctx.documents.document(None, sid, "receipt").qr_payload
    assert payload.startswith("https://zwfw.example.gov.cn/yjs/cx?t=YJS1")
    window.show_search()
    qtbot.keyClicks(window.search.query, payload)
    qtbot.keyClick(window.search.query, Qt.Key.Key_Return)
    # a received intake opens in the search tab's record view
    qtbot.waitUntil(
        lambda: window.search.detail.view is not None and window.search.detail.view.id == sid
    )
    assert window.tabs.currentWidget() is window.search
    assert window.search.query.text() == ""
