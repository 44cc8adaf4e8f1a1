"""显示设置: the font scale and the high-contrast scheme, stored per machine and applied."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import login

pytestmark = [
    pytest.mark.gui,
    pytest.mark.expect_log(
        logging.WARNING, "intake.options", r"^ignoring malformed stored setting "
    ),
]


@pytest.fixture
def restored_style(qapp: QApplication) -> Iterator[None]:
    import ui.style as style

    saved = (qapp.font(), qapp.styleSheet(), qapp.palette())
    yield
    style._current = style.DisplayOptions()
    qapp.setFont(saved[0])
    qapp.setStyleSheet(saved[1])
    qapp.setPalette(saved[2])


def _settings(tmp_path: Any) -> QSettings:
    return QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)


def test_stored_options_are_read_and_anything_malformed_is_the_default(tmp_path: Any) -> None:
    from ui.style import DisplayOptions, display_options

    settings = _settings(tmp_path)
    assert display_options(settings) == DisplayOptions(100, False)
    settings.setValue("display/font_scale", 150)
    settings.setValue("display/high_contrast", True)
    assert display_options(settings) == DisplayOptions(150, True)
    settings.setValue("display/font_scale", "200")  # not one of 100 / 125 / 150
    settings.setValue("display/high_contrast", "perhaps")
    assert display_options(settings) == DisplayOptions(100, False)
    settings.setValue("display/font_scale", "big")
    assert display_options(settings).font_scale == 100


def test_the_dialog_saves_and_applies_150_percent_and_high_contrast(
    restored_style: None, qtbot: Any, ctx: Any, printer: Any, reader: Any, tmp_path: Any
) -> None:
    from tests.gui.conftest import running_shell
    from ui.style import DisplayOptions, display_options
    from ui.tasks import InlineTaskRunner

    settings = _settings(tmp_path)
    shells = running_shell(
        qtbot, InlineTaskRunner(), ctx, printer=printer, reader=reader, settings=settings
    )
    shell = next(shells)
    window = login(qtbot, shell)
    dialog = window.show_display_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    dialog.scale.setCurrentIndex(dialog.scale.findData(150))
    dialog.contrast.setChecked(True)
    with qtbot.waitSignal(dialog.changed, timeout=3000):
        dialog._on_buttons_accepted()
    app = QApplication.instance()
    assert app.font().pointSizeF() == pytest.approx(15.0)  # 10 pt × 150 %
    assert "font-size: 21px" in app.styleSheet()  # 14 px × 150 %
    assert "font-size: 39px" in app.styleSheet()  # the big number: 26 px × 150 %
    assert app.palette().color(QPalette.ColorRole.WindowText) == QColor("#000000")
    assert app.palette().color(QPalette.ColorRole.Highlight) == QColor("#000080")
    assert "显示设置已保存" in window.messages.text
    assert display_options(settings) == DisplayOptions(150, True)  # kept for the next start
    for _ in shells:
        pass


# Warnings these tests provoke on purpose (the log-failure fixture fails any other).
