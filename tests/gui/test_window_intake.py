"""Whole intakes driven by keyboard through the window (offscreen, inline task runner)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import login, press, type_into

pytestmark = pytest.mark.gui

VALID_ID = "11010519491231002X"  # GB 11643's own example (female)
BAD_CHECK_ID = "110105194912310021"  # same number, wrong check character
F12 = Qt.Key.Key_F12
ALT = Qt.KeyboardModifier.AltModifier


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(text.split())  # table cells wrap long names over lines


def printed_codes(pdf: bytes) -> dict[str, str]:
    """Render page 1 on white and decode its barcodes: symbology -> payload."""
    import pypdfium2
    from pyzbar import pyzbar

    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=200 / 72).to_pil().convert("L")
    return {c.type: c.data.decode() for c in pyzbar.decode(image)}


def saved_documents(ctx: Any, sid: str) -> list[tuple[str, bytes, bool]]:
    return [
        (kind, ctx.attachments.get(sha), reprint)
        for kind, sha, reprint, _at in ctx.documents.documents(sid)
    ]


def enter_applicant(
    qtbot: Any, window: Any, resident_id: str = VALID_ID, name: str = "张秀英"
) -> None:
    panel = window.intake.applicant
    press(qtbot, window, window.intake, Qt.Key.Key_1, ALT)
    assert panel.id_edit.hasFocus()
    type_into(qtbot, window, panel.id_edit, resident_id)
    press(qtbot, window, panel.id_edit, Qt.Key.Key_Tab)
    type_into(qtbot, window, panel.name_edit, name)
    type_into(qtbot, window, panel.phone_edit, "13812345678")
    press(qtbot, window, panel.phone_edit, Qt.Key.Key_Tab)


def choose_newborn(qtbot: Any, window: Any, *, drop_vaccination: bool = True) -> None:
    """Alt+2, `xsecs` (pinyin initials of 新生儿出生), Enter; optionally untick 预防接种证办理."""
    picker = window.intake.bundles
    press(qtbot, window, window.intake, Qt.Key.Key_2, ALT)
    assert picker.filter.hasFocus()
    type_into(qtbot, window, picker.filter, "xsecs")
    assert picker.visible_bundle_ids()[0] == "newborn_birth"
    press(qtbot, window, picker.filter, Qt.Key.Key_Return)
    assert picker.bundle is not None and picker.bundle.id == "newborn_birth"
    assert picker.items_list.hasFocus()
    if drop_vaccination:
        press(qtbot, window, picker.items_list, Qt.Key.Key_Down)  # row 2: 预防接种证办理
        press(qtbot, window, picker.items_list, Qt.Key.Key_Space)
    press(qtbot, window, picker.items_list, Qt.Key.Key_Return)  # on to the questions


def answer_questions(
    qtbot: Any, window: Any, married: bool = True, agent: bool = False, insured: bool = True
) -> None:
    """Combos: index 1 是, 2 否; Down from （请选择） moves one step."""
    questions = window.intake.questions
    for qid, yes in (
        ("parents_married", married),
        ("applied_by_agent", agent),
        ("parents_local_insured", insured),
    ):
        editor = questions.editor(qid)
        editor.setFocus()
        press(qtbot, window, editor, Qt.Key.Key_Down)
        if not yes:
            press(qtbot, window, editor, Qt.Key.Key_Down)
        assert editor.currentData() is yes


def mark_by_keys(qtbot: Any, window: Any, keys: dict[str, Qt.Key]) -> None:
    """Alt+4 to the checklist, then for each row its key (1/2/3/0) and Down."""
    table = window.intake.materials.table
    press(qtbot, window, window.intake, Qt.Key.Key_4, ALT)
    assert table.hasFocus()
    model = window.intake.materials.model
    for row in range(model.rowCount()):
        table.setCurrentIndex(model.index(row, 1))
        key = keys.get(model.line(row).id, Qt.Key.Key_1)
        press(qtbot, window, table, key)


def test_keyboard_intake_prints_and_keeps_the_receipt(
    qtbot: Any, shell: Any, ctx: Any, printer: Any
) -> None:
    window = login(qtbot, shell)
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    assert window.intake.questions.editor("parents_married").hasFocus()
    answer_questions(qtbot, window)
    mark_by_keys(  # 免提交 by electronic licence
        qtbot,
        window,
        {"resident_id_card.father": Qt.Key.Key_2, "resident_id_card.mother": Qt.Key.Key_2},
    )
    checklist = window.intake.checklist
    assert checklist is not None and checklist.verdict == "complete"
    chosen = window.intake.bundles.chosen_items()
    assert "vaccination_certificate" not in chosen and "birth_hukou_registration" in chosen

    press(qtbot, window, window.intake.materials.table, F12)

    assert window.intake.finished
    sid = window.intake.submission_id
    view = ctx.queries.get(sid)
    assert view.stage == "received" and view.number
    assert view.items == tuple(chosen)
    assert (
        view.marks["resident_id_card.father"] == view.marks["resident_id_card.mother"] == "exempt"
    )
    docs = saved_documents(ctx, sid)
    assert [kind for kind, _pdf, _r in docs] == ["receipt"]
    pdf = docs[0][1]
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert view.number in text and "收件回执" in text and "新生儿出生" in text
    assert "110105********002X" in text and VALID_ID not in text  # masked on the receipt
    assert "身份核验手工录入" in text  # typed, not read from a card
    result = ctx.intake.checklist(sid)
    for line in result.items:  # items the answers switched off are not on the receipt
        assert (line.item.name in text) == (line.state == "active"), line.item.name
    codes = printed_codes(pdf)
    from app.numbering import parse_receipt_payload

    assert parse_receipt_payload(codes["QRCODE"]).number == view.number
    assert codes["CODE128"] == view.number
    assert len(printer.jobs) == 1 and printer.jobs[0][1] == pdf
    assert window.intake.result.number.text() == view.number
    # Paper was collected and not yet captured: the 2-hour clock is shown.
    assert window.intake.result.deadline.isVisibleTo(window.intake.result)
    assert "数字化推送剩余" in window.intake.result.deadline.text()

    press(qtbot, window, window.intake.result.new_button, Qt.Key.Key_Return)  # next applicant
    assert not window.intake.finished and window.intake.submission_id is None
    assert (
        window.intake.applicant.id_edit.hasFocus() and window.intake.applicant.id_edit.text() == ""
    )


def test_incomplete_intake_prints_a_notice_listing_exactly_the_missing_materials(
    qtbot: Any, window: Any, ctx: Any, reader: Any
) -> None:
    reader.present()
    window.poll_card()
    assert window.intake.applicant.verified("resident_id")
    type_into(qtbot, window, window.intake.applicant.phone_edit, "13812345678")
    choose_newborn(qtbot, window, drop_vaccination=False)
    answer_questions(qtbot, window, married=False, agent=True)
    mark_by_keys(
        qtbot,
        window,
        {
            "household_register": Qt.Key.Key_0,
            "parentage_proof": Qt.Key.Key_0,
            "power_of_attorney": Qt.Key.Key_0,
        },
    )
    checklist = window.intake.checklist
    assert checklist is not None and checklist.verdict == "incomplete"
    missing = [checklist.line(m).name for m in checklist.missing]
    assert len(missing) == 3
    assert "还缺 3 项" in window.intake.materials.verdict.text()

    press(qtbot, window, window.intake.materials.table, F12)

    sid = window.intake.submission_id
    assert ctx.queries.get(sid).stage == "notified"
    notice = ctx.documents.document(None, sid, "notice")
    assert [m.name for m in notice.materials] == missing
    docs = saved_documents(ctx, sid)
    assert [kind for kind, _pdf, _r in docs] == ["notice"]
    text = pdf_text(docs[0][1])
    for name in missing:
        assert name in text
    assert window.intake.result.heading.text().startswith("材料不齐")


def test_tolerated_material_prints_commitment_then_receipt(
    qtbot: Any, window: Any, ctx: Any, printer: Any
) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {"marriage_certificate": Qt.Key.Key_3})  # 结婚证 may be 容缺
    assert window.intake.checklist.verdict == "complete_with_tolerance"

    press(qtbot, window, window.intake.materials.table, F12)

    sid = window.intake.submission_id
    view = ctx.queries.get(sid)
    assert view.stage == "received" and view.awaiting_supplement
    assert view.tolerated_outstanding == ("marriage_certificate",)
    assert [kind for kind, _pdf, _r in saved_documents(ctx, sid)] == ["commitment", "receipt"]
    assert [job.split(" ", 1)[1] for job, _pdf in printer.jobs] == [
        "容缺受理告知承诺书",
        "收件回执",
    ]


def test_tolerance_key_on_a_material_that_must_be_handed_in_shows_the_service_refusal(
    qtbot: Any, window: Any
) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    materials = window.intake.materials
    materials.select_material("application_form")
    assert not materials.buttons["tolerated"].isEnabled()  # not offered…
    press(qtbot, window, materials.table, Qt.Key.Key_3)  # …and refused by the service if forced
    assert "不允许容缺受理" in window.messages.text
    assert materials.current_line().state == "missing"


def test_invalid_id_number_blocks_finishing_with_the_reason(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    enter_applicant(qtbot, window, resident_id=BAD_CHECK_ID)
    panel = window.intake.applicant
    assert "校验位不符" in panel.problem_text("resident_id")
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})
    assert window.intake.checklist.verdict == "complete"

    press(qtbot, window, window.intake.materials.table, F12)

    assert not window.intake.finished
    assert "校验位不符" in window.messages.text
    assert panel.id_edit.hasFocus()
    view = ctx.queries.get(window.intake.submission_id)
    assert view.stage == "draft" and view.number is None
    assert view.applicant is not None and view.applicant.name == "张秀英"  # the rest was saved


def test_printer_failure_shows_the_message_and_the_intake_is_stored(
    qtbot: Any, window: Any, ctx: Any, printer: Any
) -> None:
    printer.fail_with = "打印失败：打印机报告错误，请检查打印机是否开机、缺纸或卡纸。"
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})

    press(qtbot, window, window.intake.materials.table, F12)

    sid = window.intake.submission_id
    assert ctx.queries.get(sid).stage == "received"
    assert "打印机报告错误" in window.messages.text
    assert [kind for kind, pdf, _r in saved_documents(ctx, sid) if pdf.startswith(b"%PDF")] == [
        "receipt"
    ]
    (outcome,) = window.intake.result.failed_outcomes()
    assert outcome.saved and outcome.pdf.startswith(b"%PDF")

    printer.fail_with = None  # the clerk switches the printer on and prints again
    window.intake.result._rows[0].retry_button.click()
    assert outcome.printed and len(printer.jobs) == 1


def test_scanning_a_receipt_anywhere_reopens_the_intake(qtbot: Any, window: Any, ctx: Any) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})
    press(qtbot, window, window.intake.materials.table, F12)
    sid = window.intake.submission_id
    receipt = next(pdf for kind, pdf, _r in saved_documents(ctx, sid) if kind == "receipt")
    payload = printed_codes(receipt)["QRCODE"]  # what a scanner reads off the printed receipt
    assert payload.startswith("YJS1|R|")

    window.new_intake()  # the next applicant; focus is in the ID number field
    id_edit = window.intake.applicant.id_edit
    assert id_edit.hasFocus()
    qtbot.keyClicks(id_edit, payload)  # a scanner types fast…
    qtbot.keyClick(id_edit, Qt.Key.Key_Return)  # …and ends with Enter

    assert window.tabs.currentWidget() is window.search
    assert window.search.detail.view is not None and window.search.detail.view.id == sid
    assert window.search.detail.title.text() == ctx.queries.get(sid).number
    assert id_edit.text() == ""  # the scan did not land in the field


def test_typing_fast_is_not_taken_for_a_scan(qtbot: Any, window: Any) -> None:
    filter_edit = window.intake.bundles.filter
    filter_edit.setFocus()
    qtbot.keyClicks(filter_edit, "xinshengerchusheng")
    qtbot.keyClick(filter_edit, Qt.Key.Key_Return)
    assert filter_edit.text() == "xinshengerchusheng"
    assert (
        window.intake.bundles.bundle is not None
        and window.intake.bundles.bundle.id == "newborn_birth"
    )


def test_draft_left_open_is_offered_at_the_next_login(qtbot: Any, shell: Any, ctx: Any) -> None:
    window = login(qtbot, shell)
    enter_applicant(qtbot, window, name="李四")
    choose_newborn(qtbot, window)
    sid = window.intake.submission_id
    assert sid is not None
    shell.logout()  # (a crash leaves the same: every edit was already stored)

    window = login(qtbot, shell)
    dialog = window.drafts_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.draft_ids() == [sid]
    press(qtbot, window, dialog.list, Qt.Key.Key_Return)
    assert window.intake.submission_id == sid
    assert window.intake.applicant.name_edit.text() == "李四"
    assert window.intake.bundles.bundle.id == "newborn_birth"
    assert window.intake.checklist is not None


def test_card_fields_are_marked_verified_until_edited(
    qtbot: Any, window: Any, ctx: Any, reader: Any
) -> None:
    card = reader.present()
    window.poll_card()
    panel = window.intake.applicant
    assert panel.id_edit.text() == card.resident_id
    assert panel.verified("name") and panel.verified("resident_id")
    type_into(qtbot, window, panel.edit("address"), "（现住）")
    assert not panel.verified("address") and panel.verified("name")
    window.intake.save_applicant_now()
    sources = ctx.queries.get(window.intake.submission_id).applicant.sources
    assert sources["name"] == "card" and sources["address"] == "typed"


def test_search_by_name_and_withdraw_prints_the_return_list(
    qtbot: Any, window: Any, ctx: Any, printer: Any
) -> None:
    enter_applicant(qtbot, window, name="王小明")
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})
    press(qtbot, window, window.intake.materials.table, F12)
    sid = window.intake.submission_id

    press(qtbot, window, window.intake, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    search = window.search
    assert search.query.hasFocus()
    type_into(qtbot, window, search.query, "王小明")
    press(qtbot, window, search.query, Qt.Key.Key_Return)
    assert [r.submission_id for r in search.model.rows] == [sid]
    detail = search.detail
    assert detail.view is not None and detail.view.id == sid
    assert detail.withdraw_button.isEnabled()

    detail.withdraw_button.click()
    dialog = detail.dialog
    type_into(qtbot, window, dialog.reason.lineEdit(), "申请人主动撤回")
    dialog.buttons.accepted.emit()

    assert ctx.queries.get(sid).stage == "withdrawn"
    assert [kind for kind, _pdf, _r in saved_documents(ctx, sid)] == ["receipt", "return_list"]
    assert printer.jobs[-1][0].endswith("撤回申请材料退还清单")


def test_reprint_is_marked_and_kept(qtbot: Any, window: Any, ctx: Any) -> None:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})
    press(qtbot, window, window.intake.materials.table, F12)
    sid = window.intake.submission_id
    window.search.open_intake(sid)
    window.search.detail.reprint("receipt")
    docs = saved_documents(ctx, sid)
    assert [(kind, reprint) for kind, _pdf, reprint in docs] == [
        ("receipt", False),
        ("receipt", True),
    ]
    assert "补打" in pdf_text(docs[1][1])


def test_idle_lock_keeps_the_work_and_needs_the_password(qtbot: Any, window: Any, ctx: Any) -> None:
    enter_applicant(qtbot, window, name="赵六")
    window.lock()
    assert window.locked and not window.central.isVisible()
    dialog = window.lock_dialog
    qtbot.keyClicks(dialog.password, "wrong-password")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert window.locked and "密码不正确" in dialog.error_label.text()
    dialog.password.clear()
    qtbot.keyClicks(dialog.password, "clerk1234")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert not window.locked
    assert window.intake.applicant.name_edit.text() == "赵六"


def test_first_run_setup_creates_the_station_and_accounts(
    qtbot: Any, tmp_path: Any, printer: Any
) -> None:
    from app.context import build_context
    from app.options import Options
    from ui.shell import AppShell
    from ui.tasks import InlineTaskRunner

    fresh = build_context(tmp_path / "fresh.db")
    app_shell = AppShell(
        Options.of(idle_lock_minutes=0),
        InlineTaskRunner(),
        context_factory=lambda: fresh,
        printer=printer,
    )
    qtbot.addWidget(app_shell.login)
    app_shell.open_store()
    wizard = app_shell.setup
    assert wizard is not None
    qtbot.addWidget(wizard)
    page = wizard.station_page
    page.name.setText("七里营镇便民服务中心")
    page.code.setText("XX2A")
    page.centre.setText("新乡县政务服务中心")
    page.jurisdiction.setCurrentIndex(page.jurisdiction.findData("xinxiang"))
    wizard.next()
    wizard.admin_page.username.setText("admin")
    wizard.admin_page.display_name.setText("管理员")
    wizard.admin_page.password.setText("admin1234")
    wizard.admin_page.confirm.setText("admin1234")
    wizard.next()
    wizard.accounts_page.add_row("clerk1", "王芳", "clerk", "clerk1234")
    wizard.accept()

    assert not fresh.staff.needs_setup()
    assert fresh.staff.local_station().jurisdiction == "xinxiang"
    assert app_shell.login.ready and app_shell.login.username.text() == "admin"
    assert fresh.staff.login("clerk1", "clerk1234").role == "clerk"
    fresh.close()


def test_leaving_a_draft_with_content_asks_first(qtbot: Any, window: Any, ctx: Any) -> None:
    """Ctrl+N on a draft with an applicant asks, in Chinese, whether to keep it, discard it or
    go back; nothing is dropped without an answer."""
    from PySide6.QtWidgets import QMessageBox

    enter_applicant(qtbot, window, name="李四")
    first = window.intake.submission_id
    assert first is not None and ctx.queries.get(first).stage == "draft"

    window.new_intake()
    box = window.intake.abandon_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    buttons = window.intake.abandon_buttons
    assert [b.text() for b in box.buttons()] and all(
        b.text() in ("保留草稿，开始新受理", "作废草稿，开始新受理", "返回当前受理")
        for b in box.buttons()
    )
    buttons["back"].click()
    assert (
        window.intake.submission_id == first and window.intake.applicant.name_edit.text() == "李四"
    )

    window.new_intake()
    window.intake.abandon_buttons["keep"].click()
    assert window.intake.submission_id is None and window.intake.applicant.is_empty()
    assert ctx.queries.get(first).stage == "draft"  # kept: offered again at the next login

    enter_applicant(qtbot, window, name="王五")
    second = window.intake.submission_id
    assert second not in (None, first)
    window.new_intake()
    window.intake.abandon_buttons["discard"].click()
    qtbot.waitUntil(lambda: ctx.queries.get(second).stage == "discarded", timeout=5000)
    assert window.intake.submission_id is None


def test_intake_after_the_day_close_says_which_day_it_is_booked_on(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    from app.clock import add_working_days, local_day

    sup = ctx.staff.login("zhangjing", "super1234")
    today = local_day(ctx.clock.now())
    ctx.dayclose.close(sup, "super1234", today)
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})
    press(qtbot, window, window.intake.materials.table, F12)
    booked = add_working_days(today, 1)
    number = ctx.queries.get(window.intake.submission_id).number
    assert f"-{booked:%y%m%d}-" in number
    assert f"本日已日结，本件计入 {booked:%Y-%m-%d} 的台账。" in window.intake.result.summary.text()
    assert [r.number for r in ctx.queries.ledger(booked)] == [number] and ctx.queries.ledger(
        today
    ) == []
