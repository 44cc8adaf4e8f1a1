"""The 负责人 tab: figures equal their drill-down lists, charts drill down, day close with the
password asked again, the PDF report kept and the day sealed."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.clock import STATION_TZ, local_day
from app.dayclose import SealBasis
from app.reports import FIGURES, Period
from local_db.models import AuditEntry
from tests.expected_logs import STAFF_REFUSED
from tests.gui.conftest import login
from tests.gui.test_window_ledger import make_intake

pytestmark = [
    pytest.mark.gui,
    STAFF_REFUSED,
]


@pytest.fixture
def intakes(ctx: Any) -> tuple[str, str]:
    a = make_intake(ctx, "wangfang", "clerk1234", True, "card")
    b = make_intake(ctx, "lina", "clerk1234", False, "typed")
    return a, b


def _supervisor(qtbot: Any, shell: Any) -> Any:
    window = login(qtbot, shell, "zhangjing", "super1234")
    assert window.supervisor is not None
    window.show_supervisor()
    assert window.tabs.currentWidget() is window.supervisor
    return window.supervisor


def test_tab_is_only_for_supervisors(qtbot: Any, shell: Any) -> None:
    window = login(qtbot, shell)  # wangfang, a clerk
    assert window.supervisor is None
    assert "负责人" not in [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert not any("负责人" in a.text() for a in window.menuBar().actions())


def test_figures_match_their_drill_down(qtbot: Any, shell: Any, ctx: Any, intakes: Any) -> None:
    tab = _supervisor(qtbot, shell)
    tab.refresh()
    period = Period.of("day", local_day(ctx.clock.now()))
    now = ctx.clock.now()
    for figure in FIGURES:
        ids = ctx.reports.intakes_for(tab.session.actor, figure, period, now)
        assert tab.figure_buttons[figure].text().endswith(f"\n{len(ids)}"), figure
    assert tab.rec.counts["received"] == 1 and tab.rec.counts["notified"] == 1
    for figure in ("received", "notified"):
        tab.figure_buttons[figure].click()
        expected = ctx.reports.intakes_for(tab.session.actor, figure, period, ctx.clock.now())
        assert [r.submission_id for r in tab.model.rows] == expected
    assert tab.metrics_table.rowCount() == 4  # 材料压减, 自动生成, 2小时内推送, 线上申请2小时内审核


def test_chart_bar_click_drills_down(qtbot: Any, shell: Any, ctx: Any, intakes: Any) -> None:
    tab = _supervisor(qtbot, shell)
    tab.refresh()
    period = tab.period
    tab.figure_buttons["received"].click()
    hour = tab.rec.by_hour[0][0]
    index = tab._chart_hours.index(hour)
    tab.hour_set.clicked.emit(index)  # what a click on the bar emits
    # a bar drills into everything it counts (all intakes of that hour), as tall as the bar
    expected = ctx.reports.intakes_for(tab.session.actor, "all", period, ctx.clock.now(), hour=hour)
    assert expected and [r.submission_id for r in tab.model.rows] == expected
    assert len(expected) == dict(tab.rec.by_hour)[hour]
    assert tab.drill.hour == hour
    bundle = tab._chart_bundles[0]
    tab.bundle_set.clicked.emit(0)
    expected = ctx.reports.intakes_for(
        tab.session.actor, "all", period, ctx.clock.now(), bundle=bundle
    )
    assert [r.submission_id for r in tab.model.rows] == expected
    assert len(expected) == {b: n for b, _name, n in tab.rec.by_bundle}[bundle]


def test_day_close_asks_password_seals_and_keeps_report(
    qtbot: Any, shell: Any, ctx: Any, intakes: Any, printer: Any
) -> None:
    tab = _supervisor(qtbot, shell)
    tab.refresh()
    day = tab.selected_day
    assert "尚未日结" in tab.close_status.text()

    dialog = tab.request_close()
    dialog.password.setText("wrong-password")
    dialog.submit()
    assert tab.close_message.text() == "密码不正确。"
    assert dialog.error_label.text() == "密码不正确。"
    assert ctx.dayclose.closed(day) is None

    dialog.password.setText("super1234")
    dialog.submit()
    closed = ctx.dayclose.closed(day)
    assert closed is not None
    assert tab.report_sha256 and ctx.attachments.has(tab.report_sha256)
    assert closed.report_sha256 == tab.report_sha256
    # the kept PDF prints what the seal is made of: the seal recomputes from paper and file
    text = re.sub(
        r"\s+",
        "",
        "".join(
            page.extract_text()
            for page in PdfReader(io.BytesIO(ctx.attachments.get(tab.report_sha256))).pages
        ),
    )
    printed = SealBasis(
        day,
        prev_seal=re.search(r"上一日封存值：([0-9a-f]{64})", text).group(1),
        records_hash=re.search(
            r"记录摘要（当日全部受理事件的SHA-256）：([0-9a-f]{64})", text
        ).group(1),
        submissions=int(re.search(r"受理件数：(\d+)", text).group(1)),
        events=int(re.search(r"事件数：(\d+)", text).group(1)),
    )
    assert (
        printed.seal_for(hashlib.sha256(ctx.attachments.get(tab.report_sha256)).hexdigest())
        == closed.seal
    )
    # the report ends with the 负责人's signature lines and names who closed the day
    assert "负责人签字：" in text and f"日结操作人：{tab.session.actor.display_name}" in text
    assert "日结时尚未完结" in text
    # the report went to the printer as kept; a printer that is off is said, and it prints again
    assert [pdf for _job, pdf in printer.jobs] == [ctx.attachments.get(tab.report_sha256)]
    assert "日结报告" in printer.jobs[0][0] and "日结报告已打印" in tab.close_message.text()
    printer.fail_with = "打印机缺纸"
    tab.print_report()
    assert "未能打印：打印机缺纸" in tab.close_message.text() and len(printer.jobs) == 1
    printer.fail_with = None
    assert tab.print_button.isEnabled()
    tab.print_button.click()
    assert len(printer.jobs) == 2 and printer.jobs[1][1] == printer.jobs[0][1]
    assert "已日结" in tab.close_status.text() and closed.seal in tab.close_status.text()
    assert not tab.close_button.isEnabled()

    # a closed day cannot be closed twice; the service's message is shown
    tab.close_day(day, "super1234")
    assert "已日结" in tab.close_message.text() and "不能重复日结" in tab.close_message.text()


def test_clerk_refused_by_the_service(qtbot: Any, shell: Any, ctx: Any) -> None:
    from ui.supervisor import SupervisorWidget

    window = login(qtbot, shell)  # a clerk: no tab; the widget forced on would still be refused
    tab = SupervisorWidget(window.session, window)
    tab.close_day(tab.selected_day, "clerk1234")
    assert "负责人权限" in tab.close_message.text()
    assert ctx.dayclose.closed(tab.selected_day) is None
    assert tab.report_sha256 is None  # refused before a report was built
    tab.refresh()
    assert tab.rec is None and "负责人权限" in tab.period_label.text()
    with ctx.sessions() as s:
        refused = [
            e.target
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action == "auth.refused"
        ]
    assert refused == ["day.close", "report.reconcile"]


def test_sync_backlog_lists_what_waited_longest_and_opens_it(
    qtbot: Any, shell: Any, ctx: Any, intakes: Any
) -> None:
    """The station is not enrolled here, so both intakes wait for the hub: the supervisor sees
    them oldest first, with how long they waited, and opens one from the list."""
    a, b = intakes
    tab = _supervisor(qtbot, shell)
    tab.refresh()
    qtbot.waitUntil(lambda: tab.backlog_table.rowCount() == 2, timeout=5000)
    numbers = [tab.backlog_table.item(r, 0).text() for r in range(2)]
    assert numbers == [ctx.queries.get(a).number, ctx.queries.get(b).number]  # a was filed first
    assert all(tab.backlog_table.item(r, 1).text() for r in range(2))
    assert "未登记" in tab.backlog_status.text()
    with qtbot.waitSignal(tab.open_requested, timeout=2000) as opened:
        tab.backlog_table.itemActivated.emit(tab.backlog_table.item(1, 0))
    assert opened.args == [b]
    with qtbot.waitSignal(tab.sync_queue_requested, timeout=2000):
        tab.backlog_button.click()


def test_supervisor_lands_on_the_supervisor_tab(qtbot: Any, shell: Any) -> None:
    window = login(qtbot, shell, "zhangjing", "super1234")
    assert window.tabs.currentWidget() is window.supervisor
    shell.logout()
    clerk = login(qtbot, shell)
    assert clerk.tabs.currentWidget() is clerk.intake


def test_day_close_shows_what_is_still_open_first(
    qtbot: Any, shell: Any, ctx: Any, intakes: Any
) -> None:
    """a is received without captured pages (待数字化, 未推送); b was only notified (not open work)."""
    a, _b = intakes
    number = ctx.queries.get(a).number
    tab = _supervisor(qtbot, shell)
    dialog = tab.request_close()
    qtbot.waitUntil(lambda: dialog.open_work_list.count() > 0, timeout=5000)
    assert "容缺待补 0 件，待数字化 1 件，未推送 1 件" in dialog.open_work_label.text()
    items = [dialog.open_work_list.item(i).text() for i in range(dialog.open_work_list.count())]
    assert items == [f"待数字化：{number}", f"未推送：{number}"]


def test_amendments_show_the_intake_number_and_the_change(
    qtbot: Any, shell: Any, ctx: Any, intakes: Any
) -> None:
    from app.dayclose import AmendmentView

    a, _b = intakes
    number = ctx.queries.get(a).number
    tab = _supervisor(qtbot, shell)
    day = tab.selected_day
    ctx.dayclose.close(tab.session.actor, "super1234", day)
    clerk = ctx.staff.login("wangfang", "clerk1234")
    ctx.intake.withdraw(clerk, a, "申请人要求撤回")
    tab.refresh()
    lines = [tab.amendments.item(i).text() for i in range(tab.amendments.count())]
    assert lines[0] == f"受理编号 {number}"
    assert len(lines) == 2 and "撤回申请" in lines[1] and clerk.display_name in lines[1]
    assert not any("受理记录" in line for line in lines)
    # repeats of one change in a row are one line with a count
    at = ctx.clock.now()
    pages = [AmendmentView(a, "page_attached", at, None, number) for _ in range(3)]
    assert [text for text, _sid in tab.amendment_lines(pages)][1:] == [
        f"　　{at.astimezone(STATION_TZ):%m-%d %H:%M}　添加材料页面（3次）　系统同步"
    ]


def test_count_charts_have_whole_number_ticks(qtbot: Any, shell: Any) -> None:
    """The reported bars 3, 2, 1, 0, 0 had axis labels 0, 0, 1, 2, 3 (ticks at 0.75 steps)."""
    from PySide6.QtCore import Qt as QtNS

    tab = _supervisor(qtbot, shell)
    for values in ([3, 2, 1, 0, 0], [0, 0], [7], [12, 5], [101, 3]):
        tab._bar_chart(tab.hour_chart, [str(i) for i in range(len(values))], values)
        axis = tab.hour_chart.chart().axes(QtNS.Orientation.Vertical)[0]
        n = axis.tickCount()
        ticks = [axis.min() + i * (axis.max() - axis.min()) / (n - 1) for i in range(n)]
        assert all(t == int(t) for t in ticks), (values, ticks)
        assert len({int(t) for t in ticks}) == n and axis.max() >= max(values)


def test_ratings_tab_shows_distribution_and_closes_an_overdue_followup(
    qtbot: Any, shell: Any, ctx: Any, intakes: Any
) -> None:
    import datetime as dt

    from sqlalchemy import update

    from local_db.models import Rating

    good, bad = intakes
    clerk = ctx.staff.login("wangfang", "clerk1234")
    ctx.ratings.rate(clerk, good, "satisfied")
    view = ctx.ratings.rate(clerk, bad, "very_dissatisfied", ["attitude"])
    with ctx.sessions.begin() as s:  # as if given a week ago: its day to follow up has passed
        s.execute(
            update(Rating).where(Rating.id == view.id).values(followup_due=dt.date(2024, 1, 2))
        )
    tab = _supervisor(qtbot, shell)
    tab.refresh()
    panel = tab.ratings
    titles = [tab.breakdown.tabText(i) for i in range(tab.breakdown.count())]
    assert "好差评（1件逾期）" in titles
    text = panel.summary.text()
    assert "本期评价 2 件" in text and "满意率 50.0%" in text and "逾期 1 件" in text
    levels = {panel.levels.item(r, 0).text(): panel.levels.item(r, 1).text() for r in range(6)}
    assert levels == {
        "非常满意": "0",
        "满意": "1",
        "基本满意": "0",
        "不满意": "0",
        "非常不满意": "1",
        "未评价": "0",
    }
    assert panel.open_table.rowCount() == 1
    assert panel.open_table.item(0, 0).text() == view.number
    assert panel.open_table.item(0, 5).text() == "已逾期"

    panel.close_button.click()
    dialog = panel.dialog
    dialog.buttons.accepted.emit()  # no note: refused in the service's words
    assert "整改情况说明" in dialog.error_label.text() and dialog.isVisible()
    dialog.note.setPlainText("已约谈窗口人员，电话回访申请人")
    dialog.buttons.accepted.emit()
    assert not dialog.isVisible()
    closed = ctx.ratings.get(bad)
    assert closed.followup_note == "已约谈窗口人员，电话回访申请人" and not closed.followup_open
    assert panel.open_table.rowCount() == 0
    titles = [tab.breakdown.tabText(i) for i in range(tab.breakdown.count())]
    assert "好差评" in titles and "好差评（1件逾期）" not in titles
