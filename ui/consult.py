"""咨询 (Ctrl+G): the 办事指南 for someone who only asks — no ID card, no intake. The clerk picks
the 一件事 and items, answers the situation questions, sees the merged material list and prints
the leaflet; a printed leaflet is counted in the ledger as a 咨询 (never as an intake)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app import checklist as engine
from app.options import STATION_ADDRESS, store
from local_db.errors import DomainError
from printing.guide import build_guide_pdf
from ui.bundles import BundlePickerWidget
from ui.devices import may_save_devices
from ui.questions import QuestionsWidget

if TYPE_CHECKING:
    from app.checklist import Checklist
    from app.guide import GuideDocument
    from ui.session import ClerkSession
    from ui.tasks import TaskError


class ConsultationDialog(QDialog):
    guide_printed = Signal(str)  # 咨询编号 of the leaflet printed and counted

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(self.tr("咨询 · 打印办事指南"))
        self.setObjectName("consultationDialog")
        self.checklist: Checklist | None = None
        self._bundle_id: str | None = None
        self._items: list[str] = []
        self._answers: dict[str, Any] = {}
        self._printing = False
        self.bundles = BundlePickerWidget(self)
        self.bundles.set_catalog(session.catalog, session.station.jurisdiction)
        self.questions = QuestionsWidget(self)
        questions_area = QScrollArea(self)
        questions_area.setWidgetResizable(True)
        questions_area.setWidget(self.questions)
        self.preview = QTextBrowser(self)
        self.preview.setAccessibleName(self.tr("办事指南预览：所需材料"))
        self.preview.setPlaceholderText(self.tr("选择一件事后，这里列出所需材料及受理标准。"))
        self.where = QLineEdit(self)
        self.where.setAccessibleName(self.tr("办理地点（打印在办事指南上）"))
        self.where.setText(session.options[STATION_ADDRESS])
        self.where.setPlaceholderText(
            self.tr("{centre}综合受理窗口").format(centre=session.station.centre_name)
        )
        self.save_where = QPushButton(self.tr("设为本站默认"), self)
        self.save_where.setAccessibleName(self.tr("把办理地点设为本站默认"))
        self.save_where.setVisible(may_save_devices(session.actor.role))
        self.save_where.clicked.connect(self.save_address)
        self.status = QLabel(
            self.tr("无需申请人身份证件，不生成受理记录；打印后计入当日咨询数。"), self
        )
        self.status.setObjectName("sectionHint")
        self.status.setWordWrap(True)
        self.print_button = QPushButton(self.tr("打印办事指南(&P)"), self)
        self.print_button.setEnabled(False)
        self.print_button.clicked.connect(self.print_guide)
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = QPushButton(self.tr("关闭"), self)
        buttons.addButton(close, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        # Enter answers a question or picks a bundle here: it must never print or close.
        for button in buttons.buttons():
            if isinstance(button, QPushButton):
                button.setAutoDefault(False)
                button.setDefault(False)
        left = QVBoxLayout()
        left.addWidget(QLabel(self.tr("一件事与事项"), self))
        left.addWidget(self.bundles, 3)
        left.addWidget(QLabel(self.tr("情形问题"), self))
        left.addWidget(questions_area, 3)
        right = QVBoxLayout()
        right.addWidget(QLabel(self.tr("所需材料（一次告知）"), self))
        right.addWidget(self.preview, 1)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(right, 1)
        where_row = QHBoxLayout()
        where_row.addWidget(QLabel(self.tr("办理地点"), self))
        where_row.addWidget(self.where, 1)
        where_row.addWidget(self.save_where)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addLayout(where_row)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.bundles.choice_changed.connect(self._on_bundles_choice_changed)
        self.bundles.choice_confirmed.connect(self._on_bundles_choice_confirmed)
        self.questions.answered.connect(self._on_questions_answered)
        self.resize(1000, 640)
        self.bundles.filter.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ choice and answers

    def _on_bundles_choice_changed(self, bundle_id: str, items: list[str]) -> None:
        if bundle_id != self._bundle_id:
            self._answers = {}
        self._bundle_id, self._items = bundle_id, list(items)
        self._evaluate()

    def _on_bundles_choice_confirmed(self) -> None:
        editor = self.questions.first_unanswered()
        (editor or self.print_button).setFocus(Qt.FocusReason.TabFocusReason)

    def _on_questions_answered(self, question_id: str, value: Any) -> None:
        if value is None:
            self._answers.pop(question_id, None)
        else:
            self._answers[question_id] = value
        self._evaluate()

    def _evaluate(self) -> None:
        """The checklist for the choice and answers: pure and < 1 ms, run here."""
        bundle = self.bundles.bundle
        if bundle is None or not self._items:
            self._show(None, self.tr("请先选择一件事和至少一个事项。"))
            return
        try:
            checklist = engine.evaluate(
                bundle,
                self._items,
                self._answers,
                catalog=self.session.catalog,
                jurisdiction=self.session.station.jurisdiction,
            )
        except DomainError as exc:
            self._show(self.checklist, exc.message)
            return
        self._show(checklist, "")

    def _show(self, checklist: Checklist | None, problem: str) -> None:
        self.checklist = checklist
        bundle = self.bundles.bundle
        if checklist is None:
            self.questions.set_questions((), {}, (), bundle_chosen=bundle is not None)
            self.preview.clear()
        else:
            self.questions.set_questions(checklist.questions, self._answers, checklist.unanswered)
            self.bundles.show_item_states(checklist.items)
            self.preview.setHtml(self._preview_html(checklist))
        if problem:
            self.status.setText(problem)
        self.print_button.setEnabled(checklist is not None and not self._printing)

    def _preview_html(self, checklist: Checklist) -> str:
        e = html.escape
        rows = []
        for n, line in enumerate(checklist.materials, start=1):
            extra = []
            if line.produced_by is not None or line.exemptable:
                extra.append(self.tr("可免提交"))
            if line.tolerable:
                extra.append(self.tr("可容缺"))
            tail = f"（{'，'.join(extra)}）" if extra else ""
            rows.append(
                f"<p><b>{n}. {e(line.name)}</b>{e(tail)}<br/>"
                f"<span style='color:#4b5563'>{e(line.material.acceptance_standard)}</span></p>"
            )
        if checklist.unanswered:
            rows.append(
                "<p style='color:#b45309'>"
                + e(self.tr("还有情形未回答，打印时作为“尚未确认的情形”列出。"))
                + "</p>"
            )
        return "".join(rows)

    def save_address(self) -> None:
        """A supervisor's or administrator's: the address every later guide of this station
        prints (the station setting `station/address`)."""
        settings = self.session.settings if self.session.settings is not None else QSettings()
        store(settings, STATION_ADDRESS, self.where.text().strip())
        settings.sync()
        self.status.setText(self.tr("办理地点已设为本站默认。"))

    # ------------------------------------------------------------------ printing

    def print_guide(self) -> None:
        if self.checklist is None or self._bundle_id is None or self._printing:
            return
        s = self.session
        self._printing = True
        self.print_button.setEnabled(False)
        self.status.setText(self.tr("正在生成办事指南……"))
        bundle, items, answers = self._bundle_id, list(self._items), dict(self._answers)
        where = self.where.text().strip()

        def build() -> tuple[GuideDocument, bytes]:
            doc = s.ctx.consultations.guide(
                s.actor, bundle, items=items, answers=answers, where=where
            )
            return doc, build_guide_pdf(doc, s.paper)  # type: ignore[arg-type]

        s.runner.run_db(build, self._on_built, self._on_failed, guard=self)

    def _on_built(self, built: tuple[GuideDocument, bytes]) -> None:
        s = self.session
        doc, pdf = built
        job = self.tr("{bundle} 办事指南").format(bundle=doc.bundle_name)

        def printed(result: Any) -> None:
            if not result.ok:
                self._done(self.tr("办事指南未能打印：{reason}").format(reason=result.message))
                return
            s.runner.run_db(
                lambda: s.ctx.consultations.record(s.actor, doc),
                lambda _r: self._recorded(doc),
                self._on_failed,
                guard=self,
            )

        s.runner.run_pool(
            lambda: s.printer.print_pdf(pdf, s.printer_name, 1, job_name=job),
            printed,
            self._on_failed,
            guard=self,
        )

    def _recorded(self, doc: GuideDocument) -> None:
        self._done(
            self.tr("办事指南已打印（咨询编号 {reference}），已计入今日咨询。").format(
                reference=doc.reference
            )
        )
        self.guide_printed.emit(doc.reference)

    def _on_failed(self, err: TaskError) -> None:
        self._done(err.message)

    def _done(self, text: str) -> None:
        self._printing = False
        self.status.setText(text)
        self.print_button.setEnabled(self.checklist is not None)
