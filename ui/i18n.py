"""Qt's own texts in Chinese: standard buttons (OK, Cancel, Close …), line-edit context menus and
the file dialog come from Qt, in English, unless Qt's translation (qtbase_zh_CN.qm, shipped with
PySide6) is loaded. `install_qt_translations` loads it once per application; `file_dialog` builds
Qt's own (non-native) file dialog, so the translation applies, with the labels the shipped
translation leaves in English ("Look in", "Files of type") set explicitly."""

from __future__ import annotations

import logging
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

log = logging.getLogger("intake.ui.i18n")

_installed: list[QTranslator] = []  # kept alive for as long as the application runs


def install_qt_translations(app: QCoreApplication | None = None) -> bool:
    """Load Qt's Chinese (qtbase) into APP (default: the running application); once only.
    False when the translation file is missing (a broken install): the app still runs."""
    app = app or QCoreApplication.instance()
    if app is None:
        return False
    # dates, month names and numbers Qt formats itself (calendar pop-ups, the file dialog)
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    if any(t.parent() is app for t in _installed):
        return True
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    translator = QTranslator(app)
    locale = QLocale(QLocale.Language.Chinese, QLocale.Country.China)
    if not translator.load(locale, "qtbase", "_", folder):
        log.warning("Qt's Chinese translation (qtbase_zh_CN.qm) not found in %s", folder)
        return False
    app.installTranslator(translator)
    _installed.append(translator)
    return True


class _ChineseFileTypes(QFileIconProvider):
    """The file dialog's 类型 column: Qt's provider says "Folder" and "jpg File" whatever the
    translation."""

    def type(self, info: QFileInfo) -> str:
        tr = QCoreApplication.translate
        if info.isDir():
            return tr("FileDialog", "文件夹")
        suffix = info.suffix().upper()
        return (
            tr("FileDialog", "{suffix} 文件").format(suffix=suffix)
            if suffix
            else tr("FileDialog", "文件")
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
    tr = QCoreApplication.translate
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
        dialog.setLabelText(Label.FileName, tr("FileDialog", "文件夹(&N)："))
        dialog.setLabelText(Label.Accept, tr("FileDialog", "选择(&S)"))
    elif save:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setLabelText(Label.FileName, tr("FileDialog", "文件名(&N)："))
        dialog.setLabelText(Label.Accept, tr("FileDialog", "保存(&S)"))
    else:
        dialog.setFileMode(
            QFileDialog.FileMode.ExistingFiles if multiple else QFileDialog.FileMode.ExistingFile
        )
        dialog.setLabelText(Label.FileName, tr("FileDialog", "文件名(&N)："))
        dialog.setLabelText(Label.Accept, tr("FileDialog", "打开(&O)"))
    dialog.setLabelText(Label.LookIn, tr("FileDialog", "查找范围(&L)："))
    dialog.setLabelText(Label.FileType, tr("FileDialog", "文件类型(&T)："))
    dialog.setLabelText(Label.Reject, tr("FileDialog", "取消"))
    if name_filter:
        dialog.setNameFilter(name_filter)
    return dialog
