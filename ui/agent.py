"""帮办代办 and 优先办 of the applicant (a group under the situation questions): the agent acting for the applicant (their own ID
checked by the service like the applicant's) and the priority mark (app/agent.py).

Registering or removing the agent changes the checklist (the power of attorney and the agent's
ID card), so the panel hands the new list back to the intake screen. 优先办 is offered by
itself: when the applicant's ID number says 60 or older, the mark is set and the hint says why;
the clerk can change it (disabled applicants are marked by hand).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.agent import RELATIONS, AgentInput, AgentView
from ui.session import ClerkSession
from ui.tasks import TaskError

# (work(sid), on_done, on_error): the intake screen's runner, which creates the draft if needed.
WithSid = Callable[..., None]


class AgentPanelWidget(QWidget):
    """The 帮办代办 / 优先办 section of the applicant panel."""

    checklist_changed = Signal(object)  # Checklist (or None before a bundle is chosen)
    agent_saved = Signal(object)  # AgentView or None

    def __init__(self, session: ClerkSession, with_sid: WithSid, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._with_sid = with_sid
        self._saved: AgentView | None = None
        self._priority_touched = False
        self._loading = False

        self.acting = QCheckBox(self.tr("代办人代为办理(&L)"), self)
        self.acting.setAccessibleName(self.tr("代办人代为办理"))
        self.name = QLineEdit(self)
        self.name.setAccessibleName(self.tr("代办人姓名"))
        self.resident_id = QLineEdit(self)
        self.resident_id.setMaxLength(18)
        self.resident_id.setAccessibleName(self.tr("代办人身份证号码"))
        self.resident_id.setPlaceholderText(self.tr("代办人本人的18位号码"))
        self.phone = QLineEdit(self)
        self.phone.setMaxLength(16)
        self.phone.setAccessibleName(self.tr("代办人联系电话"))
        self.relation = QComboBox(self)
        self.relation.setAccessibleName(self.tr("代办人与申请人关系"))
        for key, label in RELATIONS.items():
            self.relation.addItem(label, key)  # app/agent.py names them
        self.save_button = QPushButton(self.tr("登记代办人"), self)
        self.save_button.setAutoDefault(False)
        self.save_button.setAccessibleName(self.tr("登记代办人"))
        self.problem = QLabel(self)
        self.problem.setObjectName("fieldProblem")
        self.problem.setWordWrap(True)
        self.priority = QComboBox(self)
        self.priority.setAccessibleName(self.tr("优先办"))
        self.priority.addItem(self.tr("不标记"), "")
        self.priority.addItem(self.tr("老年人"), "elderly")  # 60 and over: the hint says so
        self.priority.addItem(self.tr("残疾人"), "disabled")
        self.priority_hint = QLabel(self)
        self.priority_hint.setObjectName("fieldHint")
        self.priority_hint.setWordWrap(True)

        self.fields = QWidget(self)
        form = QFormLayout(self.fields)
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow(self.tr("姓名"), self.name)
        form.addRow(self.tr("身份证号码"), self.resident_id)
        form.addRow(self.tr("联系电话"), self.phone)
        form.addRow(self.tr("关系"), self.relation)
        form.addRow("", self.save_button)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("优先办"), self))
        top.addWidget(self.priority, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.priority_hint)
        layout.addWidget(self.acting)
        # the fields scroll inside the column: at 150 % font the intake screen must fit 768 px
        self.fields_scroll = QScrollArea(self)
        self.fields_scroll.setAccessibleName(self.tr("代办人信息"))
        self.fields_scroll.setWidgetResizable(True)
        self.fields_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.fields_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.fields_scroll.setWidget(self.fields)
        # at least a field and a line of the next (the scroll bar says there is more): the
        # intake screen then fits 768 px at 150 % font
        line = self.fontMetrics().lineSpacing()
        self.fields_scroll.setMinimumHeight(self.name.sizeHint().height() + line)
        layout.addWidget(self.fields_scroll, 1)
        layout.addWidget(self.problem)
        self.problem.hide()
        self.priority_hint.hide()

        self.acting.toggled.connect(self._on_acting_toggled)
        self.save_button.clicked.connect(self.save_agent)
        self.priority.activated.connect(self._on_priority_activated)
        self._on_acting_toggled(False)

    # ------------------------------------------------------------------ state

    def clear(self) -> None:
        self._loading = True
        self._saved = None
        self._priority_touched = False
        self.acting.setChecked(False)
        for edit in (self.name, self.resident_id, self.phone):
            edit.clear()
        self.relation.setCurrentIndex(0)
        self.priority.setCurrentIndex(0)
        _say(self.problem, "")
        _say(self.priority_hint, "")
        self._loading = False

    def load(self, sid: str) -> None:
        """Show the agent and the priority stored with a reopened intake."""
        agents = self.session.ctx.agents

        def shown(result: tuple[AgentView | None, str]) -> None:
            agent, priority = result
            self._loading = True
            self._saved = agent
            self.acting.setChecked(agent is not None)
            if agent is not None:
                self.name.setText(agent.name)
                self.resident_id.setText(agent.resident_id)
                self.phone.setText(agent.phone)
                self.relation.setCurrentIndex(max(0, self.relation.findData(agent.relation)))
            self.priority.setCurrentIndex(max(0, self.priority.findData(priority)))
            self._priority_touched = bool(priority)
            self._loading = False

        self.session.runner.run_db(
            lambda: (agents.agent(sid), agents.priority(sid)), shown, self._failed, guard=self
        )

    def value(self) -> AgentInput:
        return AgentInput(
            name=self.name.text(),
            resident_id=self.resident_id.text().strip(),
            phone=self.phone.text().strip(),
            relation=str(self.relation.currentData()),
        )

    # ------------------------------------------------------------------ actions

    def save_agent(self) -> None:
        self._store(self.value())

    def _store(self, value: AgentInput | None) -> None:
        s = self.session

        def work(sid: str) -> tuple[AgentView | None, Any]:
            saved = s.ctx.agents.set_agent(s.actor, sid, value)
            return saved, _checklist_or_none(s, sid)

        def done(result: tuple[AgentView | None, Any]) -> None:
            self._saved, checklist = result
            _say(
                self.problem,
                self.tr("已登记代办人：材料清单已加入授权委托书和受托人身份证。")
                if self._saved is not None
                else "",
            )
            self.agent_saved.emit(self._saved)
            self.checklist_changed.emit(checklist)

        self._with_sid(work, done, self._failed)

    def _failed(self, err: TaskError) -> None:
        _say(self.problem, err.message)
        field = str(getattr(err.error, "details", {}).get("field", ""))
        target = {
            "agent.resident_id": self.resident_id,
            "agent.phone": self.phone,
            "agent.name": self.name,
        }.get(field)
        if target is not None:
            target.setFocus()

    def _on_acting_toggled(self, on: bool) -> None:
        self.fields_scroll.setVisible(on)  # the clerk sees the agent's fields only when one acts
        if self._loading:
            return
        if on:
            self.name.setFocus()
        elif self._saved is not None:
            self._store(None)  # no agent any more: the papers leave the checklist
        else:
            _say(self.problem, "")

    def _on_priority_activated(self, _index: int) -> None:
        self._priority_touched = True
        self._set_priority(str(self.priority.currentData()))

    def _set_priority(self, priority: str) -> None:
        s = self.session
        self._with_sid(
            lambda sid: s.ctx.agents.set_priority(s.actor, sid, priority), None, self._failed
        )

    def offer_priority(self) -> None:
        """After the applicant was saved: an applicant of 60 or more gets 优先办 offered (set,
        with the reason shown), unless the clerk already chose."""
        if self._priority_touched:
            return
        s = self.session

        def offered(suggestion: str) -> None:
            if self._priority_touched or suggestion != "elderly":
                if not suggestion and self.priority.currentData() == "elderly":
                    self.priority.setCurrentIndex(0)  # the ID number was corrected
                    _say(self.priority_hint, "")
                    self._set_priority("")
                return
            if self.priority.currentData() != "elderly":
                self.priority.setCurrentIndex(self.priority.findData("elderly"))
                self._set_priority("elderly")
            _say(self.priority_hint, self.tr("申请人已满60周岁：已标记为优先办，可更改。"))

        self._with_sid(lambda sid: s.ctx.agents.suggestion(sid), offered, self._failed)


def _say(label: QLabel, text: str) -> None:
    """A message line shown only while it has something to say (the panel stays short)."""
    label.setText(text)
    label.setVisible(bool(text))


def _checklist_or_none(s: ClerkSession, sid: str) -> Any:
    """The list after a change of agent; None while no bundle is chosen yet."""
    if not s.queries.get(sid).bundle_id:
        return None
    return s.intake.checklist(sid)
