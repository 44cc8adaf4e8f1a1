"""No silent crash: an exception nobody caught (in a slot, a timer, a worker thread) is logged
with an error number, shown to the clerk in Chinese with that number and what to do, and the open
draft is saved; the window then goes on working.

The log gets the exception's type and where it happened (file, line, function), never its
message or the values around it: those may hold a name or an ID number (the scrub filter masks
ID and phone shapes, not names)."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, QtMsgType, Signal, Slot, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

log = logging.getLogger("intake.crash")
qt_log = logging.getLogger("intake.qt")


def error_number() -> str:
    """For support: the day, the time and a random tail, to find the log line by."""
    now = dt.datetime.now()
    return f"E{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2).upper()}"


def describe(exc_type: type[BaseException], tb: TracebackType | None) -> str:
    """The exception's type and its frames, without its message or any value."""
    frames = traceback.extract_tb(tb)
    where = " <- ".join(
        f"{f.filename.rsplit('/', 2)[-1] if '/' in f.filename else f.filename}:{f.lineno} {f.name}"
        for f in reversed(frames[-8:])
    )
    return f"{exc_type.__module__}.{exc_type.__qualname__} at {where or '?'}"


class CrashHandler(QObject):
    """Installed once by ui.main; SAVE_DRAFT sends what the clerk typed to the store."""

    _raised_in_thread = Signal(str, str)  # error number, thread name: to the GUI thread
    reported = Signal(str)  # error number, after the clerk has been told

    def __init__(self, save_draft: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._save_draft = save_draft
        self.dialog: QMessageBox | None = None
        self.count = 0
        self._raised_in_thread.connect(self._on_handler_raised_in_thread)
        self._previous: tuple[object, object] | None = None

    def install(self) -> None:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread
        qInstallMessageHandler(_qt_message)

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous  # type: ignore[assignment]
            self._previous = None
        qInstallMessageHandler(None)

    # -- hooks

    def handle(
        self,
        exc_type: type[BaseException],
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        number = error_number()
        log.error("unhandled exception %s: %s", number, describe(exc_type, tb))
        if threading.current_thread() is threading.main_thread():
            self._report(number)
        else:
            self._raised_in_thread.emit(number, threading.current_thread().name)

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    @Slot(str, str)
    def _on_handler_raised_in_thread(self, number: str, _thread: str) -> None:
        self._report(number)

    # -- the clerk

    def _report(self, number: str) -> None:
        saved = self._save()
        self.count += 1
        text = QApplication.translate(
            "CrashHandler", "程序遇到一个意外错误（错误编号 {number}）。"
        ).format(number=number)
        if saved:
            text += QApplication.translate(
                "CrashHandler",
                "\n\n正在办理的受理已保存为草稿，不会丢失。请关闭本提示后继续办理；"
                "若同一操作再次出错，请退出并重新启动程序，登录后在“未完成的受理”中继续。",
            )
        else:
            text += QApplication.translate(
                "CrashHandler",
                "\n\n请关闭本提示后继续；若同一操作再次出错，请退出并重新启动程序。",
            )
        text += QApplication.translate(
            "CrashHandler", "\n\n如问题反复出现，请把错误编号告诉县级技术支持（详情已写入日志）。"
        )
        if self.count > 1:
            text += QApplication.translate(
                "CrashHandler", "\n\n（本次运行中已出现 {count} 次意外错误。）"
            ).format(count=self.count)
        dialog = self.dialog
        if dialog is None:
            parent = QApplication.activeWindow()
            dialog = QMessageBox(parent if isinstance(parent, QWidget) else None)
            dialog.setIcon(QMessageBox.Icon.Critical)
            dialog.setWindowTitle(QApplication.translate("CrashHandler", "意外错误"))
            dialog.setStandardButtons(QMessageBox.StandardButton.Ok)
            dialog.button(QMessageBox.StandardButton.Ok).setText(
                QApplication.translate("CrashHandler", "知道了")
            )
            dialog.setModal(False)  # the counter goes on; the box does not stop the queue
            self.dialog = dialog
        dialog.setText(text)
        dialog.show()
        dialog.raise_()
        self.reported.emit(number)

    def _save(self) -> bool:
        if self._save_draft is None:
            return False
        try:
            self._save_draft()
        except Exception as exc:  # the crash handler itself must not crash
            log.error("draft not saved after the error: %s", describe(type(exc), exc.__traceback__))
            return False
        return True


_QT_LEVELS = {
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message(kind: QtMsgType, _context: object, message: str) -> None:
    """Qt's warnings, critical and fatal messages into the log (a fatal one aborts next)."""
    level = _QT_LEVELS.get(kind)
    if level is not None:
        qt_log.log(level, "%s", message)
    elif kind == QtMsgType.QtWarningMsg:
        qt_log.warning("%s", message)
