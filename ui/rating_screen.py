"""好差评 facing the applicant, after the intake is finished.

With a second monitor facing the applicant, a frameless window opens on it by itself (without
taking the clerk's keyboard focus) with five big buttons and, for a 差评, the reasons. With one
monitor, the clerk presses F9 and turns the keyboard to the applicant: a dialog the applicant
works with the keys alone (5–1 for the level, A–F for the reasons, Enter to submit). The clerk
may record that the applicant declines (未评价), which is not a rating.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.rating_levels import BAD_LEVELS, LEVEL_LABELS, LEVELS, MAX_TEXT, REASONS
from ui.style import px

if TYPE_CHECKING:
    from PySide6.QtGui import QScreen

    from app.ratings import RatingView
    from ui.session import ClerkSession
    from ui.tasks import TaskError

log = logging.getLogger("intake.ui.rating")

S = TypeVar("S")
_SCORE_KEYS = {getattr(Qt.Key, f"Key_{score}"): code for code, _label, score in LEVELS}
_REASON_KEYS = [getattr(Qt.Key, f"Key_{chr(ord('A') + i)}") for i in range(len(REASONS))]
THANKS_MS = 4000  # how long the applicant's screen says thank you before it closes


def applicant_screen(screens: Sequence[S], clerk_screen: S | None) -> S | None:
    """The monitor facing the applicant: with two or more, the first that is not the clerk's
    window's; with one, none (the keyboard dialog is used instead)."""
    if len(screens) < 2:
        return None
    return next((s for s in screens if s is not clerk_screen), None)


