"""Application look: a CJK font that covers the counter's names, a light stylesheet, and the
display options a counter can set for older or low-vision clerks and applicants (适老化): font
scale 100 / 125 / 150 % and a high-contrast scheme.

Every pixel size in the window's stylesheets goes through `px`, so a scale changes them all; the
application font carries the scale to every widget without a stylesheet size."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from app.options import FONT_SCALE, HIGH_CONTRAST, Options, resolve

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

# Tried in order; fontconfig substitutes per character for anything a family lacks
# (HanaMin covers rare name characters such as 𠮷 in CJK Extension B).
FONT_FAMILIES = [
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "HanaMinA",
    "HanaMinB",
]

FONT_SCALES = (100, 125, 150)
BASE_POINT_SIZE = 10

# The station settings keys of the two options, as the options schema declares them.
FONT_SCALE_KEY = str(FONT_SCALE.setting)
HIGH_CONTRAST_KEY = str(HIGH_CONTRAST.setting)


class DisplayOptions(NamedTuple):
    font_scale: int = 100  # one of FONT_SCALES
    high_contrast: bool = False


_current = DisplayOptions()


def current() -> DisplayOptions:
    return _current


def px(size: float) -> int:
    """SIZE pixels at 100 %, at the current font scale."""
    return round(size * _current.font_scale / 100)


def display_options(
    settings: QSettings | None = None, given: Options | None = None
) -> DisplayOptions:
    """The display options: flags GIVEN on the command line over the environment over the
    station settings (app.options); anything malformed reads as the default."""
    if settings is None:
        from PySide6.QtCore import QSettings

        settings = QSettings()
    resolved = resolve(given.values if given is not None else {}, os.environ, settings)
    scale = resolved[FONT_SCALE]
    return DisplayOptions(scale if scale in FONT_SCALES else 100, bool(resolved[HIGH_CONTRAST]))


def save_display_options(options: DisplayOptions, settings: QSettings | None = None) -> None:
    if settings is None:
        from PySide6.QtCore import QSettings

        settings = QSettings()
    settings.setValue(FONT_SCALE_KEY, options.font_scale)
    settings.setValue(HIGH_CONTRAST_KEY, options.high_contrast)


def stylesheet(options: DisplayOptions) -> str:
    s = options.font_scale / 100

    def p(size: float) -> str:
        return f"{round(size * s)}px"

    rules = f"""
QWidget {{ font-size: {p(14)}; }}
QGroupBox {{
    font-weight: bold; border: 1px solid #c8ccd2; border-radius: 4px;
    margin-top: {p(12)}; padding-top: {p(6)};
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #2a3f5f; }}
QLineEdit[invalid="true"] {{ border: 2px solid #c0392b; background: #fff6f5; }}
QLabel#fieldProblem {{ color: #b03a2e; font-size: {p(12)}; }}
QLabel#fieldHint {{ color: #6b7280; font-size: {p(12)}; }}
QLabel#verifiedMark {{
    color: #1e7e34; background: #e6f4ea; border: 1px solid #95c9a3; border-radius: 3px;
    padding: 0 4px; font-size: {p(12)};
}}
QLabel#sectionHint {{ color: #6b7280; font-size: {p(12)}; }}
QPushButton#finishButton {{
    font-size: {p(16)}; font-weight: bold; padding: {p(8)} {p(18)};
    background: #1f5fae; color: white; border-radius: 4px;
}}
QPushButton#finishButton:disabled {{ background: #9aa7b8; }}
QLabel#bigNumber {{ font-size: {p(26)}; font-weight: bold; color: #1f3b66; }}
QLabel#loginTitle {{ font-size: {p(22)}; font-weight: bold; color: #1f3b66; }}
QLabel#pageHeading {{ font-size: {p(18)}; font-weight: bold; }}
QLabel#stateHeading, QLabel#syncSummary {{ font-size: {p(16)}; font-weight: bold; }}
QLabel#stateHeading {{ color: #1a4a8a; }}
QLabel#verdictSummary {{ font-size: {p(15)}; font-weight: bold; }}
QTableView {{
    gridline-color: #dde1e6; selection-background-color: #cfe3ff; selection-color: #111;
}}
QHeaderView::section {{
    background: #f1f3f6; padding: 4px; border: none; border-bottom: 1px solid #c8ccd2;
}}
"""
    if options.high_contrast:
        # Black on white, no grey text, strong frames and a focus ring a clerk finds at a glance.
        rules += """
QWidget { color: #000000; }
QLabel#fieldHint, QLabel#sectionHint, QGroupBox::title, QLabel#bigNumber, QLabel#loginTitle,
QLabel#stateHeading { color: #000000; }
QLabel#fieldProblem { color: #8b0000; font-weight: bold; }
QGroupBox { border: 2px solid #000000; }
QLineEdit, QComboBox, QSpinBox, QDateEdit, QPlainTextEdit, QTextEdit {
    border: 2px solid #000000; background: #ffffff; color: #000000;
}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus, QDateEdit:focus, QPlainTextEdit:focus,
QTextEdit:focus, QPushButton:focus, QListView:focus, QTableView:focus, QTreeView:focus {
    border: 3px solid #0000cc;
}
QPushButton { border: 2px solid #000000; background: #ffffff; color: #000000; padding: 4px 10px; }
QPushButton:disabled { border: 2px dashed #555555; color: #555555; }
QPushButton#finishButton { background: #000080; color: #ffffff; border: 2px solid #000000; }
QPushButton#finishButton:disabled { background: #555555; color: #ffffff; }
QTableView, QListView, QTreeView {
    border: 2px solid #000000; gridline-color: #000000;
    selection-background-color: #000080; selection-color: #ffffff;
}
QHeaderView::section {
    background: #ffffff; color: #000000; font-weight: bold; border: 1px solid #000000;
}
"""
    return rules


def _palette(high_contrast: bool) -> QPalette:
    palette = QPalette()
    if not high_contrast:
        return palette
    black, white = QColor("#000000"), QColor("#ffffff")
    for role, colour in (
        (QPalette.ColorRole.Window, white),
        (QPalette.ColorRole.WindowText, black),
        (QPalette.ColorRole.Base, white),
        (QPalette.ColorRole.AlternateBase, QColor("#eeeeee")),
        (QPalette.ColorRole.Text, black),
        (QPalette.ColorRole.Button, white),
        (QPalette.ColorRole.ButtonText, black),
        (QPalette.ColorRole.ToolTipBase, white),
        (QPalette.ColorRole.ToolTipText, black),
        (QPalette.ColorRole.PlaceholderText, QColor("#333333")),
        (QPalette.ColorRole.Highlight, QColor("#000080")),
        (QPalette.ColorRole.HighlightedText, white),
        (QPalette.ColorRole.Link, QColor("#0000cc")),
    ):
        palette.setColor(role, colour)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#555555"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#555555"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#555555"))
    return palette


def apply_style(app: QApplication, options: DisplayOptions | None = None) -> None:
    """The look for OPTIONS (default: 100 %, normal colours); again at run time when the clerk
    changes them (ui.display)."""
    global _current
    options = options or DisplayOptions()
    _current = options
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPointSizeF(BASE_POINT_SIZE * options.font_scale / 100)
    app.setFont(font)
    app.setPalette(_palette(options.high_contrast))
    app.setStyleSheet(stylesheet(options))
