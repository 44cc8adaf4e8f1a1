"""The day's ledger (台账) and the table model shared with search results.

Rows are `LedgerRow` values (names and ID numbers already masked by the service).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QDate,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.exports import IDENTITY_LABELS
from app.staff import may
from ui.deadline import format_remaining, station_time
from ui.i18n import file_dialog
from ui.tablemodel import RowsTableModel

if TYPE_CHECKING:
    from PySide6.QtWidgets import QFileDialog

    from app.views import LedgerRow
    from ui.session import ClerkSession
    from ui.tasks import TaskError

log = logging.getLogger("intake.ui.ledger")

PUSH_WINDOW = dt.timedelta(hours=2)


def push_deadline(row: LedgerRow) -> dt.datetime | None:
    """Received, paper not yet digitised: the 2-hour clock runs."""
    if row.stage == "received" and row.received_at is not None and row.digitised_at is None:
        received = (
            row.received_at if row.received_at.tzinfo else row.received_at.replace(tzinfo=dt.UTC)
        )
        return received + PUSH_WINDOW
    return None


class LedgerModel(RowsTableModel):
    COLUMNS = (
        QT_TRANSLATE_NOOP("LedgerModel", "受理编号"),
        QT_TRANSLATE_NOOP("LedgerModel", "时间"),
        QT_TRANSLATE_NOOP("LedgerModel", "一件事"),
        QT_TRANSLATE_NOOP("LedgerModel", "申请人"),
        QT_TRANSLATE_NOOP("LedgerModel", "证件号码"),
        QT_TRANSLATE_NOOP("LedgerModel", "状态"),
        QT_TRANSLATE_NOOP("LedgerModel", "窗口人员"),
        QT_TRANSLATE_NOOP("LedgerModel", "数字化推送"),
        QT_TRANSLATE_NOOP("LedgerModel", "身份核验"),
    )

    APPLICANT_COLUMNS = (3, 4, 8)
    cells_wanted = Signal(list)  # submission ids whose applicant cells are on screen but not loaded

    def __init__(
        self, parent: QObject | None = None, now: Callable[[], dt.datetime] | None = None
    ) -> None:
        super().__init__(parent)
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        # Rows marked applicant_pending get their applicant cells when painted: a busy day's
        # list shows at once and only what is on screen is decrypted.
        self._cells: dict[str, tuple[str, str, str]] = {}
        self._asked: set[str] = set()
        self._wanted: list[str] = []
        self._index: dict[str, int] = {}

    def set_rows(self, rows: Sequence[LedgerRow]) -> None:
        self._cells.clear()
        self._asked.clear()
        self._wanted.clear()
        self._reset(rows)
        self._index = {r.submission_id: n for n, r in enumerate(self._rows)}

    def set_cells(self, cells: dict[str, tuple[str, str, str]]) -> None:
        """Applicant cells arrived (from `IntakeQueries.applicant_cells`): repaint those rows."""
        self._cells.update(cells)
        rows = [self._index[sid] for sid in cells if sid in self._index]
        if rows:
            self.dataChanged.emit(self.index(min(rows), 3), self.index(max(rows), 8))

    def cells_failed(self, ids: Sequence[str]) -> None:
        """Cells that could not be read show a dash, and are not asked for again."""
        self.set_cells({sid: ("—", "—", "—") for sid in ids})

    def _applicant(self, row: LedgerRow) -> tuple[str, str, str] | None:
        if not row.applicant_pending:
            return row.applicant_name, row.applicant_id_masked, row.identity_source
        cells = self._cells.get(row.submission_id)
        if cells is None and row.submission_id not in self._asked:
            self._asked.add(row.submission_id)
            if not self._wanted:
                QTimer.singleShot(0, self._ask)  # one request for the whole screen
            self._wanted.append(row.submission_id)
        return cells

    def _ask(self) -> None:
        wanted, self._wanted = self._wanted, []
        if wanted:
            self.cells_wanted.emit(wanted)

    def row_at(self, row: int) -> LedgerRow | None:
        return self._at(row)  # type: ignore[no-any-return]

    @property
    def rows(self) -> list[LedgerRow]:
        return self._rows

    def _push_text(self, row: LedgerRow) -> tuple[str, str]:
        if row.pushed_at is not None:
            return QCoreApplication.translate("LedgerModel", "已推送"), ""
        deadline = push_deadline(row)
        if deadline is None:
            return (
                ("—", "")
                if row.stage in ("draft", "notified", "withdrawn", "discarded")
                else (QCoreApplication.translate("LedgerModel", "待推送"), "")
            )
        left = deadline - self._now()
        if left.total_seconds() < 0:
            return QCoreApplication.translate("LedgerModel", "超时 {time}").format(
                time=format_remaining(left)
            ), "overdue"
        return QCoreApplication.translate("LedgerModel", "剩余 {time}").format(
            time=format_remaining(left)
        ), "pending"

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        row = self.row_at(index.row())
        if row is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col in self.APPLICANT_COLUMNS:
                cells = self._applicant(row)
                if cells is None:
                    return "…"
                if col == 8:
                    return QCoreApplication.translate(
                        "LedgerModel", IDENTITY_LABELS.get(cells[2], cells[2])
                    )
                return cells[0] if col == 3 else cells[1]
            values = (
                row.number or QCoreApplication.translate("LedgerModel", "（草稿）"),
                station_time(row.created_at, "%m-%d %H:%M"),
                row.bundle_name,
                "",
                "",
                row.label,
                row.clerk_name,
                self._push_text(row)[0],
            )
            return values[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 7:
            level = self._push_text(row)[1]
            if level == "overdue":
                return QBrush(QColor("#b03a2e"))
            if level == "pending":
                return QBrush(QColor("#7a4b00"))
        if role == Qt.ItemDataRole.UserRole:
            return row.submission_id
        return None


def load_cells_on_demand(model: LedgerModel, session: ClerkSession, guard: QObject) -> None:
    """Fetch the applicant cells the model asks for on the database worker."""

    def fetch(ids: list[str]) -> None:
        def failed(err: TaskError) -> None:
            log.warning("applicant cells not loaded: %s", err.code)
            model.cells_failed(ids)

        session.runner.run_db(
            lambda: session.queries.applicant_cells(ids), model.set_cells, failed, guard=guard
        )

    model.cells_wanted.connect(fetch)


def make_table(model: QAbstractTableModel, parent: QWidget, name: str) -> QTableView:
    """A read-only row table; NAME is what a screen reader calls it."""
    table = QTableView(parent)
    table.setAccessibleName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setTabKeyNavigation(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    # Size columns by the rows on screen, not the first 1000 (a busy day's ledger would read
    # and decrypt a thousand applicants for column widths alone).
    header.setResizeContentsPrecision(0)
    header.setStretchLastSection(True)
    return table


class LedgerWidget(QWidget):
    """One day's intakes at this station with counts; Enter opens the selected one."""

    open_requested = Signal(str)  # submission id
    exported = Signal(str)  # path written

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.save_dialog: QFileDialog | None = None  # the export's file dialog while it is open
        from app.clock import local_day

        today = local_day(session.ctx.clock.now())  # the station's day, as intakes are filed
        self.day = QDateEdit(QDate(today.year, today.month, today.day), self)
        self.day.setAccessibleName(self.tr("台账日期"))
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        refresh = QPushButton(self.tr("刷新(&R)"), self)
        refresh.clicked.connect(self.refresh)
        self.day.dateChanged.connect(lambda _d: self.refresh())
        self.counts = QLabel(self)
        self.counts.setObjectName("sectionHint")
        self.counts.setWordWrap(True)
        self.model = LedgerModel(self, session.ctx.clock.now)
        load_cells_on_demand(self.model, session, self)
        self.table = make_table(self.model, self, self.tr("当日台账"))
        self.table.activated.connect(self._on_table_activated)
        self._all_rows: list[LedgerRow] = []
        # Filters by state, bundle and clerk; "" means all.
        self.state_filter = QComboBox(self)
        self.bundle_filter = QComboBox(self)
        self.clerk_filter = QComboBox(self)
        self.state_filter.setAccessibleName(self.tr("按状态筛选"))
        self.bundle_filter.setAccessibleName(self.tr("按一件事筛选"))
        self.clerk_filter.setAccessibleName(self.tr("按窗口人员筛选"))
        for combo in (self.state_filter, self.bundle_filter, self.clerk_filter):
            combo.setMinimumContentsLength(8)
            combo.currentIndexChanged.connect(lambda _i: self._apply_filters())
        # A clerk sees the day's list; exporting it is a supervisor's, as the service enforces.
        self.export_xlsx = QPushButton(self.tr("导出Excel(&X)"), self)
        self.export_xlsx.clicked.connect(lambda: self.export("xlsx"))
        self.export_csv = QPushButton(self.tr("导出CSV"), self)
        self.export_csv.clicked.connect(lambda: self.export("csv"))
        self.export_pdf = QPushButton(self.tr("导出PDF"), self)
        self.export_pdf.clicked.connect(lambda: self.export("pdf"))
        for button in (self.export_xlsx, self.export_csv, self.export_pdf):
            button.setVisible(may(session.actor.role, "export.ledger"))
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("日期"), self))
        top.addWidget(self.day)
        top.addWidget(refresh)
        top.addSpacing(12)
        top.addWidget(QLabel(self.tr("状态"), self))
        top.addWidget(self.state_filter)
        top.addWidget(QLabel(self.tr("一件事"), self))
        top.addWidget(self.bundle_filter)
        top.addWidget(QLabel(self.tr("窗口人员"), self))
        top.addWidget(self.clerk_filter)
        top.addStretch(1)
        top.addWidget(self.export_xlsx)
        top.addWidget(self.export_csv)
        top.addWidget(self.export_pdf)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.counts)
        layout.addWidget(self.table, 1)

    def refresh(self) -> None:
        s = self.session
        qd = self.day.date()
        day = dt.date(qd.year(), qd.month(), qd.day())
        s.runner.run_db(
            lambda: s.queries.ledger(day, applicants=False),
            self._on_rows_loaded,
            self._on_rows_failed,
            guard=self,
        )

    def _on_rows_failed(self, err: TaskError) -> None:
        self.counts.setText(err.message)

    def _on_rows_loaded(self, rows: list[LedgerRow]) -> None:
        self._all_rows = list(rows)
        for combo, values in (
            (self.state_filter, sorted({r.label for r in rows})),
            (self.bundle_filter, sorted({r.bundle_name for r in rows})),
            (self.clerk_filter, sorted({r.clerk_name for r in rows})),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(self.tr("全部"), "")
            for v in values:
                combo.addItem(v, v)
            at = combo.findData(current) if current else 0
            combo.setCurrentIndex(max(0, at))
            combo.blockSignals(False)
        self._apply_filters()

    def filtered_rows(self) -> list[LedgerRow]:
        state, bundle, clerk = (
            c.currentData() or ""
            for c in (self.state_filter, self.bundle_filter, self.clerk_filter)
        )
        return [
            r
            for r in self._all_rows
            if (not state or r.label == state)
            and (not bundle or r.bundle_name == bundle)
            and (not clerk or r.clerk_name == clerk)
        ]

    def set_filter(self, which: str, value: str) -> None:
        combo = {
            "state": self.state_filter,
            "bundle": self.bundle_filter,
            "clerk": self.clerk_filter,
        }[which]
        combo.setCurrentIndex(max(0, combo.findData(value)))

    def export(self, fmt: str, path: str | None = None) -> None:
        """Save the rows shown (after filters) as xlsx, CSV or PDF; the export is audited."""
        qd = self.day.date()
        day = dt.date(qd.year(), qd.month(), qd.day())
        title = self.tr("{day} 受理台账").format(day=day.isoformat())
        if path is None:
            # the clerk's documents folder, not wherever the program was started from
            documents = QStandardPaths.StandardLocation.DocumentsLocation
            folder = QStandardPaths.writableLocation(documents)
            self.save_dialog = file_dialog(
                self,
                self.tr("导出台账"),
                save=True,
                start=str(Path(folder) / f"{title}.{fmt}"),
                name_filter=self.tr("{kind}文件 (*.{suffix})").format(kind=fmt.upper(), suffix=fmt),
            )
            self.save_dialog.setDefaultSuffix(fmt)
            self.save_dialog.fileSelected.connect(lambda chosen: self.export(fmt, chosen))
            self.save_dialog.open()
            return
        rows = self.filtered_rows()
        s = self.session
        from app.exports import export_ledger
        from printing.ledger_report import ledger_pdf

        period = self.tr("{year}年{month:02d}月{day:02d}日").format(
            year=day.year, month=day.month, day=day.day
        )

        def work() -> str:
            from local_db.errors import DomainError

            closed = s.ctx.dayclose.closed(day)
            data = export_ledger(
                s.ctx.sessions,
                s.actor,
                s.queries.with_applicants(rows),
                fmt,
                title,
                s.ctx.clock.now(),
                centre_name=s.station.centre_name,
                period_label=period,
                seal=closed.seal if closed else None,
                render_pdf=ledger_pdf,
            )
            try:
                with open(path, "wb") as f:
                    f.write(data)
            except OSError as exc:
                raise DomainError("export.write_failed", exc_strerror=exc.strerror) from exc
            return path

        def failed(err: TaskError) -> None:
            self.counts.setText(self.tr("导出失败：{reason}").format(reason=err.message))

        s.runner.run_db(work, lambda p: self.exported.emit(p), failed, guard=self)

    def _apply_filters(self) -> None:
        rows = self.filtered_rows()
        self.model.set_rows(rows)
        stages = Counter(r.stage for r in rows)
        overdue = sum(
            1
            for r in rows
            if (d := push_deadline(r)) is not None and d < self.session.ctx.clock.now()
        )
        waiting = sum(1 for r in rows if push_deadline(r) is not None)
        self.counts.setText(
            self.tr(
                "共 {total} 件：已收件 {received} 件，一次告知 {notified} 件，容缺待补 {tolerated} 件，"
                "撤回 {withdrawn} 件；待数字化推送 {waiting} 件，其中超时 {overdue} 件。"
            ).format(
                total=len(rows),
                received=sum(
                    v
                    for k, v in stages.items()
                    if k not in ("notified", "withdrawn", "draft", "discarded")
                ),
                notified=stages.get("notified", 0),
                tolerated=sum(1 for r in rows if r.awaiting_supplement),
                withdrawn=stages.get("withdrawn", 0),
                waiting=waiting,
                overdue=overdue,
            )
        )

    def _on_table_activated(self, index: QModelIndex) -> None:
        row = self.model.row_at(index.row())
        if row is not None:
            self.open_requested.emit(row.submission_id)
