"""No English in front of a clerk: every dialog the application opens — its own and Qt's standard
ones (file dialogs, button boxes) — shows Chinese buttons, labels, headers and tooltips.

Each test opens dialogs the way the window does and reads every button, label, group title,
header and window title in it. A text fails when it has no Chinese and carries an English word
(key names such as F12 / Esc and format names such as PDF are allowed)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QFileDialog,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTreeView,
    QWidget,
)

from tests.gui.conftest import login
from tests.gui.test_window_capture import camera, draft_with_checklist, open_capture, use_camera

pytestmark = pytest.mark.gui

CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff]")
# Words a Chinese UI legitimately shows: key names, formats, abbreviations used in the trade.
ALLOWED = {
    "esc", "ctrl", "alt", "shift", "pgdn", "pgup", "enter", "tab", "space", "del",
    "pdf", "csv", "xlsx", "jpg", "png", "tif", "qr", "ocr", "id", "uscc", "usb", "com",
    "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12",
}  # fmt: skip
# Qt's own texts that stay English without its translation (what the clerk reported).
QT_ENGLISH = {
    "ok", "cancel", "close", "save", "open", "apply", "yes", "no", "help", "choose",
    "look in:", "file name:", "files of type:", "directory:", "name", "size", "type",
    "date modified", "back", "forward", "parent directory", "create new folder",
    "list view", "detail view", "< back", "next >", "finish", "commit", "done",
}  # fmt: skip


def is_english(text: str) -> bool:
    plain = re.sub(r"<[^>]+>", " ", text).replace("&", "").strip()
    if not plain or CJK.search(plain):
        return False
    if plain.lower() in QT_ENGLISH:
        return True
    words = re.findall(r"[A-Za-z][A-Za-z0-9]+", plain)
    return any(w.lower() not in ALLOWED for w in words)


def shown_texts(dialog: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for every text a clerk can read in DIALOG."""
    yield "title", dialog.windowTitle()
    for b in dialog.findChildren(QAbstractButton):
        yield f"button {b.objectName() or type(b).__name__}", b.text()
        yield f"tooltip {b.objectName() or type(b).__name__}", b.toolTip()
    for label in dialog.findChildren(QLabel):
        yield f"label {label.objectName()}", label.text()
    for box in dialog.findChildren(QGroupBox):
        yield "group", box.title()
    for header in dialog.findChildren(QHeaderView):
        model = header.model()
        if model is None:
            continue
        for i in range(header.count()):
            text = model.headerData(i, header.orientation(), Qt.ItemDataRole.DisplayRole)
            yield "header", str(text or "")


def file_columns(dialog: QFileDialog) -> Iterator[tuple[str, str]]:
    """The file list's 类型 and 修改日期 cells (names are the files' own)."""
    view = dialog.findChild(QTreeView, "treeView")
    assert view is not None
    model, root = view.model(), view.rootIndex()
    deadline = time.monotonic() + 5
    while model.rowCount(root) == 0 and time.monotonic() < deadline:  # listed on a thread
        QTest.qWait(20)
    assert model.rowCount(root) > 0, "the file dialog lists nothing"
    for row in range(model.rowCount(root)):
        for column in (2, 3):
            yield "file list", str(model.index(row, column, root).data() or "")


def english_in(dialog: QWidget) -> list[tuple[str, str]]:
    assert dialog.isVisible(), f"{type(dialog).__name__} is not open"
    QApplication.processEvents()  # the file dialog fills its labels when shown
    texts = list(shown_texts(dialog))
    if isinstance(dialog, QFileDialog):
        texts += file_columns(dialog)
    return [(where, text) for where, text in texts if is_english(text)]


