"""负责人: the supervisor's reconciliation of a day, week or month and the day close (日结).

Every figure is a button: a click lists the intakes behind it (Reports.intakes_for), shown with
the ledger's model, so the number and the list can never disagree. Charts (Qt Charts) drill down
the same way: a bar of the hour or bundle chart lists the intakes of the chosen figure within
that hour or bundle. The day close asks for the password again, builds and keeps the PDF report
on the pool, then seals the day on the database thread.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import QCoreApplication, QDate, QModelIndex, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.reports import FIGURE_LABELS, FIGURES, OPEN_WORK, OPEN_WORK_LABELS, Period
from app.staff import may
from ui.acceptance import OverdueAcceptanceWidget
from ui.event_labels import event_label
from ui.ledger import LedgerModel, load_cells_on_demand, make_table
from ui.rating_panel import RatingsPanel
from ui.sync import status_line, waited_text
from ui.sync_queue import KIND_LABELS
from ui.tables import read_only_table

if TYPE_CHECKING:
    from app.dayclose import AmendmentView, DayCloseView, SealBasis
    from app.reports import Metric, OpenWork, Reconciliation
    from app.views import LedgerRow
    from sync.status import QueueItem, SyncStatus
    from ui.session import ClerkSession
    from ui.sync import SyncController
    from ui.tasks import TaskError

log = logging.getLogger("intake.ui.supervisor")


def integer_axis(largest: int, ticks: int = 5) -> tuple[int, int]:
    """(top, step) of a count axis from 0: a whole-number step, at most TICKS+1 ticks, the top a
    multiple of the step and at least LARGEST (and 1)."""
    largest = max(1, largest)
    step = max(1, -(-largest // ticks))
    return -(-largest // step) * step, step


# A policy metric whose intakes can be listed: the figure behind it (app.reports).
METRIC_FIGURES = {"autofill": "form_printed"}


def may_supervise(role: str) -> bool:
    # The services' own rule (app.staff.ACTIONS), so the tab shows exactly when they allow it.
    return may(role, "report.reconcile")


@dataclass(frozen=True)
class Drill:
    figure: str
    bundle: str | None = None
    clerk: str | None = None
    hour: int | None = None


@dataclass(frozen=True)
class _Loaded:
    rec: Reconciliation
    month: Reconciliation
    closed: DayCloseView | None
    amendments: list[AmendmentView]


class DayClosePasswordDialog(QDialog):
    """日结 asks for the supervisor's password again."""

    password_entered = Signal(str)

    def __init__(self, day_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("日结确认"))
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("负责人密码"))
        self.error_label = QLabel(self)
        self.error_label.setObjectName("errorText")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("日结"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("取消"))
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                self.tr(
                    "对{day}进行日结后，当日记录将被封存，之后的改动记为补正。请再次输入您的密码："
                ).format(day=day_label),
                self,
            )
        )
        # What is still open that day, so nobody seals a day without seeing it.
        self.open_work_label = QLabel(self.tr("正在统计当日尚未完结的事项……"), self)
        self.open_work_label.setWordWrap(True)
        self.open_work_list = QListWidget(self)
        self.open_work_list.setAccessibleName(self.tr("当日尚未完结的事项"))
        self.open_work_list.setMaximumHeight(120)
        layout.insertWidget(0, self.open_work_label)
        layout.insertWidget(1, self.open_work_list)
        layout.addWidget(self.password)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def set_open_work(self, work: OpenWork) -> None:
        self.open_work_list.clear()
        if work.empty:
            self.open_work_label.setText(
                self.tr("当日受理均已完结：无容缺待补、待数字化、未推送的受理。")
            )
            return
        counts = "，".join(
            self.tr("{label} {count} 件").format(
                label=OPEN_WORK_LABELS[k], count=len(work.lists.get(k, ()))
            )
            for k in OPEN_WORK
        )
        self.open_work_label.setText(
            self.tr("当日尚有未完结的受理（{counts}）。日结后仍可继续办理，改动记为补正：").format(
                counts=counts
            )
        )
        for kind in OPEN_WORK:
            for _sid, number in work.lists.get(kind, ()):
                self.open_work_list.addItem(
                    self.tr("{label}：{number}").format(label=OPEN_WORK_LABELS[kind], number=number)
                )

    def submit(self) -> None:
        self.error_label.clear()
        self.password_entered.emit(self.password.text())

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.password.selectAll()
        self.password.setFocus()


