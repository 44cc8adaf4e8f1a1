"""The window with a vendor-SDK reader (the compiled fake library): 读卡 button and F2, every
card type in the applicant panel, the card photo beside the fields and never on paper."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.fakes.cards import BLOCKS
from tests.gui.conftest import press, type_into
from tests.gui.test_window_intake import answer_questions, choose_newborn, mark_by_keys

pytestmark = pytest.mark.gui

WLT = bytes((i * 7 + 3) % 256 for i in range(1024))


@pytest.fixture
def reader(fake_vendor_libs: Any, fake_reader: Any) -> Any:
    """Overrides the simulated reader of tests/gui/conftest.py for this module's windows."""
    from app.capture.idcard_sdk import make_sdk_reader

    return make_sdk_reader(
        "sdt", fake_vendor_libs.reader, 1001, wlt_library=fake_vendor_libs.wlt, timeout=3.0
    )


def test_read_card_button_and_f2_fill_the_applicant(
    qtbot: Any, window: Any, fake_reader: Any
) -> None:
    panel = window.intake.applicant
    assert panel.read_card_button.text() == "读卡 F2"
    fake_reader.place(BLOCKS["resident"], WLT)
    qtbot.mouseClick(panel.read_card_button, Qt.MouseButton.LeftButton)
    assert panel.name_edit.text() == "陈晓燕" and panel.verified("resident_id")
    assert panel.id_edit.text() == "110105198603151529"

    # The card stays on the reader; the clerk overtypes the name, then F2 reads it again.
    type_into(qtbot, window, panel.name_edit, "某某")
    assert not panel.verified("name")
    press(qtbot, window, panel.phone_edit, Qt.Key.Key_F2)
    assert panel.name_edit.text() == "陈晓燕" and panel.verified("name")


def test_foreign_card_shows_its_own_fields_and_number_label(
    qtbot: Any, window: Any, fake_reader: Any
) -> None:
    panel = window.intake.applicant
    fake_reader.place(BLOCKS["foreign_2017"], WLT)
    window.read_card_now()
    assert panel.name_edit.text() == "史密斯"
    assert panel.id_edit.text() == "USA118507040012"
    assert panel.rows["resident_id"].label.text() == "证件号码(&I)"
    assert panel.problem_text("resident_id") == ""  # a valid 15-character 2017 number
    assert panel.problems() == {}  # birth date and gender are not checked against it
    assert panel.value().document_type == "foreign_2017"
    info = panel.card_info.text()
    assert "外国人永久居留身份证" in info
    assert "英文姓名 SMITH, JOHN ALEXANDER" in info and "国籍 美国" in info
    assert "族" not in info

    fake_reader.remove()
    fake_reader.place(BLOCKS["hmt_residence"], WLT)
    window.new_intake()
    window.intake.abandon_buttons["discard"].click()
    window.read_card_now()
    info = panel.card_info.text()
    assert "港澳台居民居住证" in info and "通行证号码 H12345678" in info
    assert panel.id_edit.text() == "810000199001011230"


def test_card_photo_is_shown_beside_the_fields_and_cleared_with_the_applicant(
    qtbot: Any, window: Any, fake_reader: Any
) -> None:
    panel = window.intake.applicant
    fake_reader.place(BLOCKS["foreign_2023"], WLT)
    window.read_card_now()
    assert panel.has_photo()
    image = panel.photo.pixmap().toImage()
    assert (image.width(), image.height()) == (102, 126)
    # The fake decoder draws B = WLT[(y*102+x) % 1024], G = x, R = y.
    for x, y in ((0, 0), (50, 60), (101, 125)):
        color = image.pixelColor(x, y)
        assert (color.red(), color.green(), color.blue()) == (y, x, WLT[(y * 102 + x) % 1024])
    window.new_intake()
    window.intake.abandon_buttons["keep"].click()
    assert not panel.has_photo() and panel.photo.isHidden()
    assert panel.name_edit.text() == ""


def test_no_reader_configured_says_so_on_f2(qtbot: Any, window: Any) -> None:
    window._watcher = None  # a station without a reader
    window.read_card_now()
    assert "未配置身份证阅读器" in window.messages.text


def test_card_photo_is_never_printed(
    qtbot: Any, window: Any, fake_reader: Any, printer: Any
) -> None:
    from pypdf import PdfReader

    fake_reader.place(BLOCKS["resident"], WLT)
    window.read_card_now()
    panel = window.intake.applicant
    assert panel.has_photo()
    type_into(qtbot, window, panel.phone_edit, "13812345678")
    choose_newborn(qtbot, window, drop_vaccination=False)
    answer_questions(qtbot, window, married=False, agent=True)
    mark_by_keys(qtbot, window, {"household_register": Qt.Key.Key_0})
    press(qtbot, window, window.intake.materials.table, Qt.Key.Key_F12)
    assert printer.jobs, "nothing was printed"
    for _name, pdf in printer.jobs:
        for page in PdfReader(io.BytesIO(pdf)).pages:
            for image in page.images:
                size = image.image.size if image.image is not None else None
                assert size != (102, 126), "the card photo was printed"


def test_a_reopened_draft_keeps_its_document_type(qtbot: Any) -> None:
    from app.views import ApplicantView
    from ui.applicant import ApplicantWidget

    panel = ApplicantWidget()
    qtbot.addWidget(panel)
    panel.set_applicant(
        ApplicantView(
            id=1, kind="personal", name="史密斯", resident_id="USA118507040012", gender="男",
            birth_date=None, address="", phone="13812345678", uscc="", legal_representative="",
            sources={"resident_id": "card"}, consent_reuse=False, document_type="foreign_2017",
        )
    )  # fmt: skip
    assert panel.rows["resident_id"].label.text() == "证件号码(&I)"
    assert panel.problems() == {}
    assert panel.value().document_type == "foreign_2017"
    panel.clear()
    assert panel.value().document_type == "resident"
    assert panel.rows["resident_id"].label.text() == "身份证号码(&I)"
