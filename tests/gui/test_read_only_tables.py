"""The small read-only tables (部门逾期未受理, 短信通知) share one builder: named for a screen
reader, not editable, rows selected whole, no row numbers (under Qt 6.9 they add a corner button
with no accessible name), and filled with the texts the clerk reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView

from app.acceptance import OverdueAcceptance
from app.notices import NoticeView
from tests.gui.layout import unnamed
from ui.acceptance import OverdueAcceptanceWidget
from ui.notices import NoticesWidget

pytestmark = pytest.mark.gui

UTC = dt.UTC


def overdue_rows() -> list[OverdueAcceptance]:
    return [
        OverdueAcceptance(
            submission_id="s1",
            number="XX01-241202-0001-H",
            item_id="birth_cert",
            item_name="出生医学证明",
            department="县卫生健康委员会",
            pushed_at=dt.datetime(2024, 12, 2, 2, 5, tzinfo=UTC),  # 10:05 in the station
            due=dt.date(2024, 12, 3),
            decided_at=None,
        )
    ]


def notice_rows() -> list[NoticeView]:
    return [
        NoticeView(
            id="n1",
            submission_id="s1",
            kind="accepted",
            item_id="birth_cert",
            status="sent",
            attempts=1,
            last_error="",
            created_at=dt.datetime(2024, 12, 2, 2, 0, tzinfo=UTC),
            sent_at=dt.datetime(2024, 12, 2, 2, 1, tzinfo=UTC),  # 10:01 in the station
        )
    ]


def check_table(qtbot: Any, widget: Any, name: str, header: list[str]) -> None:
    qtbot.addWidget(widget)
    widget.show()
    table = widget.table
    assert table.accessibleName() == name
    assert table.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
    assert table.selectionBehavior() == QAbstractItemView.SelectionBehavior.SelectRows
    assert not table.verticalHeader().isVisible()
    titles = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert titles == header
    corner = [b for b in table.findChildren(QAbstractButton) if b.isVisibleTo(widget)]
    assert corner == []
    assert unnamed(widget) == []


def texts(table: Any) -> list[list[str]]:
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def test_overdue_acceptances_table(qtbot: Any) -> None:
    widget = OverdueAcceptanceWidget(session=None)  # type: ignore[arg-type]  # not loaded here
    widget._on_loaded(overdue_rows())
    check_table(
        qtbot,
        widget,
        "部门逾期未受理的事项",
        ["受理编号", "事项", "承办部门", "推送时间", "应决定日期", "状态"],
    )
    assert texts(widget.table) == [
        [
            "XX01-241202-0001-H",
            "出生医学证明",
            "县卫生健康委员会",
            "12-02 10:05",
            "2024-12-03",
            "仍未作出受理决定",
        ]
    ]


def test_notices_table(qtbot: Any) -> None:
    widget = NoticesWidget(session=None)  # type: ignore[arg-type]  # not loaded here
    widget.show_notices(notice_rows(), {"birth_cert": "出生医学证明"})
    check_table(qtbot, widget, "已发给申请人的短信通知", ["通知", "事项", "状态", "时间"])
    assert texts(widget.table) == [["受理", "出生医学证明", "已发送", "12-02 10:01"]]
