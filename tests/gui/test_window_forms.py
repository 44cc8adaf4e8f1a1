"""一表申请 at the window: after F12 the clerk prints the prefilled 一件事联办申请表 and the
信息查询核验授权书 for the applicant's signature; both are kept with the intake and printed, and
the clerk is told how much of each form the window filled in."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import login, press
from tests.gui.test_window_intake import (
    F12,
    answer_questions,
    choose_newborn,
    enter_applicant,
    mark_by_keys,
    pdf_text,
    saved_documents,
)

pytestmark = pytest.mark.gui


def test_clerk_prints_the_prefilled_forms_after_finishing(
    qtbot: Any, shell: Any, ctx: Any, printer: Any
) -> None:
    window = login(qtbot, shell)
    enter_applicant(qtbot, window)  # 张秀英, 11010519491231002X, 13812345678 typed
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)  # married: 是, agent: 否
    mark_by_keys(
        qtbot,
        window,
        {"resident_id_card.father": Qt.Key.Key_2, "resident_id_card.mother": Qt.Key.Key_2},
    )
    press(qtbot, window, window.intake.materials.table, F12)
    assert window.intake.finished
    sid = window.intake.submission_id
    number = ctx.queries.get(sid).number
    finish = window.intake.result
    messages: list[str] = []
    window.intake.message_posted.connect(lambda text, _level: messages.append(text))

    finish.form_button.click()

    docs = saved_documents(ctx, sid)
    assert [kind for kind, _pdf, _r in docs] == ["receipt", "application_form"]
    form_pdf = docs[1][1]
    text = pdf_text(form_pdf)
    assert "一件事联办申请表" in text and number in text
    for value in ("张秀英", "11010519491231002X", "13812345678", "1949年12月31日"):
        assert value in text
    assert printer.jobs[-1] == (f"{number} 一件事联办申请表", form_pdf)
    # 9 applicant fields, 5 known (name, number, phone typed; gender and birth date from the
    # number; no address); 出生医学证明's 5: the two answers and the parents' cards fetched
    # (免提交) known, the 结婚证 collected on paper and the request left blank: 8 of 14.
    assert ctx.documents.form_autofill(sid) == (8, 14)
    assert any("窗口自动生成8项" in m and "共14项" in m for m in messages)
    assert [o.kind for o in finish.outcomes] == ["receipt", "application_form"]
    assert all(o.printed for o in finish.outcomes)

    finish.authorization_button.click()

    kinds = [kind for kind, _pdf, _r in saved_documents(ctx, sid)]
    assert kinds == ["receipt", "application_form", "authorization"]
    assert printer.jobs[-1][0] == f"{number} 信息查询核验授权书"
    # plus 4 fields of the authorization, 3 known (name, number, phone)
    assert ctx.documents.form_autofill(sid) == (11, 18)


def test_supervisor_sees_the_form_autofill_rate_and_the_intakes_behind_it(
    qtbot: Any, shell: Any, ctx: Any
) -> None:
    from app.clock import local_day
    from app.reports import Period
    from printing.documents import build_document
    from tests.gui.test_window_ledger import make_intake

    a = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    make_intake(ctx, "lina", "clerk1234", True, "typed")  # prints no form: does not count
    clerk = ctx.staff.login("wangfang", "clerk1234")
    doc = ctx.documents.document(clerk, a, "application_form")
    ctx.documents.save_document(clerk, a, "application_form", build_document(doc))
    window = login(qtbot, shell, "zhangjing", "super1234")
    tab = window.supervisor
    window.show_supervisor()
    tab.refresh()
    row = next(
        r
        for r in range(tab.metrics_table.rowCount())
        if tab.metrics_table.item(r, 0).text() == "表单信息自动生成"
    )
    # name, gender, birth date, number, phone + the two answers; address, the three blanks,
    # the parents' cards and 结婚证 collected on paper, the request: 7 of 14.
    assert tab.metrics_table.item(row, 3).text().startswith("7/14")
    assert tab.metrics_table.item(row, 1).text() == "50.0%"
    tab.metrics_table.cellActivated.emit(row, 0)
    assert [r.submission_id for r in tab.model.rows] == [a]
    period = Period.of("day", local_day(ctx.clock.now()))
    assert tab.drill_label.text() == f"{period.label} · 打印了生成表单：1 件"