class RatingWidget(QWidget):
    """Five levels and the reasons of a 差评; emits what the applicant chose."""

    submitted = Signal(str, object, str)  # level code, tuple of reason codes, free text

    def __init__(self, keyboard: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level: str | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        title = QLabel(self.tr("请您对本次服务作出评价"), self)
        title.setObjectName("pageHeading")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel(self)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        hint.setText(
            self.tr("请按数字键选择：5 非常满意，4 满意，3 基本满意，2 不满意，1 非常不满意")
            if keyboard
            else self.tr("请点击下面的按钮选择")
        )
        self.level_buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for code, label, score in LEVELS:
            button = QPushButton(f"{score}\n{label}", self)
            button.setObjectName("ratingLevel")
            button.setCheckable(True)
            button.setAutoDefault(False)
            button.setMinimumSize(px(120), px(90))
            button.setAccessibleName(label)
            button.clicked.connect(lambda _c=False, c=code: self.choose(c))
            self.level_buttons[code] = button
            row.addWidget(button)
        self.reasons_box = QGroupBox(self.tr("请选择不满意的原因（可多选；键盘按字母选择）"), self)
        grid = QGridLayout(self.reasons_box)
        self.reason_checks: dict[str, QCheckBox] = {}
        for i, (code, label) in enumerate(REASONS):
            check = QCheckBox(f"{chr(ord('A') + i)}  {label}", self.reasons_box)
            self.reason_checks[code] = check
            grid.addWidget(check, i // 3, i % 3)
        self.text = QLineEdit(self.reasons_box)
        self.text.setMaxLength(MAX_TEXT)
        self.text.setPlaceholderText(self.tr("其他原因或具体情况（选“其他”时必填）"))
        self.text.setAccessibleName(self.tr("原因说明"))
        self.text.returnPressed.connect(self.submit)
        grid.addWidget(self.text, 2, 0, 1, 3)
        self.submit_button = QPushButton(self.tr("提交评价（回车）"), self.reasons_box)
        self.submit_button.setAutoDefault(False)
        self.submit_button.clicked.connect(self.submit)
        grid.addWidget(self.submit_button, 3, 2)
        self.reasons_box.hide()
        self.error_label = QLabel(self)
        self.error_label.setObjectName("errorText")
        self.error_label.setWordWrap(True)
        self.thanks = QLabel(self.tr("感谢您的评价！"), self)
        self.thanks.setObjectName("bigNumber")
        self.thanks.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thanks.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addLayout(row)
        layout.addWidget(self.reasons_box)
        layout.addWidget(self.error_label)
        layout.addWidget(self.thanks)
        layout.addStretch(1)

    def reset(self) -> None:
        self.level = None
        for button in self.level_buttons.values():
            button.setChecked(False)
            button.setEnabled(True)
        for check in self.reason_checks.values():
            check.setChecked(False)
        self.text.clear()
        self.reasons_box.hide()
        self.error_label.clear()
        self.thanks.hide()

    def choose(self, level: str) -> None:
        """A level chosen: a 好评 is submitted at once, a 差评 asks for its reasons."""
        self.level = level
        for code, button in self.level_buttons.items():
            button.setChecked(code == level)
        self.error_label.clear()
        if level in BAD_LEVELS:
            self.reasons_box.show()
            self.setFocus()
        else:
            self.reasons_box.hide()
            self.submit()

    def chosen_reasons(self) -> tuple[str, ...]:
        return tuple(code for code, check in self.reason_checks.items() if check.isChecked())

    def submit(self) -> None:
        if self.level is None:
            self.error_label.setText(self.tr("请先选择评价等级。"))
            return
        bad = self.level in BAD_LEVELS
        reasons = self.chosen_reasons() if bad else ()
        self.submitted.emit(self.level, reasons, self.text.text() if bad else "")

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)

    def show_thanks(self) -> None:
        for button in self.level_buttons.values():
            button.setEnabled(False)
        self.reasons_box.hide()
        self.error_label.clear()
        self.thanks.show()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in _SCORE_KEYS and not self.thanks.isVisible():
            self.choose(_SCORE_KEYS[Qt.Key(key)])
        elif self.reasons_box.isVisible() and key in _REASON_KEYS:
            check = list(self.reason_checks.values())[_REASON_KEYS.index(Qt.Key(key))]
            check.setChecked(not check.isChecked())
            if check is self.reason_checks["other"] and check.isChecked():
                self.text.setFocus()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


class ApplicantRatingWindow(QWidget):
    """The frameless window on the monitor facing the applicant."""

    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)  # the clerk keeps typing
        self.setWindowTitle(self.tr("服务评价"))
        self.panel = RatingWidget(keyboard=False, parent=self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(px(48), px(48), px(48), px(48))
        layout.addWidget(self.panel)

    def show_on(self, screen: QScreen) -> None:
        self.panel.reset()
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.show()


class RatingDialog(QDialog):
    """One monitor: the keyboard turned to the applicant. Esc closes it without a rating."""

    def __init__(self, number: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("服务评价 · {number}").format(number=number))
        self.setModal(True)
        self.panel = RatingWidget(keyboard=True, parent=self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.panel.setFocus()


class RatingBar(QFrame):
    """On the finish screen: the rating's state, F9 to ask on this keyboard, and 申请人不评价."""

    rating_recorded = Signal(object)  # RatingView

    def __init__(
        self,
        session: ClerkSession,
        parent: QWidget,
        screens: Callable[[], Sequence[QScreen]] = QGuiApplication.screens,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self._screens = screens
        self.sid: str | None = None
        self.number = ""
        self.view: RatingView | None = None
        self.dialog: RatingDialog | None = None
        self.applicant_window: ApplicantRatingWindow | None = None
        self._gen = 0  # which finished intake the screens are for
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.ask_button = QPushButton(self.tr("请申请人评价（F9）"), self)
        self.ask_button.clicked.connect(self.ask)
        self.decline_button = QPushButton(self.tr("申请人不评价"), self)
        self.decline_button.clicked.connect(self.decline)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.status, 1)
        layout.addWidget(self.ask_button)
        layout.addWidget(self.decline_button)
        shortcut = QShortcut(QKeySequence("F9"), parent)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.ask)

    # -- flow -------------------------------------------------------------------------------

    def start(self, sid: str, number: str) -> None:
        """A new intake was finished: ask for its rating (on the applicant's monitor if any)."""
        self.close_screens()
        self._gen += 1
        self.sid, self.number, self.view = sid, number, None
        self._set_open(True)
        screen = self.applicant_screen()
        if screen is not None:
            self._show_applicant_window(screen)
            self.status.setText(self.tr("好差评：请申请人在评价屏上评价。"))
        else:
            self.status.setText(self.tr("好差评：待评价。按 F9 请申请人用键盘评价。"))

    def applicant_screen(self) -> QScreen | None:
        mine = self.window().screen() if self.window() is not None else None
        return applicant_screen(list(self._screens()), mine)

    def ask(self) -> None:
        if self.sid is None or self.view is not None or not self.isVisible():
            return
        screen = self.applicant_screen()
        if screen is not None:
            self._show_applicant_window(screen)
            return
        self.dialog = RatingDialog(self.number, self.window())
        self.dialog.panel.submitted.connect(self._on_panel_submitted)
        self.dialog.open()

    def decline(self) -> None:
        if self.sid is None or self.view is not None:
            return
        sid = self.sid
        self.session.runner.run_db(
            lambda: self._ratings().decline(self.session.actor, sid),
            self._on_recorded,
            self._on_failed,
            guard=self,
        )

    def close_screens(self) -> None:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog = None
        if self.applicant_window is not None:
            self.applicant_window.hide()

    # -- internals --------------------------------------------------------------------------

    def _ratings(self) -> Any:
        return self.session.ctx.ratings

    def _show_applicant_window(self, screen: QScreen) -> None:
        if self.applicant_window is None:
            self.applicant_window = ApplicantRatingWindow()
            self.applicant_window.panel.submitted.connect(self._on_panel_submitted)
        self.applicant_window.show_on(screen)

    def _on_panel_submitted(self, level: str, reasons: tuple[str, ...], text: str) -> None:
        if self.sid is None:
            return
        sid = self.sid
        self.session.runner.run_db(
            lambda: self._ratings().rate(self.session.actor, sid, level, reasons, text),
            self._on_recorded,
            self._on_failed,
            guard=self,
        )

    def _panel(self) -> RatingWidget | None:
        if self.dialog is not None:
            return self.dialog.panel
        if self.applicant_window is not None and self.applicant_window.isVisible():
            return self.applicant_window.panel
        return None

    def _on_recorded(self, view: RatingView) -> None:
        self.view = view
        self._set_open(False)
        label = LEVEL_LABELS[view.level] if view.level else self.tr("未评价")
        text = self.tr("好差评：{level}").format(level=label)
        if view.followup_due is not None:
            text += self.tr("（差评，已生成整改，须于 {due} 前办结）").format(
                due=view.followup_due.isoformat()
            )
        self.status.setText(text)
        panel = self._panel()
        if panel is not None and view.level is not None:
            panel.show_thanks()
            gen = self._gen  # the next intake's rating screen is not closed by this one's timer
            QTimer.singleShot(THANKS_MS, self, lambda: self._close_if_still(gen))
        else:
            self.close_screens()
        self.rating_recorded.emit(view)

    def _close_if_still(self, gen: int) -> None:
        if gen == self._gen:
            self.close_screens()

    def _on_failed(self, err: TaskError) -> None:
        panel = self._panel()
        if panel is not None and err.code != "rating.duplicate":
            panel.show_error(err.message)  # the applicant corrects and submits again
            return
        self.close_screens()
        self.status.setText(err.message)
        if err.code == "rating.duplicate":
            self._set_open(False)

    def _set_open(self, open_: bool) -> None:
        self.ask_button.setEnabled(open_)
        self.decline_button.setEnabled(open_)
