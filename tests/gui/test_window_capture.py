"""Document capture in the window: the simulated document camera, file import, the scanner's
folder, page actions in the slot, barcodes and OCR (offscreen, inline task runner).

The camera feed's timer is stopped in these tests and ticked by hand (`tick`), so each tick is
one frame read and one detection, run at once by the inline runner.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.capture.camera import SimulatedCamera
from app.capture.codes import decode_codes
from tests import synthetic as syn
from tests.expected_logs import CAMERA_LOST
from tests.gui.test_window_intake import (
    answer_questions,
    choose_newborn,
    enter_applicant,
    mark_by_keys,
    press,
)
from ui.capture.pages import needs_pages

pytestmark = [
    pytest.mark.gui,
    CAMERA_LOST,
    pytest.mark.expect_log(logging.WARNING, "intake.ui.capture", r"^camera read failed"),
]

F8 = Qt.Key.Key_F8
SPACE = Qt.Key.Key_Space


@functools.cache
def scene(kind: str = "perspective", payload: str | None = syn.LICENCE_URL) -> syn.Scene:
    return syn.make_scene(kind, (1920, 1080), payload=payload)


def camera(*frames: np.ndarray, **kw: Any) -> SimulatedCamera:
    return SimulatedCamera(images=list(frames) or [scene().frame], **kw)


def use_camera(window: Any, cam: SimulatedCamera) -> SimulatedCamera:
    window.capture_devices.camera_factory = lambda: cam
    return cam


def draft_with_checklist(qtbot: Any, window: Any) -> str:
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(qtbot, window, {})
    sid = window.intake.submission_id
    assert sid is not None and window.intake.checklist is not None
    return sid  # type: ignore[no-any-return]


def received_intake(qtbot: Any, window: Any) -> str:
    sid = draft_with_checklist(qtbot, window)
    press(qtbot, window, window.intake.materials.table, Qt.Key.Key_F12)
    assert window.intake.finished
    return sid


def open_capture(qtbot: Any, window: Any, widget: Any, *, auto: bool = False) -> Any:
    """F8 where the clerk is; the dialog opens with the camera running (timer stopped)."""
    press(qtbot, window, widget, F8)
    dialog = window.capture_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.feed.timer.stop()
    dialog.auto_check.setChecked(auto)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=5000)
    return dialog


def tick(dialog: Any, n: int = 1) -> None:
    for _ in range(n):
        dialog.feed.tick()


def shoot(qtbot: Any, window: Any, dialog: Any) -> None:
    """A fresh frame, then Space as the clerk presses it."""
    tick(dialog)
    press(qtbot, window, dialog.strip.list, SPACE)


def stored(ctx: Any, sid: str, material: str) -> tuple[Any, ...]:
    return ctx.queries.get(sid).pages_for(material)  # type: ignore[no-any-return]


def decode(ctx: Any, page: Any) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(ctx.pages.page_bytes(page), np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


# ------------------------------------------------------------------ camera


def test_received_intake_gets_camera_pages_in_its_slot_with_corrected_corners(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    use_camera(window, camera())
    sid = received_intake(qtbot, window)
    paper = [m.id for m in window.intake.checklist.materials if needs_pages(m)]
    dialog = open_capture(qtbot, window, window.intake.result.new_button)
    material = dialog.material_id
    assert material == paper[0]  # after F12: the first paper material still without pages

    shoot(qtbot, window, dialog)
    shoot(qtbot, window, dialog)

    pages = stored(ctx, sid, material)
    assert [p.position for p in pages] == [1, 2]
    assert [p.id for p in dialog.strip.pages] == [p.id for p in pages]
    assert all(dialog.strip.has_thumbnail(p.id) for p in pages)
    slot = window.intake.materials.pages
    window.intake.materials.select_material(material)
    assert [p.id for p in slot.strip.pages] == [p.id for p in pages]
    assert all(slot.strip.has_thumbnail(p.id) for p in pages)
    model = window.intake.materials.model
    assert model.data(model.index(model.row_of(material), 6)) == "2页"
    # The stored page is the flattened sheet: A4 proportions, and its QR reads.
    page = decode(ctx, pages[0])
    h, w = page.shape[:2]
    assert abs(w / h - 210 / 297) < 0.01
    assert syn.LICENCE_URL in [c.payload for c in decode_codes(page)]


def test_capturing_every_paper_material_digitises_and_ends_the_countdown(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    use_camera(window, camera())
    sid = received_intake(qtbot, window)
    assert window.intake.result.deadline.isVisibleTo(window.intake.result)
    window.refresh_deadlines()
    assert not window.deadline.isHidden()
    paper = [m.id for m in window.intake.checklist.materials if needs_pages(m)]
    assert len(paper) > 2
    dialog = open_capture(qtbot, window, window.intake.result.new_button)

    for n, material in enumerate(paper):
        assert dialog.material_id == material  # PgDn goes to the next one still without pages
        shoot(qtbot, window, dialog)
        assert ctx.queries.get(sid).stage == ("digitised" if n == len(paper) - 1 else "received")
        press(qtbot, window, dialog.strip.list, Qt.Key.Key_PageDown)

    view = ctx.queries.get(sid)
    assert view.stage == "digitised" and view.digitised_at is not None
    assert not window.intake.result.deadline.isVisibleTo(window.intake.result)
    assert window.deadline.isHidden()
    press(qtbot, window, dialog.strip.list, Qt.Key.Key_Escape)
    assert "居民户口簿" in dialog.messages.text  # one page of two: the clerk is reminded
    press(qtbot, window, dialog.strip.list, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_page_still_for_a_moment_is_captured_once(qtbot: Any, window: Any, ctx: Any) -> None:
    use_camera(window, camera())
    sid = draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table, auto=True)
    material = dialog.material_id
    frames = dialog.feed.processor.stillness.frames

    tick(dialog, frames - 1)
    assert stored(ctx, sid, material) == ()
    tick(dialog, 1 + 2 * frames)  # still longer: no second capture of the same page

    assert len(stored(ctx, sid, material)) == 1
    assert dialog.preview.overlay  # the outline was drawn over the preview


def test_blurred_frame_shows_the_quality_warning(qtbot: Any, window: Any, ctx: Any) -> None:
    use_camera(window, camera(scene("blurred").frame))
    sid = draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)

    shoot(qtbot, window, dialog)

    assert dialog.findings_label.isVisibleTo(dialog)
    assert "图像模糊" in dialog.findings_label.text()
    assert len(stored(ctx, sid, dialog.material_id)) == 1  # kept: the clerk decides to retake
    assert dialog.strip.list.item(0).text().startswith("⚠")


def test_retake_replaces_the_page_in_place(qtbot: Any, window: Any, ctx: Any) -> None:
    cam = use_camera(window, camera(scene("blurred").frame))
    sid = draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)
    material = dialog.material_id
    shoot(qtbot, window, dialog)
    cam._images = [scene().frame]  # the clerk holds the page still this time
    shoot(qtbot, window, dialog)
    first, second = stored(ctx, sid, material)
    dialog.strip.select(first.id)

    press(qtbot, window, dialog.strip.list, Qt.Key.Key_T)
    shoot(qtbot, window, dialog)

    pages = stored(ctx, sid, material)
    assert len(pages) == 2 and pages[1].id == second.id
    assert pages[0].id not in (first.id, second.id)


def test_camera_lost_mid_preview_keeps_the_pages_and_says_so(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    use_camera(window, camera(vanish_after=3))
    sid = draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)
    material = dialog.material_id
    shoot(qtbot, window, dialog)
    assert len(stored(ctx, sid, material)) == 1

    tick(dialog, 5)  # the cable comes out

    assert "已断开" in dialog.messages.text and "已采集的页面均已保存" in dialog.messages.text
    assert not dialog.feed.running
    press(qtbot, window, dialog.strip.list, SPACE)  # no camera: nothing taken, nothing lost
    assert len(stored(ctx, sid, material)) == 1
    assert [p.id for p in dialog.strip.pages] == [p.id for p in stored(ctx, sid, material)]


def test_closing_with_fewer_pages_than_the_material_has_warns_first(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    use_camera(window, camera())
    draft_with_checklist(qtbot, window)
    window.intake.materials.select_material("household_register")  # 居民户口簿: 2 pages
    dialog = open_capture(qtbot, window, window.intake.materials.table)
    assert dialog.material_id == "household_register"
    shoot(qtbot, window, dialog)

    press(qtbot, window, dialog.strip.list, Qt.Key.Key_Escape)
    assert dialog.isVisible()
    assert "应有2页，当前只采集了1页" in dialog.messages.text
    press(qtbot, window, dialog.strip.list, Qt.Key.Key_Escape)  # the clerk confirms
    assert not dialog.isVisible()


def test_intake_opened_later_in_search_is_captured_and_its_countdown_refreshed(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    use_camera(window, camera())
    sid = received_intake(qtbot, window)
    window.new_intake()  # the next applicant; the clerk digitises the earlier one from 查询
    window.show_search()
    window.search.open_intake(sid)
    detail = window.search.detail
    assert detail.deadline.isVisibleTo(detail)
    dialog = open_capture(qtbot, window, window.search.table)
    assert dialog.sid == sid and dialog.number == ctx.queries.get(sid).number
    assert not dialog.ocr_button.isEnabled()  # not the applicant on screen: nothing to fill

    while dialog.material_id is not None and ctx.queries.get(sid).stage == "received":
        shoot(qtbot, window, dialog)
        press(qtbot, window, dialog.strip.list, Qt.Key.Key_PageDown)

    assert ctx.queries.get(sid).stage == "digitised"
    assert detail.view is not None and detail.view.stage == "digitised"
    assert not detail.deadline.isVisibleTo(detail)
    assert window.intake.submission_id is None  # the new intake on the workspace is untouched


# ------------------------------------------------------------------ page actions in the slot


def test_rotate_reorder_delete_in_the_slot_change_what_is_stored(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    use_camera(window, camera())
    sid = draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)
    material = dialog.material_id
    for _ in range(3):
        shoot(qtbot, window, dialog)
    press(qtbot, window, dialog.strip.list, Qt.Key.Key_Escape)
    a, b, c = stored(ctx, sid, material)
    window.activateWindow()
    window.intake.materials.select_material(material)
    slot = window.intake.materials.pages
    strip = slot.strip
    assert [p.id for p in strip.pages] == [a.id, b.id, c.id]

    strip.select(a.id)
    press(qtbot, window, strip.list, Qt.Key.Key_R)
    assert ctx.queries.get(sid).pages_for(material)[0].rotation == 90
    press(qtbot, window, strip.list, Qt.Key.Key_R)
    press(qtbot, window, strip.list, Qt.Key.Key_L)
    assert ctx.queries.get(sid).pages_for(material)[0].rotation == 90
    assert "↻90°" in strip.list.item(0).text()

    press(qtbot, window, strip.list, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert [p.id for p in stored(ctx, sid, material)] == [b.id, a.id, c.id]
    assert [p.id for p in strip.pages] == [b.id, a.id, c.id]

    strip.select(c.id)
    strip.buttons["earlier"].click()
    assert [p.id for p in stored(ctx, sid, material)] == [b.id, c.id, a.id]

    strip.select(b.id)
    press(qtbot, window, strip.list, Qt.Key.Key_Delete)
    assert [p.id for p in stored(ctx, sid, material)] == [c.id, a.id]
    assert [p.id for p in strip.pages] == [c.id, a.id]
    assert all(strip.has_thumbnail(p.id) for p in strip.pages)


# ------------------------------------------------------------------ files and the scanner folder


def write_tiff(path: Path, count: int) -> None:
    from PIL import Image

    pages = [
        Image.fromarray(cv2.cvtColor(syn.make_page(100, seed=n), cv2.COLOR_BGR2RGB))
        for n in range(count)
    ]
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_deflate")


def write_pdf(path: Path, count: int) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for n in range(count):
        pdf.setFont("Helvetica", 14)
        for line in range(30):
            pdf.drawString(60, 780 - 22 * line, f"Page {n + 1} line {line} of the scanned material")
        pdf.showPage()
    pdf.save()


def test_import_adds_one_page_per_page_of_a_tiff_and_a_pdf(
    qtbot: Any, window: Any, ctx: Any, tmp_path: Path
) -> None:
    use_camera(window, camera())
    sid = draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)
    material = dialog.material_id
    write_tiff(tmp_path / "scan.tif", 3)
    write_pdf(tmp_path / "scan.pdf", 2)

    dialog.import_files([tmp_path / "scan.tif"])
    assert len(stored(ctx, sid, material)) == 3
    dialog.import_files([tmp_path / "scan.pdf"])

    pages = stored(ctx, sid, material)
    assert len(pages) == 5 and [p.position for p in pages] == [1, 2, 3, 4, 5]
    assert len(dialog.strip.pages) == 5
    assert all(decode(ctx, p).shape[0] > 1000 for p in pages)


def test_text_file_named_jpg_is_refused_with_the_reason_and_nothing_is_lost(
    qtbot: Any, window: Any, ctx: Any, tmp_path: Path
) -> None:
    use_camera(window, camera())
    sid = draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)
    material = dialog.material_id
    shoot(qtbot, window, dialog)
    fake = tmp_path / "申请表.jpg"
    fake.write_text("这不是图片", "utf-8")

    dialog.import_files([fake])

    assert "申请表.jpg" in dialog.messages.text
    assert "不是可识别的图像或PDF文件" in dialog.messages.text
    assert len(stored(ctx, sid, material)) == 1
    assert len(dialog.strip.pages) == 1


def test_scanner_folder_pages_go_to_the_selected_material(
    qtbot: Any, window: Any, ctx: Any, tmp_path: Path
) -> None:
    from app.capture.imports import HotFolder

    use_camera(window, camera())
    folder = tmp_path / "scans"
    folder.mkdir()
    write_pdf(folder / "earlier.pdf", 1)  # left from someone else: not imported
    window.capture_devices.hot_folder = HotFolder(folder)
    sid = draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)
    material = dialog.material_id
    dialog.hot_check.setChecked(True)
    dialog.hot_timer.stop()
    assert dialog.hot_check.isEnabled()

    write_pdf(folder / "scan0001.pdf", 2)
    dialog.poll_hot_folder()
    dialog.poll_hot_folder()  # the file has stopped growing

    assert len(stored(ctx, sid, material)) == 2
    dialog.poll_hot_folder()
    assert len(stored(ctx, sid, material)) == 2  # each file once


# ------------------------------------------------------------------ codes


def test_receipt_code_on_a_page_offers_to_open_that_intake(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    from app.numbering import encode_receipt_payload

    first = received_intake(qtbot, window)
    number = ctx.queries.get(first).number
    window.new_intake()
    use_camera(window, camera(scene("plain", encode_receipt_payload(number)).frame))
    draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)

    shoot(qtbot, window, dialog)

    assert number in dialog.messages.text
    assert dialog.messages.action_button.text() == "打开该受理记录"
    dialog.messages.action_button.click()
    assert not dialog.isVisible()
    assert window.search.detail.view is not None and window.search.detail.view.id == first


def test_licence_qr_offers_its_uscc_to_the_enterprise_applicant(
    qtbot: Any, window: Any, ctx: Any
) -> None:
    use_camera(window, camera())
    draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)

    tick(dialog)  # seen on the preview already

    assert syn.VALID_USCC in dialog.messages.text
    dialog.messages.action_button.click()
    panel = window.intake.applicant
    assert panel.kind == "enterprise" and panel.uscc_edit.text() == syn.VALID_USCC


def test_unknown_code_is_shown_as_read(qtbot: Any, window: Any) -> None:
    use_camera(window, camera(scene("plain", "WAREHOUSE-BIN-0042").frame))
    draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)

    shoot(qtbot, window, dialog)

    assert "未识别的条码" in dialog.messages.text and "WAREHOUSE-BIN-0042" in dialog.messages.text
    assert dialog.messages.action_button.isHidden()


# ------------------------------------------------------------------ ID card OCR


def test_ocr_fills_the_applicant_as_to_be_confirmed(qtbot: Any, window: Any, ctx: Any) -> None:
    from app.capture.ocr import OcrLine

    lines = [
        "姓名李秀兰",
        "性别女民族汉",
        "出生1949年12月31日",
        "住址河南省新乡县七里营镇",
        "公民身份号码",
        "11010519491231002X",
    ]
    window.capture_devices.ocr_engine = lambda _image: [OcrLine(t) for t in lines]
    use_camera(window, camera())
    window.intake.focus_section(1)
    press(qtbot, window, window.intake.applicant.id_edit, Qt.Key.Key_F8)
    assert window.capture_dialog is None  # no checklist yet: nothing to capture into
    sid = draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)
    assert dialog.ocr_button.isEnabled()

    tick(dialog)
    dialog.ocr_button.click()

    panel = window.intake.applicant
    assert panel.name_edit.text() == "李秀兰"
    assert panel.edit("address").text() == "河南省新乡县七里营镇"
    name_mark = panel.rows["name"].mark
    assert name_mark.text() == "待核对(识别)" and name_mark.isVisibleTo(panel)
    window.intake.save_applicant_now()
    sources = ctx.queries.get(sid).applicant.sources
    assert sources["name"] == "ocr" and sources["resident_id"] == "ocr"
    # the clerk corrects the address: it is typed now, the name stays to be confirmed
    press(qtbot, window, panel.edit("address"), Qt.Key.Key_End)
    press(qtbot, window, panel.edit("address"), Qt.Key.Key_1)
    assert panel.rows["address"].mark.isHidden()
    assert name_mark.isVisibleTo(panel)


def test_ocr_without_the_engine_is_disabled_with_the_reason(qtbot: Any, window: Any) -> None:
    window.capture_devices.ocr_engine = None
    window.capture_devices.ocr_installed = False
    use_camera(window, camera())
    draft_with_checklist(qtbot, window)
    dialog = open_capture(qtbot, window, window.intake.materials.table)

    assert not dialog.ocr_button.isEnabled()
    assert "rapidocr" in dialog.ocr_button.toolTip()


# ------------------------------------------------------------------ threads


def test_preview_reads_off_the_gui_thread_and_drops_late_frames(qtbot: Any) -> None:
    """With the real runner: frames are read and detected on the pool; while a read is still
    running, ticks are dropped instead of queueing reads behind it."""
    import threading
    import time

    from ui.capture.preview import CameraFeed
    from ui.tasks import TaskRunner

    readers: set[int] = set()

    class SlowCamera(SimulatedCamera):
        def read(self) -> Any:
            readers.add(threading.get_ident())
            time.sleep(0.03)  # a device slower than the preview's tick
            return super().read()

    runner = TaskRunner()
    feed = CameraFeed(runner, lambda: SlowCamera(images=[scene().frame]), interval_ms=5)
    shown: list[Any] = []
    detected: list[Any] = []
    feed.frame_shown.connect(shown.append)
    feed.detected.connect(detected.append)
    try:
        feed.start()
        qtbot.waitUntil(lambda: len(shown) >= 5 and bool(detected), timeout=10_000)
        assert threading.get_ident() not in readers
        assert feed.dropped_ticks > 0
        assert detected[-1].overlay
    finally:
        with qtbot.waitSignal(feed.closed, timeout=5000):
            feed.stop()
        runner.shutdown()
