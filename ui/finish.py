"""What the clerk sees after F12: the intake number, what was printed (or why not), what is
still owed, and the 2-hour countdown when paper must still be digitised."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ui.deadline import DeadlineWidget

if TYPE_CHECKING:
    from app.intake import FinishResult
    from app.views import SubmissionView
    from ui.printflow import PrintOutcome


class _OutcomeRow(QFrame):
    def __init__(self, outcome: PrintOutcome, parent: QWidget) -> None:
        super().__init__(parent)
        self.outcome = outcome
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.retry_button = QPushButton(self.tr("重新打印"), self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.retry_button)
        self.refresh()

    def refresh(self) -> None:
        o = self.outcome
        if o.printed:
            text = self.tr("✔ {title}：{message}").format(title=o.title, message=o.message)
            colour = "#1e5e2e"
        else:
            kept = self.tr("文书已保存，可排除故障后重新打印或稍后补打。") if o.saved else ""
            text = self.tr("✘ {title}未打印：{message} {kept}").format(
                title=o.title, message=o.message, kept=kept
            )
            colour = "#8a1c12"
        self.label.setText(text.strip())
        self.label.setStyleSheet(f"color: {colour};")
        self.retry_button.setVisible(not o.printed and bool(o.pdf))


class FinishWidget(QWidget):
    new_intake_requested = Signal()
    reprint_requested = Signal(str)  # submission id
    retry_requested = Signal(object)  # PrintOutcome
    form_requested = Signal(str, str)  # submission id, generated form kind (一表申请)

    def __init__(
        self, parent: QWidget | None = None, now: Callable[[], dt.datetime] | None = None
    ) -> None:
        super().__init__(parent)
        self.result: FinishResult | None = None
        self.outcomes: list[PrintOutcome] = []
        self.heading = QLabel(self)
        self.heading.setObjectName("pageHeading")
        self.number = QLabel(self)
        self.number.setObjectName("bigNumber")
        self.number.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.deadline = DeadlineWidget(self, now) if now else DeadlineWidget(self)
        self.docs_box = QVBoxLayout()
        self.new_button = QPushButton(self.tr("新建受理（回车 / Ctrl+N）"), self)
        self.new_button.setAutoDefault(True)  # Enter on it starts the next intake
        self.new_button.setObjectName("finishButton")
        self.new_button.clicked.connect(self.new_intake_requested)
        self.reprint_button = QPushButton(self.tr("补打文书"), self)
        self.reprint_button.clicked.connect(self._on_reprint_button_clicked)
        # 一表申请: the forms printed prefilled for the applicant's signature (app.forms).
        self.form_button = QPushButton(self.tr("打印申请表"), self)
        self.form_button.clicked.connect(lambda: self._request_form("application_form"))
        self.authorization_button = QPushButton(self.tr("打印授权书"), self)
        self.authorization_button.clicked.connect(lambda: self._request_form("authorization"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.reprint_button)
        buttons.addWidget(self.form_button)
        buttons.addWidget(self.authorization_button)
        buttons.addStretch(1)
        buttons.addWidget(self.new_button)
        # The result scrolls where the screen is low (1366×768 at 150 %); the buttons stay.
        content = QWidget(self)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.number)
        layout.addWidget(self.deadline)
        layout.addWidget(self.summary)
        self.extras = QVBoxLayout()  # rows other screens add (the 好差评 bar)
        layout.addLayout(self.extras)
        docs_title = QLabel(self.tr("文书"), self)
        docs_title.setObjectName("sectionHint")
        layout.addWidget(docs_title)
        layout.addLayout(self.docs_box)
        layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 18, 24, 18)
        outer.addWidget(scroll, 1)
        outer.addLayout(buttons)
        self._rows: list[_OutcomeRow] = []

    def show_result(
        self, result: FinishResult, outcomes: list[PrintOutcome], view: SubmissionView | None = None
    ) -> None:
        self.result = result
        self.outcomes = outcomes
        names = {m.id: m.name for m in result.checklist.materials}
        e = html.escape
        if result.stage == "notified":
            self.heading.setText(self.tr("材料不齐：已出具一次告知通知书"))
            missing = "".join(f"<li>{e(names[m])}</li>" for m in result.checklist.missing)
            missing += "".join(
                "<li>{}</li>".format(
                    e(self.tr("{name}（可容缺，收件后限期补交）").format(name=names[m]))
                )
                for m in result.checklist.tolerated
            )
            self.summary.setText(
                "<p>{}</p><ul>{}</ul>".format(
                    e(self.tr("请申请人按通知书补齐以下材料后再来窗口，凭本编号续办：")), missing
                )
            )
        elif result.tolerance_due is not None:
            self.heading.setText(self.tr("已收件（容缺受理）"))
            tolerated = "、".join(names[m] for m in result.checklist.tolerated)
            self.summary.setText(
                "<p>{}</p>".format(
                    e(
                        self.tr(
                            "容缺材料：{materials}，须于 {due} 前补交（已打印告知承诺书，请申请人签字）。"
                        ).format(materials=tolerated, due=result.tolerance_due.isoformat())
                    )
                )
            )
        else:
            self.heading.setText(self.tr("已收件"))
            self.summary.setText(
                "<p>{}</p>".format(e(self.tr("材料齐全，已收件。请将收件回执交给申请人。")))
            )
        self.number.setText(result.number)
        if result.booked_on is not None:  # today was already closed (日结)
            note = self.tr("本日已日结，本件计入 {day} 的台账。").format(
                day=f"{result.booked_on:%Y-%m-%d}"
            )
            self.summary.setText(f"{self.summary.text()}<p>{e(note)}</p>")
        if view is not None and view.applicant is not None:
            who = self.tr("{bundle} · 申请人 {name}（{id}）").format(
                bundle=view.bundle_name,
                name=view.applicant.masked_name,
                id=view.applicant.masked_id,
            )
            self.summary.setText(f"<p>{e(who)}</p>{self.summary.text()}")
        for row in self._rows:
            self.docs_box.removeWidget(row)
            row.hide()  # gone now; deleted when control returns to the event loop
            row.deleteLater()
        self._rows = []
        for outcome in outcomes:
            row = _OutcomeRow(outcome, self)
            row.retry_button.clicked.connect(
                lambda _c=False, o=outcome: self.retry_requested.emit(o)
            )
            self.docs_box.addWidget(row)
            self._rows.append(row)
        deadline = None
        if view is not None and view.stage == "received" and view.digitised_at is None:
            deadline = view.push_deadline
        self.deadline.set_deadline(deadline)
        self.new_button.setFocus()

    def add_outcomes(self, outcomes: list[PrintOutcome]) -> None:
        """Documents printed after finishing (the generated forms): listed like the others."""
        for outcome in outcomes:
            self.outcomes.append(outcome)
            row = _OutcomeRow(outcome, self)
            row.retry_button.clicked.connect(
                lambda _c=False, o=outcome: self.retry_requested.emit(o)
            )
            self.docs_box.addWidget(row)
            self._rows.append(row)

    def _request_form(self, kind: str) -> None:
        if self.result is not None:
            self.form_requested.emit(self.result.submission_id, kind)

    def refresh_outcome(self, outcome: Any) -> None:
        for row in self._rows:
            if row.outcome is outcome:
                row.refresh()

    def failed_outcomes(self) -> list[PrintOutcome]:
        return [o for o in self.outcomes if not o.printed]

    def _on_reprint_button_clicked(self) -> None:
        if self.result is not None:
            self.reprint_requested.emit(self.result.submission_id)
