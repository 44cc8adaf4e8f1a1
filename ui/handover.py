"""材料移交: the day's received intakes by lead department, handed over with a printed
移交清单 (app/handover.py, printing/handover.py); and the 送达凭证 printed after a 送达.

The screen lists the departments with paper waiting (count), the intakes of the one selected
(number, 一件事, applicant, papers, 优先办), a field for the department's receiver, and one
button that records the hand-over and prints the list. Everything runs on the task runner:
store work on the database thread, PDF building and printing on the pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.clock import local_day
from app.handover import HandoverEntry, HandoverList
from ui.session import ClerkSession
from ui.tasks import TaskError

_DEPT = Qt.ItemDataRole.UserRole


def print_pdf(
    session: ClerkSession,
    pdf: bytes,
    job: str,
    done: Callable[[bool, str], None],
    guard: Any = None,
) -> None:
    """Send PDF to the station's printer on the pool; DONE(ok, message) on the GUI thread."""
    session.runner.run_pool(
        lambda: session.printer.print_pdf(pdf, session.printer_name, 1, job_name=job),
        lambda r: done(bool(r.ok), str(r.message)),
        lambda err: done(False, err.message),
        guard=guard,
    )


def print_delivery_proof(
    session: ClerkSession, sid: str, done: Callable[[bool, str], None], guard: Any = None
) -> None:
    """The 送达凭证 of the intake's latest delivery: built, kept with the intake, printed."""
    from printing.handover import build_delivery_proof

    s = session

    def build() -> tuple[str, bytes]:
        proof = s.ctx.deliveries.proof(sid)
        pdf = build_delivery_proof(proof, s.paper)  # type: ignore[arg-type]
        s.ctx.documents.save_document(s.actor, sid, "delivery_proof", pdf)  # type: ignore[arg-type]
        return proof.number, pdf

    def built(result: tuple[str, bytes]) -> None:
        number, pdf = result
        job = QCoreApplication.translate("Handover", "{number} 送达凭证").format(number=number)
        print_pdf(s, pdf, job, done, guard)

    s.runner.run_db(build, built, lambda err: done(False, err.message), guard=guard)


