"""`intake-window`: the window clerk's application.

    intake-window --demo              demo station, accounts and simulated ID card reader; prints
                                      to PDF files in the data directory
    intake-window --db PATH           another database
    intake-window --print-to DIR      print to PDF files in DIR instead of a printer

Start-up imports only Qt and the login dialog; the store and the services load behind it.
"""

from __future__ import annotations

import argparse
import sys

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from app.options import Options, add_flags, flag_values
from ui.crash import CrashHandler
from ui.i18n import install_translations
from ui.shell import AppShell
from ui.style import apply_style, display_options
from ui.tasks import TaskRunner


def parse_args(argv: list[str] | None = None) -> Options:
    """The flags given (app/options.py declares them); the rest comes from the environment and
    the station settings when the shell resolves them."""
    parser = argparse.ArgumentParser(
        prog="intake-window",
        description=QCoreApplication.translate("main", "一件事一次办 综合受理窗口"),
    )
    add_flags(parser)
    return Options(flag_values(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName("yijianshi")
    app.setApplicationName("intake-window")
    install_translations(app)  # before any text: ours (.qm) and Qt's own buttons and dialogs
    app.setApplicationDisplayName(QCoreApplication.translate("main", "综合受理窗口"))
    apply_style(
        app, display_options(given=options)
    )  # 字体大小 and 高对比度 as the station set them
    # A sync step holds one pool worker for as long as its upload takes: two stay for the ID
    # card reader, printing and capture.
    runner = TaskRunner(pool_workers=3)
    shell = AppShell(options, runner)
    crash = CrashHandler(save_draft=shell.save_draft)
    crash.install()
    shell.start()
    code = app.exec()
    crash.uninstall()
    if shell.window is not None:
        shell.window.shutdown()
    runner.shutdown()  # queued saves reach the disk before the process ends
    shell.release_store()
    return code or shell.exit_code


if __name__ == "__main__":
    sys.exit(main())
