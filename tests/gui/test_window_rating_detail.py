"""好差评 in the opened intake (search / follow-up): not yet rated, declined, a 差评 with its
reasons and the applicant's words, its follow-up open, overdue, then closed with the note."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update

from local_db.models import Rating
from tests.gui.conftest import login
from tests.gui.test_window_ledger import make_intake

pytestmark = pytest.mark.gui


def shown(window: Any, sid: str) -> str:
    window.show_search()
    window.search.open_intake(sid)
    rating = window.search.detail.rating
    assert rating.isVisibleTo(window.search.detail)
    text: str = rating.text.text()
    return text


def test_the_opened_intake_shows_its_rating_and_follow_up(qtbot: Any, shell: Any, ctx: Any) -> None:
    unrated = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    declined = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    bad = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    clerk = ctx.staff.login("wangfang", "clerk1234")
    ctx.ratings.decline(clerk, declined)
    view = ctx.ratings.rate(clerk, bad, "very_dissatisfied", ["attitude", "slow"], "等了两个小时")
    window = login(qtbot, shell)

    assert "尚未评价" in shown(window, unrated)
    assert "申请人不评价" in shown(window, declined)
    text = shown(window, bad)
    assert text.startswith("好差评：非常不满意（")
    assert "原因：服务态度差、办事效率低" in text
    assert "申请人说明：等了两个小时" in text
    assert "整改期限" in text and "尚未办结" in text and "已逾期" not in text

    with ctx.sessions.begin() as s:  # as if rated a week ago: its day to follow up has passed
        s.execute(
            update(Rating).where(Rating.id == view.id).values(followup_due=dt.date(2024, 1, 2))
        )
    assert "整改期限01-02，已逾期，尚未办结" in shown(window, bad)

    supervisor = ctx.staff.login("zhangjing", "super1234")
    ctx.ratings.close_followup(supervisor, view.id, "已约谈窗口人员，电话回访申请人")
    text = shown(window, bad)
    assert "办结整改：已约谈窗口人员，电话回访申请人" in text and "尚未办结" not in text
