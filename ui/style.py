"""Application look: a CJK font that covers the counter's names, and a light stylesheet."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

# Tried in order; fontconfig substitutes per character for anything a family lacks
# (HanaMin covers rare name characters such as 𠮷 in CJK Extension B).
FONT_FAMILIES = [
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "HanaMinA",
    "HanaMinB",
]

STYLESHEET = """
QWidget { font-size: 14px; }
QGroupBox { font-weight: bold; border: 1px solid #c8ccd2; border-radius: 4px; margin-top: 12px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #2a3f5f; }
QLineEdit[invalid="true"] { border: 2px solid #c0392b; background: #fff6f5; }
QLabel#fieldProblem { color: #b03a2e; font-size: 12px; }
QLabel#fieldHint { color: #6b7280; font-size: 12px; }
QLabel#verifiedMark { color: #1e7e34; background: #e6f4ea; border: 1px solid #95c9a3; border-radius: 3px; padding: 0 4px; font-size: 12px; }
QLabel#sectionHint { color: #6b7280; font-size: 12px; }
QPushButton#finishButton { font-size: 16px; font-weight: bold; padding: 8px 18px; background: #1f5fae; color: white; border-radius: 4px; }
QPushButton#finishButton:disabled { background: #9aa7b8; }
QLabel#bigNumber { font-size: 26px; font-weight: bold; color: #1f3b66; }
QTableView { gridline-color: #dde1e6; selection-background-color: #cfe3ff; selection-color: #111; }
QHeaderView::section { background: #f1f3f6; padding: 4px; border: none; border-bottom: 1px solid #c8ccd2; }
"""


def apply_style(app: QApplication) -> None:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPointSize(10)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)
