"""Barcode scanners under a Chinese input method (搜狗 / fcitx in Chinese mode).

`ChineseIme` plays the input method: it takes the keys before the window does and answers with
composition events, as those input methods do in Chinese mode with full-width forms on —
lower-case letters are composed in the preedit (ｓｈｏｕ), Enter commits the raw letters,
Space or a digit converts them into Chinese; upper-case letters, digits and punctuation typed
outside a composition are committed as full-width forms or Chinese punctuation (ＸＸ０１－…、).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.numbering import encode_receipt_payload

NUMBER = "XX01-241202-0073-6"  # a valid intake number (check character 6)

_PUNCTUATION = {"/": "、", ".": "。", ":": "：", "|": "｜", "-": "－", "=": "＝", "?": "？"}
_CANDIDATES = {"zhang": "张", "san": "三", "shou": "收"}  # the first candidate of each syllable


def _full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


class ChineseIme:
    """The input method in Chinese mode, in front of WIDGET."""

    def __init__(self, qtbot: Any, widget: QWidget) -> None:
        self.qtbot = qtbot
        self.widget = widget
        self.preedit = ""  # the raw letters being composed

    def _send(self, preedit: str = "", commit: str = "") -> None:
        event = QInputMethodEvent(preedit, [])
        if commit:
            event.setCommitString(commit)
        QApplication.sendEvent(self.widget, event)

    def key(self, ch: str) -> None:
        if ch == "\r":
            if self.preedit:  # Enter commits the letters as typed
                raw, self.preedit = self.preedit, ""
                self._send(commit="".join(_full_width(c) for c in raw))
            else:  # nothing composed: the key goes through
                self.qtbot.keyClick(self.widget, Qt.Key.Key_Return)
        elif ch.islower():
            self.preedit += ch
            self._send(preedit="".join(_full_width(c) for c in self.preedit))
        elif self.preedit and (ch == " " or ch.isdigit()):  # choose a candidate
            syllable, self.preedit = self.preedit, ""
            self._send(commit=_CANDIDATES.get(syllable, "？"))
        else:
            self._send(commit=_PUNCTUATION.get(ch, _full_width(ch)))

    def type(self, text: str, gap_ms: int = 0) -> None:
        for ch in text:
            self.key(ch)
            if gap_ms:
                self.qtbot.wait(gap_ms)


def _record_opened(window: Any, monkeypatch: Any) -> list[str]:
    opened: list[str] = []
    monkeypatch.setattr(window, "open_by_number", opened.append)
    return opened


def test_a_receipt_scanned_through_the_chinese_input_method_arrives_intact(
    qtbot: Any, window: Any, monkeypatch: Any
) -> None:
    number = NUMBER
    # the token of the receipt QR; its last part is composed by the input method as ｓｈｏｕ
    payload = encode_receipt_payload(number) + "|shou"
    opened = _record_opened(window, monkeypatch)
    name = window.intake.applicant.name_edit  # a field that takes Chinese: input method on
    name.setFocus()
    assert name.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)

    ChineseIme(qtbot, name).type(payload + "\r")  # at scanner speed

    assert opened == [number]
    assert name.text() == ""  # nothing of the scan landed in the name field


def test_the_bare_number_of_the_code128_scanned_in_chinese_mode_opens_the_intake(
    qtbot: Any, window: Any, monkeypatch: Any
) -> None:
    number = NUMBER
    opened = _record_opened(window, monkeypatch)
    address = window.intake.applicant.edit("address")
    address.setFocus()
    ChineseIme(qtbot, address).type(number + "\r")  # ＸＸ０１－… committed key by key
    assert opened == [number]
    assert address.text() == ""


def test_a_person_typing_pinyin_in_the_name_field_gets_chinese_text(
    qtbot: Any, window: Any, monkeypatch: Any
) -> None:
    opened = _record_opened(window, monkeypatch)
    name = window.intake.applicant.name_edit
    name.setFocus()
    ime = ChineseIme(qtbot, name)
    ime.type("zhang ", gap_ms=120)  # a person's pace; Space takes 张
    ime.type("san1", gap_ms=120)  # "1" takes the first candidate
    window.wedge.release_held()
    assert name.text() == "张三"
    assert opened == []


def test_a_person_committing_letters_with_enter_keeps_them(qtbot: Any, window: Any) -> None:
    address = window.intake.applicant.edit("address")
    address.setFocus()
    ChineseIme(qtbot, address).type("shou\r", gap_ms=120)  # raw letters, as a person might
    window.wedge.release_held()
    assert address.text() == "ｓｈｏｕ"  # what the input method committed, untouched


def test_scan_targets_take_no_input_method_and_chinese_fields_keep_it(window: Any) -> None:
    applicant = window.intake.applicant
    for field in (applicant.id_edit, applicant.uscc_edit, applicant.phone_edit):
        assert not field.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)
        assert field.inputMethodHints() & Qt.InputMethodHint.ImhLatinOnly
    for field in (applicant.name_edit, applicant.edit("address"), window.search.query):
        assert field.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)
    # where the focus rests between fields, the input method is off already (Qt's default)
    assert not window.intake.materials.table.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)
