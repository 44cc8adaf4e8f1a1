"""Keyboard-wedge barcode scans anywhere in the window (an application-level event filter).

The decision "scanner or person" is `app.capture.wedge.WedgeDetector`'s (pure, no Qt). This
filter feeds it every key press that carries text, holds the keys the detector holds, and
re-sends them to the widget they were meant for as soon as the detector says they were typing
(a gap longer than a scanner's, a non-character key, a click). A complete scan is reported with
`scanned`; whoever handles it either consumes it or calls `ScanToken.replay()` to type it into
the field after all (a scanner used as a keyboard).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

_MODIFIER_KEYS = {
    Qt.Key.Key_Shift,
    Qt.Key.Key_Control,
    Qt.Key.Key_Alt,
    Qt.Key.Key_Meta,
    Qt.Key.Key_AltGr,
    Qt.Key.Key_CapsLock,
    Qt.Key.Key_NumLock,
}
_TERMINATOR_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter}


class Detector(Protocol):
    """What `app.capture.wedge.WedgeDetector` offers (the seam, should it change)."""

    def feed(self, key_text: str, timestamp_ms: float) -> object: ...

    def tick(self, now_ms: float) -> object: ...

    def deadline_ms(self) -> float | None: ...

    def reset(self) -> str: ...


@dataclass(frozen=True)
class _Key:
    key: int
    modifiers: Qt.KeyboardModifier
    text: str
    target: QWidget | None


@dataclass
class ScanToken:
    """A scan as keys: `replay()` types it (and its Enter) into the widget it was aimed at."""

    payload: str
    keys: list[_Key]
    _replay: Callable[[list[_Key]], None] = field(repr=False)

    @property
    def target(self) -> QWidget | None:
        return self.keys[0].target if self.keys else None

    def replay(self) -> None:
        self._replay(self.keys)


def _default_detector() -> Detector:
    from app.capture.wedge import WedgeDetector

    return WedgeDetector()


class WedgeFilter(QObject):
    scanned = Signal(object)  # ScanToken

    def __init__(
        self,
        parent: QObject | None = None,
        detector: Detector | None = None,
        now_ms: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(parent)
        self.detector = detector or _default_detector()
        self._now_ms = now_ms or (lambda: time.monotonic() * 1000.0)
        self._held: list[_Key] = []
        self._replaying = False
        self.enabled = True
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)

    def install(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def uninstall(self) -> None:
        self.release_held()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    @property
    def held_text(self) -> str:
        return "".join(k.text for k in self._held)

    def release_held(self) -> None:
        """Deliver any held keys now (a click, a lock, a test checking a field)."""
        self._timer.stop()
        self.detector.reset()
        keys, self._held = self._held, []
        self._replay(keys)

    # -- the filter

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if self._replaying or not self.enabled:
            return False
        etype = event.type()
        if etype in (QEvent.Type.MouseButtonPress, QEvent.Type.InputMethod) and self._held:
            # A click, or Chinese text committed by the input method: deliver the held keys
            # first so the order of what was typed is kept.
            self.release_held()
            return False
        if etype == QEvent.Type.ShortcutOverride and self._held:
            # A shortcut (F12, Ctrl+N) fires before any KeyPress reaches us: deliver what the
            # clerk typed first, so F12 right after the last digit finishes with that digit.
            override: QKeyEvent = event  # type: ignore[assignment]
            if not self._is_character(override) and override.key() not in _TERMINATOR_KEYS:
                self.release_held()
            return False
        if etype != QEvent.Type.KeyPress or not isinstance(obj, QWidget):
            return False
        focus = QApplication.focusWidget()
        # Unaccepted key events travel up to the parents: look at the first delivery only.
        if (focus is not None and obj is not focus) or (focus is None and not obj.isWindow()):
            return False
        key_event: QKeyEvent = event  # type: ignore[assignment]
        key = key_event.key()
        if key in _MODIFIER_KEYS:
            return False
        if (
            key in _TERMINATOR_KEYS
            and not key_event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ):
            text = "\r"
        elif self._is_character(key_event):
            text = key_event.text()
        else:
            text = ""  # arrows, Tab, F-keys, shortcuts: any burst is over
        current = _Key(key, key_event.modifiers(), text, obj)
        result = self.detector.feed(text, self._now_ms())
        release: str = getattr(result, "release", "")
        scan: str | None = getattr(result, "scan", None)
        consume: bool = getattr(result, "consume", False)
        if release:
            keys, self._held = self._held[: len(release)], self._held[len(release) :]
            self._replay(keys)
        if scan is not None:
            keys, self._held = self._held, []
            self._timer.stop()
            self.scanned.emit(ScanToken(scan, [*keys, current], self._replay))
            return True
        if consume:
            if text and text != "\r":
                self._held.append(current)
                self._arm_timer()
            return True  # held, or the LF after a scan's CR
        return False

    @staticmethod
    def _is_character(event: QKeyEvent) -> bool:
        mods = event.modifiers() & ~(
            Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
        )
        text = event.text()
        return not mods and len(text) == 1 and text.isprintable()

    def _arm_timer(self) -> None:
        deadline = self.detector.deadline_ms()
        if deadline is not None:
            self._timer.start(max(1, int(deadline - self._now_ms()) + 1))

    def _on_timer_timeout(self) -> None:
        result = self.detector.tick(self._now_ms())
        release: str = getattr(result, "release", "")
        if release:
            keys, self._held = self._held[: len(release)], self._held[len(release) :]
            self._replay(keys)
        elif self._held:
            self._arm_timer()

    def _replay(self, keys: list[_Key]) -> None:
        if not keys:
            return
        self._replaying = True
        try:
            for k in keys:
                target = k.target if k.target is not None and shiboken6.isValid(k.target) else None
                target = target or QApplication.focusWidget()
                if target is None:
                    continue
                for etype in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                    QApplication.sendEvent(target, QKeyEvent(etype, k.key, k.modifiers, k.text))
        finally:
            self._replaying = False