class HandoverDialog(QDialog):
    """材料移交: paper to the lead departments, one batch per department."""

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(self.tr("材料移交（纸质材料移交牵头部门）"))
        self.resize(1180, 560)  # 优先办's text whole at 150 % font (fits 1366×768)
        self._entries: list[HandoverEntry] = []
        self.day = QDateEdit(self)
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        self.day.setAccessibleName(self.tr("受理日期"))
        today = local_day(session.ctx.clock.now())
        self.day.setDate(QDate(today.year, today.month, today.day))
        self.departments = QListWidget(self)
        self.departments.setAccessibleName(self.tr("牵头部门"))
        self.table = QTableWidget(0, 5, self)
        # no row numbers: they add an unnamed corner button for screen readers (Qt 6.9)
        self.table.verticalHeader().hide()
        self.table.setAccessibleName(self.tr("待移交的受理件"))
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("受理编号"),
                self.tr("一件事"),
                self.tr("申请人"),
                self.tr("材料"),
                self.tr("优先办"),
            ]
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.receiver = QLineEdit(self)
        self.receiver.setAccessibleName(self.tr("接收人"))
        self.receiver.setPlaceholderText(self.tr("牵头部门接收人姓名"))
        self.create_button = QPushButton(self.tr("登记移交并打印清单"), self)
        self.create_button.setAccessibleName(self.tr("登记移交并打印清单"))
        self.create_button.setAutoDefault(False)
        self.reprint_button = QPushButton(self.tr("补打上一份清单"), self)
        self.reprint_button.setAccessibleName(self.tr("补打上一份清单"))
        self.reprint_button.setAutoDefault(False)
        self.reprint_button.setEnabled(False)
        self._last_batch: str | None = None
        self.message = QLabel(self)
        self.message.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("受理日期"), self))
        top.addWidget(self.day)
        top.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.departments, 1)
        middle.addWidget(self.table, 4)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel(self.tr("接收人"), self))
        bottom.addWidget(self.receiver, 1)
        bottom.addWidget(self.create_button)
        bottom.addWidget(self.reprint_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.message)

        self.day.dateChanged.connect(lambda _d: self.refresh())
        self.departments.currentItemChanged.connect(self._on_departments_current_changed)
        self.create_button.clicked.connect(self.create)
        self.reprint_button.clicked.connect(self.reprint)
        self.refresh()

    def _day(self) -> Any:
        return self.day.date().toPython()

    def department(self) -> str | None:
        item = self.departments.currentItem()
        return str(item.data(_DEPT)) if item is not None else None

    def refresh(self) -> None:
        day, handover = self._day(), self.session.ctx.handover
        keep = self.department()

        def shown(entries: list[HandoverEntry]) -> None:
            self._entries = entries
            counts: dict[str, int] = {}
            for e in entries:
                counts[e.department] = counts.get(e.department, 0) + 1
            self.departments.clear()
            for dept, n in sorted(counts.items()):
                item = QListWidgetItem(self.tr("{dept}（{n}件）").format(dept=dept, n=n))
                item.setData(_DEPT, dept)
                self.departments.addItem(item)
                if dept == keep:
                    self.departments.setCurrentItem(item)
            if self.departments.currentItem() is None and self.departments.count():
                self.departments.setCurrentRow(0)
            self._fill_table()

        self.session.runner.run_db(lambda: handover.pending(day), shown, self._failed, guard=self)

    def _on_departments_current_changed(self, *_args: Any) -> None:
        self._fill_table()

    def _fill_table(self) -> None:
        dept = self.department()
        rows = [e for e in self._entries if e.department == dept]
        self.table.setRowCount(len(rows))
        for r, e in enumerate(rows):
            papers = self.tr("{n}种材料").format(n=len(e.paper))
            for c, text in enumerate(
                (e.number, e.bundle_name, e.applicant_name, papers, e.priority)
            ):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.create_button.setEnabled(bool(rows))

    def create(self) -> None:
        dept = self.department()
        if dept is None:
            return
        receiver = self.receiver.text().strip()
        if not receiver:
            self.message.setText(self.tr("请填写牵头部门接收人姓名，由其在清单上签字。"))
            self.receiver.setFocus()
            return
        s, day = self.session, self._day()
        from printing.handover import build_handover_list

        def work() -> tuple[HandoverList, bytes]:
            listed = s.ctx.handover.create(s.actor, dept, day, receiver)
            return listed, build_handover_list(listed, s.paper)  # type: ignore[arg-type]

        def created(result: tuple[HandoverList, bytes]) -> None:
            listed, pdf = result
            recorded = self.tr("{batch} 已登记移交{dept}：{n}件。").format(
                batch=listed.number, dept=listed.department, n=len(listed.entries)
            )
            self.message.setText(recorded)
            self.receiver.clear()
            self.refresh()

            def printed(ok: bool, text: str) -> None:
                self.message.setText(f"{recorded}{text}")

            self._last_batch = listed.number
            self.reprint_button.setEnabled(True)  # e.g. after the printer was out of paper
            job = self.tr("{batch} 纸质材料移交清单").format(batch=listed.number)
            print_pdf(s, pdf, job, printed, self)

        self.session.runner.run_db(work, created, self._failed, guard=self)

    def reprint(self) -> None:
        """The last list again, rebuilt from the store."""
        batch = self._last_batch
        if batch is None:
            return
        s = self.session
        from printing.handover import build_handover_list

        def work() -> bytes:
            return build_handover_list(s.ctx.handover.document(batch), s.paper)  # type: ignore[arg-type]

        def built(pdf: bytes) -> None:
            job = self.tr("{batch} 纸质材料移交清单（补打）").format(batch=batch)
            print_pdf(s, pdf, job, lambda _ok, text: self.message.setText(text), self)

        s.runner.run_db(work, built, self._failed, guard=self)

    def _failed(self, err: TaskError) -> None:
        self.message.setText(err.message)
