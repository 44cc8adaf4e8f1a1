"""The window asks for what the printed documents need (issue 11 item 8): the contact phone, the
legal representative's ID number, and a receipt for 补正."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt

from tests.gui.conftest import press, type_into
from tests.gui.test_window_followup import received_intake
from tests.gui.test_window_intake import (
    F12,
    answer_questions,
    choose_newborn,
    mark_by_keys,
    saved_documents,
)

pytestmark = pytest.mark.gui


def test_a_card_read_leaves_the_clerk_on_the_phone_field(
    qtbot: Any, window: Any, ctx: Any, reader: Any
) -> None:
    reader.present()
    window.poll_card()
    panel = window.intake.applicant
    assert panel.verified("resident_id")
    assert panel.phone_edit.hasFocus()  # the one field a card cannot fill
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})
    press(qtbot, window, window.intake.materials.table, F12)
    sid = window.intake.submission_id
    assert (
        ctx.queries.get(sid).stage == "draft"
    )  # not finished without a way to reach the applicant
    assert "联系电话" in window.messages.text and panel.phone_edit.hasFocus()
    type_into(qtbot, window, panel.phone_edit, "13812345678")
    press(qtbot, window, window.intake.materials.table, F12)
    assert ctx.queries.get(sid).stage == "received"
    assert ctx.queries.get(sid).applicant.phone == "13812345678"


def test_enterprise_panel_carries_the_legal_representatives_id_number(
    qtbot: Any, window: Any
) -> None:
    panel = window.intake.applicant
    panel.enterprise.setChecked(True)
    type_into(qtbot, window, panel.id_edit, "440524188001010014")
    assert panel.value().resident_id == "440524188001010014"
    assert panel.rows["resident_id"].label.text().startswith("法定代表人身份证号")


def test_supplement_prints_a_receipt_of_what_was_handed_in(
    qtbot: Any, window: Any, ctx: Any, printer: Any
) -> None:
    sid = received_intake(qtbot, window, {"marriage_certificate": Qt.Key.Key_3})
    window.search.open_intake(sid)
    detail = window.search.detail
    detail.supplement_button.click()
    detail.dialog.buttons.accepted.emit()
    docs = saved_documents(ctx, sid)
    assert [k for k, _pdf, _r in docs] == ["commitment", "receipt", "supplement"]
    text = "".join(
        "".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(docs[-1][1])).pages
    )
    assert "补正材料收件回执" in text and "结婚证" in text
    assert any(job == docs[-1][1] for _name, job in printer.jobs)