class SupervisorWidget(QWidget):
    """Reconciliation, drill-down, charts and day close for supervisors and admins."""

    open_requested = Signal(str)  # submission id
    day_closed = Signal(object)  # DayCloseView
    report_printed = Signal(bool)  # the day-close report went to the printer (or did not)
    sync_queue_requested = Signal()

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        from app.clock import local_day

        today = local_day(session.ctx.clock.now())
        self.rec: Reconciliation | None = None
        self.month_rec: Reconciliation | None = None
        self.closed_view: DayCloseView | None = None
        self.drill: Drill | None = None
        self.figure = "received"  # the figure the charts drill into
        self.password_dialog: DayClosePasswordDialog | None = None
        self.report_sha256: str | None = None

        # period selector
        self.kind = QComboBox(self)
        self.kind.setAccessibleName(self.tr("统计周期"))
        for text, kind in (
            (self.tr("日"), "day"),
            (self.tr("周"), "week"),
            (self.tr("月"), "month"),
        ):
            self.kind.addItem(text, kind)
        self.date = QDateEdit(QDate(today.year, today.month, today.day), self)
        self.date.setAccessibleName(self.tr("统计日期"))
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        refresh = QPushButton(self.tr("刷新(&R)"), self)
        refresh.clicked.connect(self.refresh)
        self.kind.currentIndexChanged.connect(lambda _i: self.refresh())
        self.date.dateChanged.connect(lambda _d: self.refresh())
        self.period_label = QLabel(self)
        self.period_label.setObjectName("sectionHint")
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("统计周期"), self))
        top.addWidget(self.kind)
        top.addWidget(self.date)
        top.addWidget(refresh)
        top.addSpacing(12)
        top.addWidget(self.period_label, 1)

        # figures: clickable numbers
        figures_box = QGroupBox(self.tr("对账数字（点击查看明细）"), self)
        grid = QGridLayout(figures_box)
        self.figure_buttons: dict[str, QPushButton] = {}
        for i, figure in enumerate(FIGURES):
            button = QPushButton(figures_box)
            button.setCheckable(False)
            button.clicked.connect(lambda _c=False, f=figure: self.show_figure(f))
            grid.addWidget(button, i // 7, i % 7)
            self.figure_buttons[figure] = button

        # policy metrics
        metrics_box = QGroupBox(self.tr("政策指标"), self)
        self.metrics_table = self._table(
            [
                self.tr("指标"),
                self.tr("实际值"),
                self.tr("目标值"),
                self.tr("分子/分母"),
                self.tr("是否达标"),
            ],
            metrics_box,
        )
        QVBoxLayout(metrics_box).addWidget(self.metrics_table)
        self.metrics_table.cellActivated.connect(self._on_metrics_table_activated)

        # breakdown tables
        self.bundle_table = self._table([self.tr("一件事"), self.tr("件数")], self)
        self.clerk_table = self._table([self.tr("窗口人员"), self.tr("件数")], self)
        self.hour_table = self._table([self.tr("时段"), self.tr("件数")], self)
        self.bundle_table.cellActivated.connect(self._on_bundle_table_activated)
        self.clerk_table.cellActivated.connect(self._on_clerk_table_activated)
        self.hour_table.cellActivated.connect(self._on_hour_table_activated)

        # charts
        self.hour_chart = self._chart_view(self.tr("各时段受理件数"))
        self.bundle_chart = self._chart_view(self.tr("各一件事受理件数"))
        self.compliance_chart = self._chart_view(self.tr("本月2小时内推送率（%）"))
        self.hour_set: QBarSet | None = None
        self.bundle_set: QBarSet | None = None
        self._chart_hours: list[int] = []
        self._chart_bundles: list[str] = []
        self.compliance_series: QLineSeries | None = None

        breakdown = QTabWidget(self)
        for widget, text in (
            (self.hour_chart, self.tr("时段图")),
            (self.bundle_chart, self.tr("一件事图")),
            (self.compliance_chart, self.tr("推送合规")),
            (self.bundle_table, self.tr("按一件事")),
            (self.clerk_table, self.tr("按窗口人员")),
            (self.hour_table, self.tr("按时段")),
        ):
            breakdown.addTab(widget, text)
        self.breakdown = breakdown

        # drill-down list
        self.drill_label = QLabel(self.tr("点击上方数字或图表查看对应的受理记录。"), self)
        self.drill_label.setObjectName("sectionHint")
        self.model = LedgerModel(self, session.ctx.clock.now)
        load_cells_on_demand(self.model, session, self)
        self.table = make_table(self.model, self, self.tr("所选指标的受理记录"))
        self.table.activated.connect(self._on_table_activated)

        # day close
        close_box = QGroupBox(self.tr("日结"), self)
        self.close_status = QLabel(close_box)
        self.close_status.setWordWrap(True)
        self.close_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_message = QLabel(close_box)
        self.close_message.setWordWrap(True)
        self.close_button = QPushButton(self.tr("日结(&D)…"), close_box)
        self.close_button.clicked.connect(self.request_close)
        self.print_button = QPushButton(self.tr("打印日结报告(&P)"), close_box)
        self.print_button.clicked.connect(lambda: self.print_report())
        self.print_button.setEnabled(False)
        self.amendments = QListWidget(close_box)
        self.amendments.setAccessibleName(self.tr("日结后的补正记录"))
        self.amendments.setMaximumHeight(90)
        self.amendments.itemActivated.connect(self._on_amendments_activated)
        close_layout = QVBoxLayout(close_box)
        close_row = QHBoxLayout()
        close_row.addWidget(self.close_status, 1)
        close_row.addWidget(self.close_button)
        close_row.addWidget(self.print_button)
        close_layout.addLayout(close_row)
        close_layout.addWidget(self.close_message)
        close_layout.addWidget(QLabel(self.tr("日结后的补正记录"), close_box))
        close_layout.addWidget(self.amendments)

        # sync backlog: what has waited longest for the county hub (the sync engine's queue)
        backlog_box = QWidget(self)
        self.backlog_status = QLabel(self.tr("同步：不可用"), backlog_box)
        self.backlog_status.setWordWrap(True)
        self.backlog_table = self._table(
            [self.tr("受理编号"), self.tr("已等待"), self.tr("状态"), self.tr("原因")], backlog_box
        )
        self.backlog_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.backlog_table.itemActivated.connect(self._on_backlog_activated)
        self.backlog_button = QPushButton(self.tr("查看同步队列"), backlog_box)
        self.backlog_button.clicked.connect(self.sync_queue_requested)
        backlog_layout = QVBoxLayout(backlog_box)
        backlog_row = QHBoxLayout()
        backlog_row.addWidget(self.backlog_status, 1)
        backlog_row.addWidget(self.backlog_button)
        backlog_layout.addLayout(backlog_row)
        backlog_layout.addWidget(self.backlog_table)
        breakdown.addTab(backlog_box, self.tr("同步积压"))
        self.overdue = OverdueAcceptanceWidget(session, self)
        breakdown.addTab(self.overdue, self.tr("部门逾期"))
        self.ratings = RatingsPanel(session, self)  # 好差评 and its follow-ups
        breakdown.addTab(self.ratings, self.tr("好差评"))
        self.ratings.flag_changed.connect(
            lambda text: breakdown.setTabText(breakdown.indexOf(self.ratings), text)
        )
        self.ratings.refresh_requested.connect(self.refresh)
        self.sync: SyncController | None = None

        upper = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(figures_box)
        left.addWidget(metrics_box)
        left.addWidget(close_box)
        upper.addLayout(left, 3)
        upper.addWidget(breakdown, 2)
        # Scrolls as a whole where the screen is lower than the dashboard (1366×768 at 150 %).
        content = QWidget(self)
        layout = QVBoxLayout(content)
        layout.addLayout(top)
        layout.addLayout(upper, 3)
        layout.addWidget(self.drill_label)
        layout.addWidget(self.table, 2)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # ------------------------------------------------------------------ sync backlog

    BACKLOG_ROWS = 10

    def set_sync(self, controller: SyncController) -> None:
        """Follow the window's sync controller: its status, and its queue read at each refresh."""
        self.sync = controller
        controller.status_changed.connect(self._on_sync_status)
        controller.queue_changed.connect(self._on_sync_queue)
        self._on_sync_status(controller.status)

    def _on_sync_status(self, status: SyncStatus | None) -> None:
        self.backlog_status.setText(status_line(status))

    def _on_sync_queue(self, items: list[QueueItem]) -> None:
        """The items waiting longest, oldest first (a supervisor chases these)."""
        now = self.session.ctx.clock.now()
        waiting = sorted((i for i in items if i.since is not None), key=lambda i: i.since)  # type: ignore[arg-type,return-value]
        shown = waiting[: self.BACKLOG_ROWS]
        self._fill(
            self.backlog_table,
            [
                (
                    i.number
                    or QCoreApplication.translate(
                        "SyncQueueModel", str(KIND_LABELS.get(i.kind, i.kind))
                    ),
                    waited_text((now - i.since).total_seconds()),  # type: ignore[operator]
                    i.state_label,
                    i.last_error.message if i.last_error else "",
                )
                for i in shown
            ],
            [i.submission_id for i in shown],
        )

    def _on_backlog_activated(self, item: QTableWidgetItem) -> None:
        first = self.backlog_table.item(item.row(), 0)
        sid = first.data(Qt.ItemDataRole.UserRole) if first is not None else None
        if sid:
            self.open_requested.emit(sid)

    # ------------------------------------------------------------------ building blocks

    def _table(self, headers: list[str], parent: QWidget) -> QTableWidget:
        # Figures and their names whole, at any font size (the last column takes the rest).
        return read_only_table(parent, headers, self.tr("按{what}统计").format(what=headers[0]))

    def _chart_view(self, title: str) -> QChartView:
        chart = QChart()
        chart.setTitle(title)
        chart.legend().hide()
        view = QChartView(chart, self)
        view.setRenderHint(QPainter.RenderHint.Antialiasing)
        view.setMinimumHeight(220)
        return view

    @staticmethod
    def _fill(table: QTableWidget, rows: Sequence[Sequence[str]], keys: Sequence[Any] = ()) -> None:
        table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c == 0 and r < len(keys):
                    item.setData(Qt.ItemDataRole.UserRole, keys[r])
                table.setItem(r, c, item)

    # ------------------------------------------------------------------ period

    @property
    def selected_day(self) -> dt.date:
        qd = self.date.date()
        return dt.date(qd.year(), qd.month(), qd.day())

    @property
    def period(self) -> Period:
        return Period.of(self.kind.currentData(), self.selected_day)

    def set_period(self, kind: str, day: dt.date) -> None:
        self.kind.blockSignals(True)
        self.date.blockSignals(True)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self.date.setDate(QDate(day.year, day.month, day.day))
        self.kind.blockSignals(False)
        self.date.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        s = self.session
        if self.sync is not None:
            self.sync.refresh_queue()  # the database thread; answers through queue_changed
        period, day = self.period, self.selected_day
        reports, dayclose, actor = s.ctx.reports, s.ctx.dayclose, s.actor

        def work() -> _Loaded:
            now = s.ctx.clock.now()
            rec = reports.reconcile(actor, period, now)
            month = (
                rec
                if period.kind == "month"
                else reports.reconcile(actor, Period.of("month", day), now)
            )
            return _Loaded(rec, month, dayclose.closed(day), dayclose.amendments(actor, day))

        s.runner.run_db(work, self._on_loaded, self._on_load_failed, guard=self)

    def _on_load_failed(self, err: TaskError) -> None:
        self.period_label.setText(err.message)

    def _on_loaded(self, loaded: _Loaded) -> None:
        rec = self.rec = loaded.rec
        self.overdue.load(rec.period)  # once the figures were allowed: no second refusal
        self.month_rec = loaded.month
        self.period_label.setText(
            self.tr("{period}　共收件 {received} 件").format(
                period=rec.period.label, received=rec.counts.get("received", 0)
            )
            + self.tr("　咨询 {count} 次（不计入受理）").format(
                count=rec.counts.get("consultations", 0)
            )
        )
        for figure, button in self.figure_buttons.items():
            button.setText(
                self.tr("{label}\n{count}").format(
                    label=FIGURE_LABELS[figure], count=rec.counts.get(figure, 0)
                )
            )
        self._fill(
            self.metrics_table,
            [
                (
                    m.label,
                    "—" if m.value is None else f"{m.value:.1f}%",
                    f"{m.target:.0f}%",
                    self._fraction(m),
                    self._met_text(m),
                )
                for m in rec.metrics
            ],
            [m.name for m in rec.metrics],
        )
        self._fill(
            self.bundle_table,
            [(name, str(n)) for _b, name, n in rec.by_bundle],
            [b for b, _name, _n in rec.by_bundle],
        )
        self._fill(
            self.clerk_table, [(c, str(n)) for c, n in rec.by_clerk], [c for c, _n in rec.by_clerk]
        )
        self._fill(
            self.hour_table,
            [(f"{h:02d}:00–{h + 1:02d}:00", str(n)) for h, n in rec.by_hour],
            [h for h, _n in rec.by_hour],
        )
        self._draw_charts(rec, loaded.month)
        self._show_close(loaded.closed, loaded.amendments)
        self.ratings.show_figures(rec.ratings)

    def _fraction(self, m: Metric) -> str:
        text = f"{m.numerator}/{m.denominator}"
        if m.pending:  # still within their 2 hours: neither met nor missed yet
            text += self.tr("（另{pending}件待推送）").format(pending=m.pending)
        return text

    def _met_text(self, m: Metric) -> str:
        if m.met is None:
            return self.tr("待推送，暂无结果") if m.pending else self.tr("暂无数据")
        return self.tr("达标") if m.met else self.tr("未达标")

    # ------------------------------------------------------------------ charts

    def _bar_chart(self, view: QChartView, labels: list[str], values: list[int]) -> QBarSet:
        chart = view.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        bars = QBarSet(self.tr("收件"))
        bars.append([float(v) for v in values])
        series = QBarSeries()
        series.append(bars)
        chart.addSeries(series)
        x = QBarCategoryAxis()
        x.append(labels)
        y = QValueAxis()
        top, step = integer_axis(max([0, *values]))
        y.setRange(0, top)
        y.setTickCount(top // step + 1)  # every tick on a whole number: 0, 1, 2, 3 — never 0, 0, 1
        y.setMinorTickCount(0)
        y.setLabelFormat("%d")
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)
        return bars

    def _draw_charts(self, rec: Reconciliation, month: Reconciliation) -> None:
        hours = dict(rec.by_hour)
        span = sorted(hours) or [9]
        self._chart_hours = list(range(min(8, span[0]), max(18, span[-1]) + 1))
        self.hour_set = self._bar_chart(
            self.hour_chart,
            [f"{h:02d}" for h in self._chart_hours],
            [hours.get(h, 0) for h in self._chart_hours],
        )
        self.hour_set.clicked.connect(self._on_hour_set_clicked)
        self._chart_bundles = [b for b, _n, _c in rec.by_bundle]
        self.bundle_set = self._bar_chart(
            self.bundle_chart,
            [name for _b, name, _c in rec.by_bundle],
            [c for _b, _n, c in rec.by_bundle],
        )
        self.bundle_set.clicked.connect(self._on_bundle_set_clicked)

        chart = self.compliance_chart.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        series = QLineSeries()
        for day, in_time, total in month.push_compliance_by_day:
            if total:
                series.append(float(day.day), 100.0 * in_time / total)
        chart.addSeries(series)
        x = QValueAxis()
        x.setRange(1, max(28, len(month.push_compliance_by_day)))
        x.setTickType(QValueAxis.TickType.TicksDynamic)  # days 1, 8, 15, 22, 29: whole days only
        x.setTickAnchor(1)
        x.setTickInterval(7)
        x.setLabelFormat("%d")
        y = QValueAxis()
        y.setRange(0, 100)
        y.setLabelFormat("%d%%")
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)
        self.compliance_series = series

    def _on_hour_set_clicked(self, index: int) -> None:
        if 0 <= index < len(self._chart_hours):
            self.show_figure("all", hour=self._chart_hours[index])

    def _on_bundle_set_clicked(self, index: int) -> None:
        if 0 <= index < len(self._chart_bundles):
            self.show_figure("all", bundle=self._chart_bundles[index])

    def _on_bundle_table_activated(self, row: int, _col: int) -> None:
        item = self.bundle_table.item(row, 0)
        if item is not None:
            self.show_figure("all", bundle=item.data(Qt.ItemDataRole.UserRole))

    def _on_clerk_table_activated(self, row: int, _col: int) -> None:
        item = self.clerk_table.item(row, 0)
        if item is not None:
            self.show_figure("all", clerk=item.data(Qt.ItemDataRole.UserRole))

    def _on_hour_table_activated(self, row: int, _col: int) -> None:
        item = self.hour_table.item(row, 0)
        if item is not None:
            self.show_figure("all", hour=item.data(Qt.ItemDataRole.UserRole))

    def _on_metrics_table_activated(self, row: int, _col: int) -> None:
        item = self.metrics_table.item(row, 0)
        if item is not None and item.data(Qt.ItemDataRole.UserRole) in METRIC_FIGURES:
            self.show_figure(METRIC_FIGURES[item.data(Qt.ItemDataRole.UserRole)])

    # ------------------------------------------------------------------ drill-down

    def show_figure(
        self,
        figure: str,
        *,
        bundle: str | None = None,
        clerk: str | None = None,
        hour: int | None = None,
    ) -> None:
        """List the intakes behind FIGURE (within a bundle / clerk / hour when given)."""
        s = self.session
        period = self.period
        drill = Drill(figure, bundle, clerk, hour)
        if bundle is None and clerk is None and hour is None:
            self.figure = figure  # charts and tables then drill into this figure

        def work() -> tuple[list[str], list[LedgerRow]]:
            ids = s.ctx.reports.intakes_for(
                s.actor, figure, period, s.ctx.clock.now(), bundle=bundle, clerk=clerk, hour=hour
            )
            return ids, s.queries.rows_for(ids, applicants=False)  # applicant cells as they show

        def done(result: tuple[list[str], list[LedgerRow]]) -> None:
            ids, rows = result
            self.drill = drill
            self.model.set_rows(rows)
            where = []
            if bundle is not None:
                where.append(self.tr("一件事：{bundle}").format(bundle=self._bundle_name(bundle)))
            if clerk is not None:
                where.append(self.tr("窗口人员：{clerk}").format(clerk=clerk))
            if hour is not None:
                where.append(self.tr("时段：{hour:02d}时").format(hour=hour))
            conditions = (
                self.tr("（{conditions}）").format(conditions="，".join(where)) if where else ""
            )
            if len(rows) == len(ids):
                text = self.tr("{period} · {figure}{conditions}：{count} 件").format(
                    period=period.label,
                    figure=FIGURE_LABELS[figure],
                    conditions=conditions,
                    count=len(ids),
                )
            else:
                text = self.tr(
                    "{period} · {figure}{conditions}：{count} 件（其中 {missing} 件不在台账中）"
                ).format(
                    period=period.label,
                    figure=FIGURE_LABELS[figure],
                    conditions=conditions,
                    count=len(ids),
                    missing=len(ids) - len(rows),
                )
            self.drill_label.setText(text)

        s.runner.run_db(work, done, self._on_drill_failed, guard=self)

    def _bundle_name(self, bundle: str) -> str:
        if self.rec is not None:
            for b, name, _n in self.rec.by_bundle:
                if b == bundle:
                    return name
        return bundle

    def _on_drill_failed(self, err: TaskError) -> None:
        self.drill_label.setText(err.message)

    def _on_table_activated(self, index: QModelIndex) -> None:
        row = self.model.row_at(index.row())
        if row is not None:
            self.open_requested.emit(row.submission_id)

    # ------------------------------------------------------------------ day close

    def _show_close(self, closed: DayCloseView | None, amendments: list[AmendmentView]) -> None:
        day = self.selected_day
        self.closed_view = closed
        self.amendments.clear()
        self.print_button.setEnabled(closed is not None and bool(closed.report_sha256))
        if closed is None:
            self.close_status.setText(self.tr("{day} 尚未日结。").format(day=f"{day:%Y-%m-%d}"))
            self.close_button.setEnabled(True)
            return
        self.close_button.setEnabled(False)
        self.close_status.setText(
            self.tr("{day} 已日结：{subs} 件受理，{events} 条记录；封存值 {seal}").format(
                day=f"{day:%Y-%m-%d}",
                subs=closed.submissions,
                events=closed.events,
                seal=closed.seal,
            )
        )
        for text, sid in self.amendment_lines(amendments):
            item = QListWidgetItem(text)
            if sid is not None:
                item.setData(Qt.ItemDataRole.UserRole, sid)
            self.amendments.addItem(item)
        if not amendments:
            self.amendments.addItem(self.tr("无"))

    def amendment_lines(self, amendments: Sequence[AmendmentView]) -> list[tuple[str, str | None]]:
        """Per intake (its number), one line per change: repeats of the same change in a row
        (three pages added) are one line with a count."""
        from ui.deadline import station_time

        by_intake: dict[str, list[AmendmentView]] = {}
        for a in amendments:
            by_intake.setdefault(a.submission_id, []).append(a)
        lines: list[tuple[str, str | None]] = []
        for sid, changes in by_intake.items():
            lines.append(
                (
                    self.tr("受理编号 {number}").format(
                        number=changes[0].number or self.tr("（无编号）")
                    ),
                    sid,
                )
            )
            runs: list[list[AmendmentView]] = []
            for a in changes:
                if (
                    runs
                    and runs[-1][-1].event_type == a.event_type
                    and not a.subjects
                    and not a.detail
                ):
                    runs[-1].append(a)
                else:
                    runs.append([a])
            for run in runs:
                a = run[0]
                what = self._change_text(a)
                if len(run) > 1:
                    what = self.tr("{what}（{count}次）").format(what=what, count=len(run))
                lines.append(
                    (
                        self.tr("　　{at}　{what}　{who}").format(
                            at=station_time(a.at, "%m-%d %H:%M"),
                            what=what,
                            who=a.staff_name or self.tr("系统同步"),
                        ),
                        sid,
                    )
                )
        return lines

    def _change_text(self, a: AmendmentView) -> str:
        names = "、".join(a.subjects)
        if a.event_type == "item_decided":
            decision = {
                "accepted": self.tr("部门已受理"),
                "rejected": self.tr("不予受理"),
                "completed": self.tr("已办结"),
            }.get(a.detail, a.detail)
            return self.tr("{item}：{decision}").format(item=names, decision=decision)
        if a.event_type == "delivered":
            method = self.tr("邮寄") if a.detail == "express" else self.tr("窗口领取")
            return self.tr("送达（{method}）：{items}").format(method=method, items=names)
        if a.event_type == "supplemented":
            return self.tr("补正材料：{materials}").format(materials=names)
        if a.event_type == "material_marked":
            return self.tr("修改材料标记：{materials}").format(materials=names)
        if a.event_type == "document_printed":
            kind, _, reprint = a.detail.partition(":")
            doc = {
                "receipt": self.tr("收件回执"),
                "notice": self.tr("一次告知通知书"),
                "commitment": self.tr("容缺受理告知承诺书"),
                "return_list": self.tr("材料退还清单"),
                "application_form": self.tr("一件事联办申请表"),
                "authorization": self.tr("信息查询核验授权书"),
            }.get(kind, kind)
            return (self.tr("补打{doc}") if reprint else self.tr("打印{doc}")).format(doc=doc)
        return event_label(a.event_type)

    def _on_amendments_activated(self, item: QListWidgetItem) -> None:
        sid = item.data(Qt.ItemDataRole.UserRole)
        if sid:
            self.open_requested.emit(sid)

    def request_close(self) -> DayClosePasswordDialog:
        """日结… : the password dialog for the selected day."""
        if self.password_dialog is not None:
            self.password_dialog.deleteLater()
        day = self.selected_day
        dialog = DayClosePasswordDialog(
            self.tr("{year}年{month:02d}月{day:02d}日").format(
                year=day.year, month=day.month, day=day.day
            ),
            self,
        )
        dialog.password_entered.connect(lambda pw: self.close_day(day, pw))
        self.password_dialog = dialog
        self.close_message.clear()
        dialog.open()
        s = self.session

        def shown(work: OpenWork) -> None:
            if self.password_dialog is dialog:
                dialog.set_open_work(work)

        def failed(err: TaskError) -> None:
            if self.password_dialog is dialog:
                dialog.open_work_label.setText(err.message)

        s.runner.run_db(
            lambda: s.ctx.reports.open_work(s.actor, day, s.ctx.clock.now()),
            shown,
            failed,
            guard=self,
        )
        return dialog

    def close_day(self, day: dt.date, password: str) -> None:
        """Check the password, build and keep the report (pool), seal the day (database)."""
        s = self.session
        ctx, actor, station = s.ctx, s.actor, s.station

        def check_and_gather() -> tuple[SealBasis, Reconciliation, list[LedgerRow], OpenWork]:
            basis = ctx.dayclose.prepare(actor, password, day)  # checks before the report is built
            now = ctx.clock.now()
            rec = ctx.reports.reconcile(actor, Period.of("day", day), now)
            return basis, rec, ctx.queries.ledger(day), ctx.reports.open_work(actor, day, now)

        def build(data: tuple[SealBasis, Reconciliation, list[LedgerRow], OpenWork]) -> None:
            basis, rec, rows, work = data

            def make() -> str:
                from printing.ledger_report import build_day_close_report

                pdf = build_day_close_report(
                    station.centre_name, rec, rows, basis, work, actor.display_name
                )
                return ctx.attachments.put(pdf)

            s.runner.run_pool(make, lambda sha: seal(basis, sha), self._on_close_failed, guard=self)

        def seal(basis: SealBasis, sha: str) -> None:
            self.report_sha256 = sha
            s.runner.run_db(
                lambda: ctx.dayclose.close(actor, password, day, report_sha256=sha, basis=basis),
                self._on_day_closed,
                self._on_close_failed,
                guard=self,
            )

        s.runner.run_db(check_and_gather, build, self._on_close_failed, guard=self)

    def _on_close_failed(self, err: TaskError) -> None:
        self.close_message.setText(err.message)
        if self.password_dialog is not None and self.password_dialog.isVisible():
            self.password_dialog.show_error(err.message)

    def _on_day_closed(self, view: DayCloseView) -> None:
        log.info("day %s closed", view.day.isoformat())
        if self.password_dialog is not None:
            self.password_dialog.accept()
        done = self.tr("日结完成，封存值：{seal}").format(seal=view.seal)
        self.close_message.setText(done)
        self.day_closed.emit(view)
        self.refresh()
        self.print_report(view, done)

    def print_report(self, view: DayCloseView | None = None, before: str = "") -> None:
        """Send the kept day-close report of VIEW (default: the selected closed day) to the
        printer; a printer that is off leaves the report kept, to print again from here."""
        view = view or self.closed_view
        if view is None or not view.report_sha256:
            return
        s = self.session
        sha = view.report_sha256
        job = self.tr("{day} 日结报告").format(day=f"{view.day:%Y-%m-%d}")

        def send() -> Any:
            return s.printer.print_pdf(s.ctx.attachments.get(sha), s.printer_name, 1, job_name=job)

        def shown(message: str) -> None:
            self.close_message.setText(f"{before}；{message}" if before else message)

        def printed(result: Any) -> None:
            self.report_printed.emit(bool(result.ok))
            shown(
                self.tr("日结报告已打印。")
                if result.ok
                else self.tr(
                    "日结报告未能打印：{reason}（报告已保存，可点“打印日结报告”重打）"
                ).format(reason=result.message)
            )

        def failed(err: TaskError) -> None:
            self.report_printed.emit(False)
            shown(self.tr("日结报告未能打印：{reason}").format(reason=err.message))

        s.runner.run_pool(send, printed, failed, guard=self)
