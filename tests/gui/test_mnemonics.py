"""Alt+letter keys (mnemonics, "&X" in a label) are unique on each screen the clerk works on: two
widgets with the same letter make Alt+letter cycle between them instead of acting, as happened
when 代办人代为办理 took the Alt+G of 同意复用（一人一档）."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget

from tests.gui.test_window_intake import answer_questions, choose_newborn, enter_applicant

MNEMONIC = re.compile(r"&([^&\s])")


def mnemonics(root: QWidget) -> dict[str, list[str]]:
    """Letter -> texts of the visible widgets under ROOT that claim it."""
    found: dict[str, list[str]] = defaultdict(list)
    for w in root.findChildren(QWidget):
        if not w.isVisibleTo(root):
            continue
        if isinstance(w, QAbstractButton | QLabel):
            text = w.text()
        elif isinstance(w, QGroupBox):
            text = w.title()
        else:
            continue
        for letter in MNEMONIC.findall(text.replace("&&", "")):
            found[letter.upper()].append(text)
    return found


def clashes(root: QWidget, *more: str) -> dict[str, list[str]]:
    """Letters claimed twice under ROOT, MORE (e.g. the menu bar's titles) counted with them."""
    found = mnemonics(root)
    for text in more:
        for letter in MNEMONIC.findall(text.replace("&&", "")):
            found[letter.upper()].append(text)
    return {k: v for k, v in found.items() if len(v) > 1}


def test_the_check_sees_a_clash(qtbot: Any) -> None:
    from PySide6.QtWidgets import QCheckBox, QVBoxLayout

    box = QWidget()
    qtbot.addWidget(box)
    layout = QVBoxLayout(box)
    layout.addWidget(QCheckBox("同意复用(&G)"))
    layout.addWidget(QCheckBox("代办人代为办理(&G)"))
    layout.addWidget(QCheckBox("读卡(&R)"))
    assert clashes(box) == {"G": ["同意复用(&G)", "代办人代为办理(&G)"]}


def test_the_intake_screen_has_each_alt_letter_once(qtbot: Any, window: Any) -> None:
    window.show()
    menus = [a.text() for a in window.menuBar().actions()]  # Alt+F 受理 … reach the menus
    assert clashes(window.intake, *menus) == {}
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    window.intake.agent_panel.acting.setChecked(True)  # the agent's fields open
    assert clashes(window.intake, *menus) == {}
    assert "代办人代为办理(&L)" in mnemonics(window.intake)["L"]  # the check saw the box


def test_the_supervisor_tab_has_each_alt_letter_once(qtbot: Any, shell: Any) -> None:
    from tests.gui.conftest import login

    window = login(qtbot, shell, "zhangjing", "super1234")
    window.show()
    window.show_supervisor()
    window.supervisor.refresh()
    assert clashes(window.supervisor) == {}