def test_checker_catches_what_the_clerk_saw() -> None:
    """The rule itself: Qt's English standard texts are caught, Chinese ones with key names pass."""
    for text in (
        "OK",
        "Cancel",
        "&Look in:",
        "Files of &type:",
        "File &name:",
        "&Save",
        "Date Modified",
    ):
        assert is_english(text), text
    for text in ("确定", "取消", "完成 Esc", "导出 PDF", "查找范围(&L)：", "已收 1", "F12", ""):
        assert not is_english(text), text


def test_day_close_and_ledger_export_dialogs_are_chinese(qtbot: Any, shell: Any) -> None:
    window = login(qtbot, shell, "zhangjing", "super1234")
    window.show_supervisor()
    tab = window.supervisor
    tab.refresh()
    dialog = tab.request_close()
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    assert english_in(dialog) == []
    dialog.reject()

    window.show_ledger()
    window.ledger.export("xlsx")
    save = window.ledger.save_dialog
    assert isinstance(save, QFileDialog) and save.isVisible()
    assert save.testOption(QFileDialog.Option.DontUseNativeDialog)  # Qt's, so it is translated
    assert english_in(save) == []
    save.reject()


def test_backup_and_its_folder_chooser_are_chinese(qtbot: Any, shell: Any) -> None:
    window = login(qtbot, shell, "admin", "admin1234")
    dialog = window.show_backup_dialog()
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    assert english_in(dialog) == []
    dialog._on_browse_button_clicked()
    chooser = dialog.folder_dialog
    assert chooser is not None and chooser.isVisible()
    assert english_in(chooser) == []
    chooser.reject()
    dialog.reject()


def test_every_dialog_a_clerk_opens_is_chinese(qtbot: Any, shell: Any) -> None:
    """The clerk's walk: capture and its file import, lock, the drafts offer at the next login,
    the sync queue, and the follow-up dialogs (补正, 撤回, 送达)."""
    from ui.followup import DeliveryDialog, SupplementDialog, WithdrawDialog

    found: dict[str, list[tuple[str, str]]] = {}
    window = login(qtbot, shell)
    use_camera(window, camera())
    draft_with_checklist(qtbot, window)
    capture = open_capture(qtbot, window, window.intake.materials.table)
    found["capture"] = english_in(capture)
    capture.choose_files()
    chooser = capture.file_dialog
    assert chooser is not None
    assert chooser.testOption(QFileDialog.Option.DontUseNativeDialog)
    found["capture import"] = english_in(chooser)
    chooser.reject()
    capture.close_now()

    window.lock()
    found["lock"] = english_in(window.lock_dialog)
    shell.logout()
    window = login(qtbot, shell)
    drafts = window.drafts_dialog
    assert drafts is not None
    found["drafts"] = english_in(drafts)
    drafts.reject()
    found["sync queue"] = english_in(window.show_sync_queue())

    for name, dialog in (
        ("supplement", SupplementDialog([("lease_contract", "租赁合同")], window)),
        ("withdraw", WithdrawDialog(window)),
        ("delivery", DeliveryDialog([("birth_registration", "出生登记")], "人民路1号", window)),
    ):
        dialog.open()
        found[name] = english_in(dialog)
        dialog.reject()

    assert {name: texts for name, texts in found.items() if texts} == {}


def test_login_and_first_run_set_up_are_chinese(qtbot: Any, shell: Any, tmp_path: Any) -> None:
    from app.context import build_context
    from app.options import Options
    from ui.shell import AppShell
    from ui.tasks import InlineTaskRunner

    assert english_in(shell.login) == []
    fresh = build_context(tmp_path / "fresh.db")
    try:
        first = AppShell(
            Options.of(idle_lock_minutes=0), InlineTaskRunner(), context_factory=lambda: fresh
        )
        qtbot.addWidget(first.login)
        first.open_store()
        wizard = first.setup
        assert wizard is not None
        qtbot.addWidget(wizard)
        qtbot.waitUntil(wizard.isVisible, timeout=3000)
        assert english_in(wizard) == []
        wizard.close()
    finally:
        fresh.close()
