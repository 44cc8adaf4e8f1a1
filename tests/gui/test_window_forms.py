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
