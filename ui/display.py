"""显示设置: font size 100 / 125 / 150 % and the high-contrast scheme (适老化), kept in the
window's settings for this machine. Fonts and colours change at once; the screens are laid out
again for the new size at the next login."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ui.style import FONT_SCALES, DisplayOptions, apply_style, display_options
from ui.style import save_display_options as _save

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings


class DisplayDialog(QDialog):
    changed = Signal(object)  # DisplayOptions, saved and applied

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("显示设置"))
        self._settings = settings
        now = display_options(settings)
        self.scale = QComboBox(self)
        names = {
            100: self.tr("标准（100%）"),
            125: self.tr("较大（125%）"),
            150: self.tr("特大（150%）"),
        }
        for scale in FONT_SCALES:
            self.scale.addItem(names[scale], scale)
        self.scale.setCurrentIndex(FONT_SCALES.index(now.font_scale))
        self.scale.setAccessibleName(self.tr("字体大小"))
        self.contrast = QCheckBox(self.tr("高对比度配色（黑字白底、粗边框）"), self)
        self.contrast.setChecked(now.high_contrast)
        note = QLabel(
            self.tr(
                "字体和配色立即生效；各窗口按新字号重新排列在重新登录后生效（正在办理的受理已自动保存）。"
            ),
            self,
        )
        note.setObjectName("fieldHint")
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.tr("字体大小(&S)"), self.scale)
        form.addRow("", self.contrast)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(self.tr("保存"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("取消"))
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def chosen(self) -> DisplayOptions:
        return DisplayOptions(int(self.scale.currentData()), self.contrast.isChecked())

    def _on_buttons_accepted(self) -> None:
        options = self.chosen()
        _save(options, self._settings)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_style(app, options)
        self.accept()
        self.changed.emit(options)
