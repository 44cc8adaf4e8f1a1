"""Keyboard-wedge barcode scans anywhere in the window (an application-level event filter).

The decision "scanner or person" is `app.capture.wedge.WedgeDetector`'s (pure, no Qt). This
filter feeds it every key press that carries text, holds the keys the detector holds, and
re-sends them to the widget they were meant for as soon as the detector says they were typing
(a gap longer than a scanner's, a non-character key, a click). A complete scan is reported with
`scanned`; whoever handles it either consumes it or calls `ScanToken.replay()` to type it into
the field after all (a scanner used as a keyboard).

Chinese input methods (搜狗, fcitx, 微软拼音 in Chinese mode) take keys before any Qt filter sees
them, and only when the focused widget accepts input-method text. So:
- scan targets take no input method at all: `make_scan_target` on fields whose content is ASCII
  (ID number, credit code, phone); tables, lists and buttons take none anyway (Qt enables it
  only in their editors) — there the scanner's keys arrive raw whatever the input method's mode;
- in fields that need Chinese (name, address, search) the filter reads the composition events
  themselves: the preedit's new letters and the full-width commits are folded back to the ASCII
  the scanner sent (`app.capture.wedge.fold_ime_text`) and fed to the same detector with their
  arrival times, and the input method's commit of the raw letters (its answer to Enter) ends
  the burst. Composition at a person's pace is only delayed, never changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QInputMethodEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.capture.wedge import fold_ime_text

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
class _Im:
    """A composition event held back: enough to send it again."""

    preedit: str
    attributes: list[QInputMethodEvent.Attribute]
    commit: str
    replace_from: int
    replace_length: int

    @staticmethod
    def of(event: QInputMethodEvent) -> _Im:
        return _Im(
            event.preeditString(),
            list(event.attributes()),
            event.commitString(),
            event.replacementStart(),
            event.replacementLength(),
        )

    def event(self) -> QInputMethodEvent:
        copy = QInputMethodEvent(self.preedit, self.attributes)
        copy.setCommitString(self.commit, self.replace_from, self.replace_length)
        return copy


@dataclass(frozen=True)
class _Key:
    key: int
    modifiers: Qt.KeyboardModifier
    text: str  # the characters this key (or composition event) gave the detector
    target: QWidget | None
    im: _Im | None = None  # a composition event rather than a key press


_SCAN_TARGET_HINTS = (
    Qt.InputMethodHint.ImhLatinOnly
    | Qt.InputMethodHint.ImhNoPredictiveText
    | Qt.InputMethodHint.ImhNoAutoUppercase
)


def make_scan_target(widget: QWidget) -> None:
    """No input method on WIDGET: a scanner's keys reach it (and the filter) raw, whatever mode
    the clerk's 搜狗/fcitx is in. Only for fields whose content is ASCII."""
    widget.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
    widget.setInputMethodHints(widget.inputMethodHints() | _SCAN_TARGET_HINTS)


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
        self._preedit = ""  # the folded preedit as last seen: the letters composed so far
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
        if etype == QEvent.Type.FocusIn:
            self._preedit = ""  # a composition does not follow the focus
            return False
        if etype == QEvent.Type.MouseButtonPress and self._held:
            # A click: deliver the held keys first so the order of what was typed is kept.
            self.release_held()
            return False
        if etype == QEvent.Type.InputMethod and isinstance(obj, QWidget):
            return self._on_input_method(obj, event)  # type: ignore[arg-type]
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
        return self._feed(_Key(key, key_event.modifiers(), text, obj), [text])

    def _feed(self, current: _Key, texts: list[str]) -> bool:
        """Feed TEXTS (one key's text, or what one composition event added) to the detector;
        True: CURRENT is held or was part of a scan (swallow it)."""
        now = self._now_ms()
        held = False
        for text in texts:
            result = self.detector.feed(text, now)
            release: str = getattr(result, "release", "")
            scan: str | None = getattr(result, "scan", None)
            if release:
                self._replay(self._take(len(release)))
            if scan is not None:
                keys, self._held = self._held, []
                self._timer.stop()
                self._preedit = ""
                self.scanned.emit(ScanToken(scan, [*keys, current], self._replay))
                return True
            if not getattr(result, "consume", False):
                return False
            held = held or (text not in ("", "\r"))
        if held or (current.im is not None and self._held):
            self._held.append(current)  # a composition event adding nothing keeps its place
            self._arm_timer()
        return True  # held, or the LF after a scan's CR

    def _take(self, n_chars: int) -> list[_Key]:
        """The held keys / events that carried the first N_CHARS held characters."""
        taken: list[_Key] = []
        count = 0
        while self._held and (count < n_chars or not self._held[0].text):
            k = self._held.pop(0)
            taken.append(k)
            count += len(k.text)
        return taken

    def _on_input_method(self, obj: QWidget, event: QInputMethodEvent) -> bool:
        """Composition events: what the scanner sent, read back from the preedit and commits."""
        focus = QApplication.focusWidget()
        if focus is not None and obj is not focus:
            return False
        before = self._preedit
        commit = fold_ime_text(event.commitString()) if event.commitString() else ""
        preedit = fold_ime_text(event.preeditString())
        texts: list[str] = []
        if commit is None or preedit is None or (before and commit and commit != before):
            texts = [""]  # Chinese text (converted or typed): no scan; the burst was typing
            preedit = ""
        elif before and commit == before and not preedit:
            texts = ["\r"]  # the raw letters committed: the input method's answer to Enter
        else:
            fresh = "" if commit == before else commit  # raw letters committed: counted already
            base = "" if commit else before
            if not preedit.startswith(base):
                texts, preedit = [""], ""  # a correction (Backspace in the preedit)
            else:
                texts = list(fresh) + list(preedit[len(base) :])
        self._preedit = preedit
        text = "".join(texts).strip("\r")
        current = _Key(0, Qt.KeyboardModifier.NoModifier, text, obj, _Im.of(event))
        if not texts:  # nothing new (attributes only): keep its place behind held keys
            if self._held:
                self._held.append(current)
                return True
            return False
        return self._feed(current, texts)

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
            self._replay(self._take(len(release)))
            if self._held:  # composition events that added nothing, behind the released keys
                self._arm_timer()
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
                if k.im is not None:
                    QApplication.sendEvent(target, k.im.event())
                    continue
                for etype in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                    QApplication.sendEvent(target, QKeyEvent(etype, k.key, k.modifiers, k.text))
        finally:
            self._replaying = False
