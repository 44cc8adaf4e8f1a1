"""Putting an OCR'd ID card into the applicant panel: each filled field gets source "ocr" and a
"待核对(识别)" mark (instead of the card's "已核验(读卡)") until the clerk edits it, when it
becomes "typed" like any typed field.

Works through `ApplicantWidget`'s rows (editor, mark) and its field-source map. `install` hooks
a panel once; `sync_marks` puts every row's mark in line with its source (after a stored
applicant is shown). Once the panel has its own `fill_from_ocr` (see the capture report), this
module should shrink to a call of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLineEdit

if TYPE_CHECKING:
    from app.capture.ocr import IdCardReading
    from ui.applicant import ApplicantWidget

OCR_MARK_STYLE = "color: #7a4b00; font-weight: bold;"


def _ocr_mark_text() -> str:
    return QCoreApplication.translate("CaptureOcr", "待核对(识别)")


def _card_mark_text() -> str:
    return QCoreApplication.translate("ApplicantWidget", "已核验(读卡)")


def _sources(panel: ApplicantWidget) -> dict[str, str]:
    return panel._sources


def needs_confirmation(panel: ApplicantWidget, name: str) -> bool:
    """The field came from OCR and the clerk has not touched it since."""
    return _sources(panel).get(name) == "ocr" and not panel.rows[name].mark.isHidden()


def sync_marks(panel: ApplicantWidget) -> None:
    for name, row in panel.rows.items():
        source = _sources(panel).get(name)
        if source == "ocr":
            row.mark.setText(_ocr_mark_text())
            row.mark.setStyleSheet(OCR_MARK_STYLE)
            row.mark.setToolTip(
                QCoreApplication.translate(
                    "CaptureOcr", "此项由身份证照片文字识别得到，请与证件核对；手工修改后标记取消"
                )
            )
            row.mark.show()
        elif row.mark.text() != _card_mark_text():
            row.mark.setText(_card_mark_text())
            row.mark.setStyleSheet("")
            row.mark.setToolTip(
                QCoreApplication.translate(
                    "ApplicantWidget", "此项由身份证读卡器读取；手工修改后标记取消"
                )
            )
            row.mark.setVisible(source == "card")


def install(panel: ApplicantWidget) -> None:
    """Once per panel: an edited OCR field becomes "typed"; marks follow every change."""
    if panel.property("ocrInstalled"):
        return
    panel.setProperty("ocrInstalled", True)
    panel.edited.connect(lambda: sync_marks(panel))
    for name, row in panel.rows.items():

        def edited(*_args: object, n: str = name) -> None:
            if _sources(panel).get(n) == "ocr":
                _sources(panel)[n] = "typed"
                sync_marks(panel)

        editor = row.editor
        if isinstance(editor, QLineEdit):
            editor.textEdited.connect(edited)
        else:
            editor.activated.connect(edited)


def apply_id_card_reading(panel: ApplicantWidget, reading: IdCardReading) -> list[str]:
    """Fill the panel from READING (a person); returns the names of the fields filled."""
    fields = reading.fields
    if not fields:
        return []
    install(panel)
    panel.personal.setChecked(True)
    for name, value in fields.items():
        if name not in panel.rows:
            continue
        if name == "gender":
            panel.gender_combo.setCurrentIndex(max(0, panel.gender_combo.findData(value)))
        else:
            panel.edit(name).setText(value)
        _sources(panel)[name] = "ocr"
    panel._validate_all()
    sync_marks(panel)
    panel.edited.emit()
    panel.edit_finished.emit()
    return list(fields)
