"""Situation questions for the chosen items: only those whose answer changes the list
(Checklist.questions), as yes/no, number or choice widgets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.catalog import Question


class QuestionsWidget(QWidget):
    answered = Signal(str, object)  # question id, value (None: answer cleared)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ids: tuple[str, ...] = ()
        self._editors: dict[str, QComboBox | QLineEdit] = {}
        self._labels: dict[str, QLabel] = {}
        self._questions: dict[str, Question] = {}
        self._loading = False
        self._sent: dict[str, object] = {}  # last answer sent per question (focus-out repeats)
        self.empty_label = QLabel(
            self.tr("先选择一件事和事项；需要回答的情形问题会显示在这里。"), self
        )
        self.empty_label.setObjectName("sectionHint")
        self.empty_label.setWordWrap(True)
        self.form_host = QWidget(self)
        # Each question's text above its answer. Not a QFormLayout: it keeps a wrapped label
        # at its preferred width, wider than the column at a large font, and so cut it off.
        self.form = QVBoxLayout(self.form_host)
        self.form.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.form_host)
        layout.addStretch(1)

    def editor(self, question_id: str) -> QComboBox | QLineEdit:
        return self._editors[question_id]

    def first_unanswered(self) -> QWidget | None:
        for qid in self._ids:
            label = self._labels[qid]
            if label.property("pending"):
                return self._editors[qid]
        return self._editors[self._ids[0]] if self._ids else None

    def clear(self) -> None:
        self.set_questions((), {}, (), bundle_chosen=False)

    def set_questions(
        self,
        questions: tuple[Question, ...],
        answers: Mapping[str, Any],
        unanswered: tuple[str, ...],
        *,
        bundle_chosen: bool = True,
    ) -> None:
        ids = tuple(q.id for q in questions)
        self._loading = True
        try:
            if ids != self._ids:
                self._rebuild(questions)
            for q in questions:
                self._show_value(q, answers.get(q.id))
                editor = self._editors[q.id]
                self._sent[q.id] = (
                    editor.currentData()
                    if isinstance(editor, QComboBox)
                    else (editor.text().strip() or None)
                )
                label = self._labels[q.id]
                pending = q.id in unanswered
                label.setProperty("pending", pending)
                text = self.tr("{text}（待回答）").format(text=q.text) if pending else q.text
                label.setText(text)
                label.setStyleSheet("color: #b45309; font-weight: bold;" if pending else "")
        finally:
            self._loading = False
        if not questions:
            self.empty_label.setText(
                self.tr("所选事项无需回答情形问题。")
                if bundle_chosen
                else self.tr("先选择一件事和事项；需要回答的情形问题会显示在这里。")
            )
        self.empty_label.setVisible(not questions)

    def _rebuild(self, questions: tuple[Question, ...]) -> None:
        while self.form.count():
            old = self.form.takeAt(0).widget()
            if old is not None:
                old.hide()
                old.deleteLater()
        self._editors.clear()
        self._labels.clear()
        self._questions = {q.id: q for q in questions}
        self._ids = tuple(q.id for q in questions)
        for q in questions:
            label = QLabel(q.text, self.form_host)
            label.setWordWrap(True)
            editor: QComboBox | QLineEdit
            if q.type == "number":
                editor = QLineEdit(self.form_host)
                validator = QDoubleValidator(editor)
                if q.min is not None:
                    validator.setBottom(q.min)
                if q.max is not None:
                    validator.setTop(q.max)
                editor.setValidator(validator)
                editor.setPlaceholderText(self.tr("填写数字"))
                editor.editingFinished.connect(
                    lambda qid=q.id: self._on_number_editing_finished(qid)
                )
                field: QWidget = editor
                if q.unit:
                    field = QWidget(self.form_host)
                    row = QHBoxLayout(field)
                    row.setContentsMargins(0, 0, 0, 0)
                    row.addWidget(editor, 1)
                    row.addWidget(QLabel(q.unit, field))
            else:
                editor = QComboBox(self.form_host)
                # As narrow as the column: the popup shows every choice in full.
                editor.setSizeAdjustPolicy(
                    QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
                )
                editor.setMinimumContentsLength(6)
                editor.addItem(self.tr("（请选择）"), None)
                if q.type == "bool":
                    editor.addItem(self.tr("是"), True)
                    editor.addItem(self.tr("否"), False)
                else:
                    for value, text in q.choices:
                        editor.addItem(text, value)
                editor.currentIndexChanged.connect(
                    lambda _i, qid=q.id: self._on_combo_index_changed(qid)
                )
                field = editor
            editor.setObjectName(f"question_{q.id}")
            if q.help:
                editor.setToolTip(q.help)
                label.setToolTip(q.help)
            label.setBuddy(editor)
            if self.form.count():
                self.form.addSpacing(label.fontMetrics().height() // 2)
            self.form.addWidget(label)
            self.form.addWidget(field)
            # The layout shows new children only on the next event-loop turn; the clerk may
            # press Enter before that, and focus cannot go to a hidden editor.
            label.show()
            field.show()
            self._editors[q.id] = editor
            self._labels[q.id] = label

    def _show_value(self, q: Question, value: Any) -> None:
        editor = self._editors[q.id]
        if isinstance(editor, QComboBox):
            index = 0 if value is None else editor.findData(value)
            if editor.currentIndex() != max(0, index):
                editor.setCurrentIndex(max(0, index))
        elif not editor.hasFocus():
            text = (
                ""
                if value is None
                else (str(int(value)) if float(value).is_integer() else str(value))
            )
            editor.setText(text)

    def _on_combo_index_changed(self, qid: str) -> None:
        if self._loading:
            return
        editor = self._editors[qid]
        assert isinstance(editor, QComboBox)
        self._emit(qid, editor.currentData())

    def _on_number_editing_finished(self, qid: str) -> None:
        if self._loading:
            return
        editor = self._editors[qid]
        text = editor.text().strip() if isinstance(editor, QLineEdit) else ""
        self._emit(qid, text or None)

    def _emit(self, qid: str, value: object) -> None:
        if qid in self._sent and self._sent[qid] == value:
            return
        self._sent[qid] = value
        self.answered.emit(qid, value)
