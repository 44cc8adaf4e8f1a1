"""Alt+letter on the intake screen: each letter reaches one control. Two controls with the same
letter make Qt cycle focus between them instead of acting (Alt+G stopped withdrawing the
applicant's consent when 代办人代为办理 took G too)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel

from tests.gui.conftest import login

pytestmark = pytest.mark.gui
MNEMONIC = re.compile(r"&([A-Za-z0-9])")


def test_no_two_controls_of_the_intake_screen_share_an_alt_letter(qtbot: Any, shell: Any) -> None:
    window = login(qtbot, shell)
    owners: dict[str, list[str]] = defaultdict(list)
    widgets = [*window.intake.findChildren(QAbstractButton), *window.intake.findChildren(QLabel)]
    texts = [w.text() for w in widgets] + [a.text() for a in window.menuBar().actions()]
    for text in texts:
        for letter in MNEMONIC.findall(text.replace("&&", "")):
            owners[letter.upper()].append(text)
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert shared == {}
    assert "代办人代为办理(&L)" in owners["L"] and "G" in owners  # the letters were seen
