"""The intake workspace: one screen, left to right as the clerk works — applicant, bundle and
items, situation questions, the merged checklist — and F12 to finish.

Every edit goes to the intake service at once (typed applicant fields after a short pause or
when the field is left), so a draft survives a crash. The draft is created on the first edit,
not when the screen opens, so an idle screen leaves no empty drafts behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ui.agent import AgentPanelWidget
from ui.applicant import ApplicantWidget
from ui.bundles import BundlePickerWidget
from ui.capture.pages import PageActions, ThumbnailLoader, first_outstanding
from ui.checklist import ChecklistWidget
from ui.deadline import station_time
from ui.finish import FinishWidget
from ui.forms import print_generated_form
from ui.printflow import DocumentPrinter, PrintOutcome
from ui.questions import QuestionsWidget
from ui.rating_screen import RatingBar
from ui.style import px
from ui.tasks import TaskError

if TYPE_CHECKING:
    from app.capture.ocr import IdCardReading
    from app.checklist import Checklist
    from app.intake import FinishResult
    from app.views import ApplicantInput, SubmissionView
    from ui.session import ClerkSession

SAVE_DELAY_MS = 500
EDITABLE_STAGES = ("draft", "notified")


def _group(title: str, inner: QWidget, parent: QWidget) -> QGroupBox:
    box = QGroupBox(title, parent)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 8, 4, 4)
    layout.addWidget(inner)
    return box


class IntakeWidget(QWidget):
    message_posted = Signal(str, str)  # Chinese text, level (info/success/warning/error)
    message_withdrawn = Signal(str)  # a posted text whose cause is fixed: take it down
    intake_finished = Signal(object)  # FinishResult, after its documents went to the printer
    capture_requested = Signal(str, str)  # material id ("": the next one), page id to retake
    pages_changed = Signal(object)  # SubmissionView after a page action in the slot

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.printer = DocumentPrinter(session, guard=self)
        self._sid: str | None = None
        self._gen = 0  # bumped on every new/loaded intake: late results of the old one are dropped
        self._starting = False
        self._after_start: list[Callable[[str], None]] = []
        self._answers: dict[str, Any] = {}
        self._pages: tuple[Any, ...] = ()
        self._stage = "draft"
        self._number: str | None = None
        self._last_saved: ApplicantInput | None = None
        self._finishing = False
        self._problems: dict[str, str] = {}  # cause → the warning/error text posted for it
        self.checklist: Checklist | None = None

        self.applicant = ApplicantWidget(self)
        self.bundles = BundlePickerWidget(self)
        self.questions = QuestionsWidget(self)
        self.materials = ChecklistWidget(self)
        self.bundles.set_catalog(session.catalog, session.station.jurisdiction)

        questions_scroll = QScrollArea(self)
        questions_scroll.setWidgetResizable(True)
        questions_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        questions_scroll.setStyleSheet(
            "QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; }"
        )
        questions_scroll.setWidget(self.questions)

        self.status_label = QLabel(self.tr("新受理：读取身份证或录入申请人信息"), self)
        self.status_label.setObjectName("sectionHint")
        self.finish_button = QPushButton(self.tr("完成受理 F12"), self)
        self.finish_button.setObjectName("finishButton")
        self.finish_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.finish_button.clicked.connect(self.finish)
        self.new_button = QPushButton(self.tr("新建 Ctrl+N"), self)
        self.new_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.new_button.clicked.connect(lambda: self.new_intake())

        # 帮办代办 / 优先办 under the applicant (ui/agent.py)
        self.agent_panel = AgentPanelWidget(session, self._with_sid, self)
        self.agent_panel.checklist_changed.connect(self._on_agent_checklist_changed)
        left = _group(self.tr("① 申请人 Alt+1"), self.applicant, self)
        middle = QWidget(self)
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(_group(self.tr("② 一件事与事项 Alt+2"), self.bundles, self), 3)
        middle_layout.addWidget(_group(self.tr("③ 情形 Alt+3"), questions_scroll, self), 2)
        # the applicant's agent and priority (the applicant column is full on a small screen)
        middle_layout.addWidget(_group(self.tr("帮办代办 · 优先办"), self.agent_panel, self))
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(
            _group(
                self.tr("④ 材料清单 Alt+4（空格切换，1已收 2免提交 3容缺 0缺）"),
                self.materials,
                self,
            ),
            1,
        )
        bar = QHBoxLayout()
        bar.addWidget(self.status_label, 1)
        bar.addWidget(self.new_button)
        bar.addWidget(self.finish_button)
        right_layout.addLayout(bar)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(middle)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 6)
        split.setSizes([px(390), px(300), 700])  # the list takes the rest
        self.workspace = split
        self.result = FinishWidget(self, session.ctx.clock.now)
        self.rating = RatingBar(session, self.result)
        self.result.extras.addWidget(self.rating)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.workspace)
        self.stack.addWidget(self.result)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_applicant_now)
        self.applicant.edited.connect(self._on_applicant_edited)
        self.applicant.edit_finished.connect(self.save_applicant_now)
        self.bundles.choice_changed.connect(self._on_bundles_choice_changed)
        self.bundles.choice_confirmed.connect(self._on_bundles_choice_confirmed)
        self.questions.answered.connect(self._on_questions_answered)
        self.materials.marks_chosen.connect(self._on_materials_marks_chosen)
        self.result.new_intake_requested.connect(self.new_intake)
        self.result.retry_requested.connect(self._on_result_retry_requested)
        self.result.reprint_requested.connect(self._on_result_reprint_requested)
        self.result.form_requested.connect(self._on_result_form_requested)

        from ui.reuse import ReuseController

        self.reuse = ReuseController(self)  # 一人一档
        self._bundle_id: str | None = None
        self.abandon_dialog: Any = None  # the question asked before leaving a draft with content
        self._pending_card: Any = None  # a card read while another applicant was on screen
        self._update_finish_button()

        # captured pages: the checklist's page slot (ui.capture.pages does the work)
        from ui.capture import ocr as capture_ocr

        capture_ocr.install(self.applicant)
        slot = self.materials.pages
        self.thumbs = ThumbnailLoader(session, slot.THUMB, self)
        self._actions: PageActions | None = None
        slot.pages_shown.connect(lambda pages: self.thumbs.load(pages, slot.set_thumbnail))
        slot.capture_requested.connect(lambda material: self.capture_requested.emit(material, ""))
        slot.page_retake_requested.connect(self.capture_requested)
        slot.page_rotate_requested.connect(
            lambda page, degrees: self._page_actions().rotate(page, degrees)
        )
        slot.page_move_requested.connect(lambda page, pos: self._page_actions().move(page, pos))
        slot.page_remove_requested.connect(lambda page: self._page_actions().remove(page))

    # ------------------------------------------------------------------ state

    @property
    def submission_id(self) -> str | None:
        return self._sid

    @property
    def finished(self) -> bool:
        return self.stack.currentWidget() is self.result

    def _post(self, text: str, level: str = "info", cause: str | None = None) -> None:
        """CAUSE names what the clerk must fix; `_resolve(cause)` takes the text down after."""
        if cause is not None:
            self._problems[cause] = text
        self.message_posted.emit(text, level)

    def _resolve(self, *causes: str) -> None:
        for cause in causes or tuple(self._problems):
            text = self._problems.pop(cause, None)
            if text is not None:
                self.message_withdrawn.emit(text)

    def _on_task_failed(self, err: TaskError) -> None:
        self._post(err.message, "error", "task")

    def _with_sid(
        self,
        work: Callable[[str], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[TaskError], None] | None = None,
    ) -> None:
        """Run WORK(submission id) on the store thread, creating the draft first if needed."""
        gen = self._gen
        runner = self.session.runner

        def done(result: Any) -> None:
            if gen == self._gen and on_done is not None:
                on_done(result)

        def failed(err: TaskError) -> None:
            if gen == self._gen:
                (on_error or self._on_task_failed)(err)

        def run(sid: str) -> None:
            runner.run_db(lambda: work(sid), done, failed, guard=self)

        if self._sid is not None:
            run(self._sid)
            return
        self._after_start.append(run)
        if self._starting:
            return
        self._starting = True
        s = self.session

        def started(sid: str) -> None:
            if gen != self._gen:
                return
            self._sid = sid
            self._starting = False
            queued, self._after_start = self._after_start, []
            for job in queued:
                job(sid)

        def start_failed(err: TaskError) -> None:
            if gen == self._gen:
                self._starting = False
                self._after_start.clear()
                self._on_task_failed(err)

        runner.run_db(lambda: s.intake.start(s.actor), started, start_failed, guard=self)

    def _saved(self, _result: Any = None) -> None:
        now = station_time(self.session.ctx.clock.now(), "%H:%M:%S")
        label = self._number or self.tr("草稿")
        self.status_label.setText(
            self.tr("{label} · 已自动保存 {time}").format(label=label, time=now)
        )

    # ------------------------------------------------------------------ new / load

    def draft_has_content(self) -> bool:
        """A draft on screen with something entered (applicant, a bundle, pages)."""
        return (
            self._sid is not None
            and self._stage == "draft"
            and (not self.applicant.is_empty() or self.checklist is not None or bool(self._pages))
        )

    def new_intake(self, *, confirmed: bool = False) -> None:
        """Start a new intake. A draft with content is not left without asking (keep it for
        later, discard it, or go back to it); an empty one is discarded: it is nobody's intake."""
        self.flush()
        if not confirmed and self.draft_has_content():
            self._ask_abandon_draft()
            return
        if self._sid is not None and self._stage == "draft" and not self.draft_has_content():
            self._discard_draft()
        self._start_fresh()

    def _discard_draft(self) -> None:
        s, sid = self.session, self._sid
        assert sid is not None
        s.runner.run_db(
            lambda: s.intake.discard(s.actor, sid),
            lambda _r: None,
            self._on_task_failed,
            guard=self,
        )

    def _ask_abandon_draft(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("当前草稿尚未完成"))
        box.setText(
            self.tr(
                "当前受理尚未完成（未收件，也未出具一次告知通知书）。开始新受理前，如何处理这份草稿？"
            )
        )
        box.setInformativeText(self.tr("保留的草稿可在下次登录时或在“查询与后续”中继续办理。"))
        keep = box.addButton(self.tr("保留草稿，开始新受理"), QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton(
            self.tr("作废草稿，开始新受理"), QMessageBox.ButtonRole.DestructiveRole
        )
        back = box.addButton(self.tr("返回当前受理"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(back)
        box.setEscapeButton(back)
        self.abandon_buttons = {"keep": keep, "discard": discard, "back": back}

        def chosen(button: Any) -> None:
            self.abandon_dialog = None
            if button is keep:
                self._start_fresh()
            elif button is discard:
                self._discard_draft()
                self._start_fresh()

        box.buttonClicked.connect(chosen)
        self.abandon_dialog = box
        box.open()

    def _start_fresh(self) -> None:
        self._resolve()  # the last applicant's problems are not this one's
        self._gen += 1
        self._sid = None
        self._starting = False
        self._after_start = []
        self._answers = {}
        self._pages = ()
        self._stage = "draft"
        self._number = None
        self._last_saved = None
        self._finishing = False
        self.checklist = None
        self.applicant.clear()
        self.agent_panel.clear()
        self.bundles.set_catalog(self.session.catalog, self.session.station.jurisdiction)
        self.bundles.clear()
        self.questions.clear()
        self.materials.set_checklist(None)
        self.materials.set_origins({})
        self.status_label.setText(self.tr("新受理：读取身份证或录入申请人信息"))
        self.stack.setCurrentWidget(self.workspace)
        self._update_finish_button()
        self.applicant.focus_field("resident_id")

    def load(self, sid: str, on_loaded: Callable[[], None] | None = None) -> None:
        """Reopen a draft (or a notified intake the applicant came back to) for editing."""
        self.flush()
        self._resolve()
        self._gen += 1
        gen = self._gen
        s = self.session

        def fetch() -> tuple[SubmissionView, Any, Checklist | None]:
            view = s.queries.get(sid, s.actor)
            catalog = s.ctx.catalogs.get(view.catalog_digest)
            checklist = s.intake.checklist(sid) if view.bundle_id else None
            return view, catalog, checklist

        def loaded(result: tuple[SubmissionView, Any, Checklist | None]) -> None:
            if gen != self._gen:
                return
            view, catalog, checklist = result
            self._show_loaded(view, catalog, checklist)
            if on_loaded:
                on_loaded()

        s.runner.run_db(fetch, loaded, self._on_task_failed, guard=self)

    def _show_loaded(self, view: SubmissionView, catalog: Any, checklist: Checklist | None) -> None:
        self._sid = view.id
        self._starting = False
        self._after_start = []
        self._stage = view.stage
        self._number = view.number
        self._answers = dict(view.answers)
        self._pages = view.pages
        self._finishing = False
        self.applicant.set_applicant(view.applicant)
        self.agent_panel.load(view.id)
        self._last_saved = self.applicant.savable_value()
        self.bundles.set_catalog(catalog, self.session.station.jurisdiction)
        self.bundles.set_choice(view.bundle_id, list(view.items))
        self.stack.setCurrentWidget(self.workspace)
        self._show_checklist(checklist)
        from ui.capture.ocr import sync_marks

        sync_marks(self.applicant)  # fields read by OCR still show as to be confirmed
        self.reuse.refresh()
        if view.stage == "notified":
            text = self.tr("续办 {number}（已一次告知）：补齐材料后按 F12 收件").format(
                number=view.number
            )
        else:
            text = self.tr("已恢复草稿（{time} 创建）").format(
                time=station_time(view.created_at, "%m-%d %H:%M")
            )
        self.status_label.setText(text)
        self._update_finish_button()
        if checklist is not None:
            self.focus_checklist()
        else:
            self.applicant.focus_field("resident_id")

    # ------------------------------------------------------------------ applicant

    def _on_applicant_edited(self) -> None:
        self._save_timer.start()

    def save_applicant_now(self) -> None:
        self._save_timer.stop()
        value = self.applicant.savable_value()
        if value == self._last_saved:
            return
        if self._sid is None and not self._starting and self.applicant.is_empty():
            return
        self._last_saved = value
        s = self.session

        def failed(err: TaskError) -> None:
            self._last_saved = None  # try again with the next edit
            self._post(err.message, "error", "applicant")

        def saved(_result: Any) -> None:
            self._saved()
            if self.applicant.identity_problem() is None:
                self._resolve("applicant")
                self.agent_panel.offer_priority()
            self.reuse.refresh()

        self._with_sid(lambda sid: s.intake.set_applicant(s.actor, sid, value), saved, failed)

    def flush(self) -> None:
        """Send what is typed but not yet saved (before finishing, closing, switching)."""
        if self.stack.currentWidget() is self.workspace:
            self.save_applicant_now()

    def apply_card(self, card: Any) -> bool:
        """An ID card was read: fill the applicant (a new intake after a finished one).

        False when another person's number is already on screen: the card is kept until the
        clerk confirms with `replace_with_pending_card` (an agent's card must not silently
        replace the applicant)."""
        if self.finished:
            self.new_intake()
        current = self.applicant.id_edit.text().strip()
        if current and current.upper() != card.resident_id and self._sid is not None:
            self._pending_card = card
            return False
        self.applicant.fill_from_card(card)
        self.save_applicant_now()
        if not self.applicant.phone_edit.text().strip():
            self.applicant.focus_field("phone")  # the one thing a card cannot give: ask for it
        else:
            self.focus_bundles()
        return True

    def replace_with_pending_card(self) -> None:
        card = self._pending_card
        if card is not None:
            self._pending_card = None
            self.applicant.fill_from_card(card)
            self.save_applicant_now()

    def set_uscc_from_licence(self, uscc: str) -> None:
        if self.finished:
            self.new_intake()
        self.applicant.set_uscc_from_licence(uscc)

    # ------------------------------------------------------------------ bundle, questions, marks

    def _on_bundles_choice_changed(self, bundle_id: str, items: list[str]) -> None:
        if not items:
            self._post(self.tr("请至少选择一个事项。"), "warning", "items")
            return
        bundle = self.bundles.bundle
        if bundle is not None and bundle.kind == "enterprise" and self.applicant.is_empty():
            self.applicant.enterprise.setChecked(True)
        s = self.session
        if bundle_id != self._bundle_id:
            self._answers = {}  # the service drops answers and marks with the old bundle
        self._bundle_id = bundle_id

        def work(sid: str) -> Checklist:
            s.intake.choose(s.actor, sid, bundle_id, items)
            return s.intake.checklist(sid)

        self._with_sid(work, self._on_checklist_loaded)

    def _on_bundles_choice_confirmed(self) -> None:
        if self.checklist is not None and self.checklist.questions:
            self.focus_questions()
        else:
            self.focus_checklist()

    def _on_questions_answered(self, question_id: str, value: Any) -> None:
        s = self.session

        def work(sid: str) -> Checklist:
            s.intake.answer(s.actor, sid, question_id, value)
            return s.intake.checklist(sid)

        def done(checklist: Checklist) -> None:
            if value is None:
                self._answers.pop(question_id, None)
            else:
                question = next((q for q in checklist.questions if q.id == question_id), None)
                self._answers[question_id] = value if question is None else _coerce(question, value)
            self._on_checklist_loaded(checklist)

        def failed(err: TaskError) -> None:
            self._on_task_failed(err)
            self._show_checklist(self.checklist)  # put the widget back to the stored answer

        self._with_sid(work, done, failed)

    def mark_materials(self, marks: dict[str, str | None]) -> None:
        """Marks chosen elsewhere (the capture dialog's 标为已收), as if on the list."""
        self._on_materials_marks_chosen(marks)

    def _on_materials_marks_chosen(self, marks: dict[str, str | None]) -> None:
        s = self.session
        self._with_sid(
            lambda sid: s.intake.mark_many(s.actor, sid, marks), self._on_checklist_loaded
        )

    def _on_agent_checklist_changed(self, checklist: Checklist | None) -> None:
        if checklist is not None:  # the agent's papers joined or left the list
            self._on_checklist_loaded(checklist)

    def _on_checklist_loaded(self, checklist: Checklist) -> None:
        self._show_checklist(checklist)
        self.reuse.refresh()
        self._saved()
        self._resolve("task", "items", "bundle", "finish")  # the service took the change
        if not checklist.unanswered:
            self._resolve("questions")

    def _show_checklist(self, checklist: Checklist | None) -> None:
        self.checklist = checklist
        bundle = self.bundles.bundle
        texts = {q.id: q.text for q in bundle.questions} if bundle else {}
        if checklist is None:
            self.questions.set_questions((), {}, (), bundle_chosen=bundle is not None)
        else:
            self.questions.set_questions(checklist.questions, self._answers, checklist.unanswered)
        self.materials.set_checklist(checklist, self._pages, texts)
        self.bundles.show_item_states(checklist.items if checklist else ())
        self._update_finish_button()

    def _update_finish_button(self) -> None:
        self.finish_button.setEnabled(self.checklist is not None and not self._finishing)
        verdict = self.checklist.verdict if self.checklist else None
        labels = {
            "complete": self.tr("收件并打印回执 F12"),
            "complete_with_tolerance": self.tr("容缺收件：打印承诺书和回执 F12"),
            "incomplete": self.tr("出具一次告知通知书 F12"),
        }
        self.finish_button.setText(labels.get(verdict or "", self.tr("完成受理 F12")))

    # ------------------------------------------------------------------ captured pages

    def capture_target(
        self, material_id: str | None = None
    ) -> tuple[str, Checklist, str | None] | None:
        """(submission id, checklist, material) for a capture, or None before there is a list.
        No material given: the selected one, or after F12 the next paper still without pages."""
        if self._sid is None or self.checklist is None:
            return None
        if not material_id:
            if self.finished:
                material_id = first_outstanding(self.checklist.materials, self._pages)
            else:
                line = self.materials.current_line()
                material_id = line.id if line else None
        return self._sid, self.checklist, material_id

    @property
    def applicant_editable(self) -> bool:
        return not self.finished and self._stage in EDITABLE_STAGES

    @property
    def number(self) -> str | None:
        return self._number

    @property
    def pages(self) -> tuple[Any, ...]:
        return self._pages

    def show_pages(self, view: SubmissionView) -> None:
        """Pages changed (capture dialog or slot): counts, thumbnails, the 2-hour countdown."""
        if view.id != self._sid:
            return
        self._pages = view.pages
        self._stage = view.stage
        self.materials.set_pages(view.pages)
        if self.finished:
            waiting = view.stage == "received" and view.digitised_at is None
            self.result.deadline.set_deadline(view.push_deadline if waiting else None)

    def _page_actions(self) -> PageActions:
        """Page actions for the intake on screen (made again for each intake)."""
        assert self._sid is not None
        actions = self._actions
        if actions is not None and actions.sid == self._sid:
            return actions
        if actions is not None:
            actions.deleteLater()
        sid = self._sid

        def changed(view: SubmissionView) -> None:
            if view.id == self._sid == sid:
                self.show_pages(view)
                self.pages_changed.emit(view)

        self._actions = PageActions(self.session, sid, changed, self._on_task_failed, self)
        return self._actions

    def apply_id_card_reading(self, reading: IdCardReading) -> None:
        """An ID card photo was read by OCR: fill the applicant, every field to be confirmed."""
        from ui.capture.ocr import apply_id_card_reading

        if self.applicant_editable and apply_id_card_reading(self.applicant, reading):
            self.save_applicant_now()

    # ------------------------------------------------------------------ focus

    def focus_section(self, n: int) -> None:
        """Alt+1..4: applicant, bundle, questions, checklist (the window owns the keys)."""
        if self.finished:
            return
        if n == 1:
            self.applicant.focus_field(
                "resident_id" if self.applicant.kind == "personal" else "uscc"
            )
        elif n == 2:
            self.focus_bundles()
        elif n == 3:
            self.focus_questions()
        else:
            self.focus_checklist()

    def focus_bundles(self) -> None:
        self.bundles.filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.bundles.filter.selectAll()

    def focus_questions(self) -> None:
        editor = self.questions.first_unanswered()
        if editor is not None:
            editor.setFocus(Qt.FocusReason.ShortcutFocusReason)
        else:
            self.focus_checklist()

    def focus_checklist(self) -> None:
        self.materials.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ------------------------------------------------------------------ finishing

    def finish(self) -> None:
        """F12: received (receipt), received with tolerance (commitment + receipt), or notified
        (一次告知通知书) — whichever the checklist says."""
        if self._finishing or self.finished:
            return
        if self.checklist is None:
            self._post(self.tr("请先选择一件事和申请的事项。"), "warning", "bundle")
            self.focus_bundles()
            return
        problem = self.applicant.identity_problem()
        if problem is not None:
            field, message = problem
            self._post(
                self.tr("不能完成受理：{problem}").format(problem=message), "error", "applicant"
            )
            self.applicant.focus_field(field)
            return
        self.flush()
        self._finishing = True
        self._update_finish_button()
        s = self.session
        self.status_label.setText(self.tr("正在完成受理……"))
        self._with_sid(
            lambda sid: s.intake.finish(s.actor, sid), self._on_finished, self._on_finish_failed
        )

    def _on_finish_failed(self, err: TaskError) -> None:
        self._finishing = False
        self._update_finish_button()
        field = err.field
        cause = (
            "applicant"
            if field in self.applicant.rows
            else "questions"
            if err.code == "intake.unanswered"
            else "finish"
        )
        self._post(self.tr("不能完成受理：{problem}").format(problem=err.message), "error", cause)
        if field in self.applicant.rows:
            self.applicant.focus_field(field)
        elif err.code == "intake.unanswered":
            self.focus_questions()
        self.status_label.setText(self.tr("未完成：请按提示处理后再按 F12"))

    def _on_finished(self, result: FinishResult) -> None:
        self._resolve()
        self._number = result.number
        self._stage = result.stage
        self.status_label.setText(self.tr("{number}：正在打印文书……").format(number=result.number))
        gen = self._gen

        def printed(outcomes: list[PrintOutcome]) -> None:
            if gen != self._gen:
                return
            self._show_result(result, outcomes)

        self.printer.print_documents(result.submission_id, result.documents, printed)

    def _show_result(self, result: FinishResult, outcomes: list[PrintOutcome]) -> None:
        s = self.session
        gen = self._gen

        def shown(view: SubmissionView | None) -> None:
            if gen != self._gen:
                return
            self._finishing = False
            self.result.show_result(result, outcomes, view)
            self.rating.start(result.submission_id, result.number)
            self.stack.setCurrentWidget(self.result)
            failed = [o for o in outcomes if not o.printed]
            if failed:
                self._post(
                    self.tr("{number} 已保存，但有文书未打印：{problem}").format(
                        number=result.number, problem=failed[0].message
                    ),
                    "error",
                )
            else:
                self._post(
                    self.tr("{number} 已完成，文书已打印。").format(number=result.number), "success"
                )
            self.intake_finished.emit(result)

        s.runner.run_db(
            lambda: s.queries.get(result.submission_id), shown, lambda _e: shown(None), guard=self
        )

    def _on_result_retry_requested(self, outcome: PrintOutcome) -> None:
        def done(o: PrintOutcome) -> None:
            self.result.refresh_outcome(o)
            level = "success" if o.printed else "error"
            self._post(
                self.tr("{title}：{message}").format(title=o.title, message=o.message), level
            )

        self.printer.print_again(outcome, done)

    def _on_result_reprint_requested(self, sid: str) -> None:
        result = self.result.result
        if result is None:
            return

        def done(outcomes: list[PrintOutcome]) -> None:
            texts = "；".join(
                self.tr("{title}：{message}").format(title=o.title, message=o.message)
                for o in outcomes
            )
            self._post(
                self.tr("补打：{details}").format(details=texts),
                "success" if all(o.printed for o in outcomes) else "error",
            )

        self.printer.print_documents(sid, result.documents, done, reprint=True)

    def _on_result_form_requested(self, sid: str, kind: str) -> None:
        print_generated_form(self, sid, kind)


def _coerce(question: Any, value: Any) -> Any:
    from app.checklist import coerce_answer

    try:
        return coerce_answer(question, value)
    except Exception:
        return value
