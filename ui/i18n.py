"""The window's texts through Qt's translation layer, and Qt's own texts in Chinese.

The window's strings go through tr() / QCoreApplication.translate with Chinese source text; their
wording is maintained in resources/i18n/intake_zh_CN.ts (kept up to date with pyside6-lupdate,
see README), compiled to intake_zh_CN.qm by installer/build.sh for the frozen app, or here at
start when running from source and the .qm is missing or older than the .ts. Standard buttons
(OK, Cancel, Close …), line-edit context menus and the file dialog come from Qt, in English,
unless Qt's translation (qtbase_zh_CN.qm, shipped with PySide6) is loaded.
`install_translations` loads both once per application; `file_dialog` builds Qt's own
(non-native) file dialog, so the translation applies, with the labels the shipped translation
leaves in English ("Look in", "Files of type") set explicitly."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QFileInfo,
    QIdentityProxyModel,
    QLibraryInfo,
    QLocale,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTranslator,
)
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QFileSystemModel, QWidget

from app.paths import resources_dir

log = logging.getLogger("intake.ui.i18n")

_installed: list[QTranslator] = []  # kept alive for as long as the application runs


APP_TRANSLATION = "intake_zh_CN"


def lrelease() -> str | None:
    """Qt's translation compiler as PySide6 ships it (lrelease beside the package, or the
    pyside6-lrelease wrapper on PATH)."""
    import PySide6

    for name in ("lrelease.exe", "lrelease") if os.name == "nt" else ("lrelease",):
        candidate = Path(PySide6.__file__).resolve().parent / name
        if candidate.is_file():
            return str(candidate)
    return shutil.which("pyside6-lrelease")


def compile_translation(ts: Path, qm: Path) -> bool:
    """Compile TS into QM with lrelease; False (logged) when that is not possible."""
    tool = lrelease()
    if tool is None:
        log.warning("lrelease not found: the window shows its source texts")
        return False
    qm.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [tool, "-silent", str(ts), "-qm", str(qm)], capture_output=True, check=False
    )
    if done.returncode != 0 or not qm.is_file():
        log.warning("lrelease failed on %s (exit %s)", ts.name, done.returncode)
        return False
    return True


def app_translation(folder: Path | None = None) -> Path | None:
    """The compiled translation of the window's texts: FOLDER (default resources/i18n) holds
    the .qm the build made; from source it is compiled when missing or older than the .ts,
    beside it or, in a read-only checkout, in the temporary directory."""
    folder = folder or resources_dir() / "i18n"
    ts, qm = folder / f"{APP_TRANSLATION}.ts", folder / f"{APP_TRANSLATION}.qm"
    if getattr(sys, "frozen", False) or not ts.is_file():
        return qm if qm.is_file() else None
    if qm.is_file() and qm.stat().st_mtime >= ts.stat().st_mtime:
        return qm
    if os.access(folder, os.W_OK) and compile_translation(ts, qm):
        return qm
    cached = Path(tempfile.gettempdir()) / "yijianshi-intake-i18n" / qm.name
    if cached.is_file() and cached.stat().st_mtime >= ts.stat().st_mtime:
        return cached
    return cached if compile_translation(ts, cached) else None


def install_translations(app: QCoreApplication | None = None) -> bool:
    """Load the window's translation and Qt's Chinese (qtbase) into APP (default: the running
    application); once only. False when a translation file is missing (a broken install): the
    app still runs, with its Chinese source texts."""
    app = app or QCoreApplication.instance()
    if app is None:
        return False
    # dates, month names and numbers Qt formats itself (calendar pop-ups, the file dialog)
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    if any(t.parent() is app for t in _installed):
        return True
    ok = True
    qm = app_translation()
    ours = QTranslator(app)
    if qm is not None and ours.load(str(qm)):
        app.installTranslator(ours)
        _installed.append(ours)
    else:
        log.warning("the window's translation (%s.qm) is missing", APP_TRANSLATION)
        ok = False
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    translator = QTranslator(app)
    locale = QLocale(QLocale.Language.Chinese, QLocale.Country.China)
    if not translator.load(locale, "qtbase", "_", folder):
        log.warning("Qt's Chinese translation (qtbase_zh_CN.qm) not found in %s", folder)
        return False
    app.installTranslator(translator)
    _installed.append(translator)
    return ok


class _ChineseFileTypes(QFileIconProvider):
    """The file dialog's 类型 column: Qt's provider says "Folder" and "jpg File" whatever the
    translation."""

    def type(self, info: QFileInfo) -> str:
        if info.isDir():
            return QCoreApplication.translate("FileDialog", "文件夹")
        suffix = info.suffix().upper()
        return (
            QCoreApplication.translate("FileDialog", "{suffix} 文件").format(suffix=suffix)
            if suffix
            else QCoreApplication.translate("FileDialog", "文件")
        )


class _ChineseDates(QIdentityProxyModel):
    """The file dialog's 修改日期 column: Qt formats it with the system locale (Qt 6.9 says
    "6 Dec 2026" on a machine set to C/English), not with the application's Chinese default."""

    DATE_COLUMN = 3

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        source = self.sourceModel()
        if (
            role == Qt.ItemDataRole.DisplayRole
            and index.column() == self.DATE_COLUMN
            and isinstance(source, QFileSystemModel)
        ):
            when = source.lastModified(self.mapToSource(index))
            if when.isValid():
                return QLocale(QLocale.Language.Chinese, QLocale.Country.China).toString(
                    when, QLocale.FormatType.ShortFormat
                )
        return super().data(index, role)


