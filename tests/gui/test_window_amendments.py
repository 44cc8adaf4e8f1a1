"""The 负责人 tab lists the amendments of a closed day by their Chinese names, not type codes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gui.conftest import login
from tests.gui.test_window_ledger import make_intake

pytestmark = pytest.mark.gui


def test_amendments_of_a_closed_day_have_chinese_labels(qtbot: Any, shell: Any, ctx: Any) -> None:
    sid = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    window = login(qtbot, shell, "zhangjing", "super1234")
    tab = window.supervisor
    window.show_supervisor()
    tab.refresh()
    dialog = tab.request_close()
    dialog.password.setText("super1234")
    dialog.submit()
    assert "已日结" in tab.close_status.text()

    clerk = ctx.staff.login("wangfang", "clerk1234")
    ctx.intake.withdraw(clerk, sid, "申请人要求撤回")  # after the close: an amendment
    tab.refresh()
    lines = [tab.amendments.item(i).text() for i in range(tab.amendments.count())]
    # per intake by its number (not a record id), then one line per change (issue 11 item 11)
    assert lines[0] == f"受理编号 {ctx.queries.get(sid).number}", lines
    assert len(lines) == 2 and "撤回申请" in lines[1] and sid[:8] not in lines[1]
    assert not any("withdrawn" in line for line in lines)