def file_dialog(
    parent: QWidget | None,
    title: str,
    *,
    save: bool = False,
    directory: bool = False,
    multiple: bool = False,
    name_filter: str = "",
    start: str = "",
) -> QFileDialog:
    """Qt's own file dialog, all in Chinese: to open a file (or MULTIPLE), to SAVE one, or to
    choose a DIRECTORY. The caller connects fileSelected / filesSelected and calls open()."""
    dialog = QFileDialog(parent, title, start)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)  # one per use, none piling up
    provider = _ChineseFileTypes()
    dialog.setIconProvider(provider)
    dialog._type_names = provider  # type: ignore[attr-defined]  # the dialog does not own it
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dates = _ChineseDates(dialog)
    dialog.setProxyModel(dates)  # after the non-native option: only Qt's own dialog has a model
    Label = QFileDialog.DialogLabel
    if directory:
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setLabelText(
            Label.FileName, QCoreApplication.translate("FileDialog", "文件夹(&N)：")
        )
        dialog.setLabelText(Label.Accept, QCoreApplication.translate("FileDialog", "选择(&S)"))
    elif save:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setLabelText(
            Label.FileName, QCoreApplication.translate("FileDialog", "文件名(&N)：")
        )
        dialog.setLabelText(Label.Accept, QCoreApplication.translate("FileDialog", "保存(&S)"))
    else:
        dialog.setFileMode(
            QFileDialog.FileMode.ExistingFiles if multiple else QFileDialog.FileMode.ExistingFile
        )
        dialog.setLabelText(
            Label.FileName, QCoreApplication.translate("FileDialog", "文件名(&N)：")
        )
        dialog.setLabelText(Label.Accept, QCoreApplication.translate("FileDialog", "打开(&O)"))
    dialog.setLabelText(Label.LookIn, QCoreApplication.translate("FileDialog", "查找范围(&L)："))
    dialog.setLabelText(Label.FileType, QCoreApplication.translate("FileDialog", "文件类型(&T)："))
    dialog.setLabelText(Label.Reject, QCoreApplication.translate("FileDialog", "取消"))
    if name_filter:
        dialog.setNameFilter(name_filter)
    return dialog
