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
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from ui.crash import CrashHandler
from ui.i18n import install_qt_translations
from ui.shell import AppShell, WindowOptions
from ui.style import apply_style, display_options
from ui.tasks import TaskRunner


def parse_args(argv: list[str] | None = None) -> WindowOptions:
    parser = argparse.ArgumentParser(
        prog="intake-window",
        description=QCoreApplication.translate("main", "一件事一次办 综合受理窗口"),
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=QCoreApplication.translate("main", "演示模式：演示站点、账号和模拟读卡器"),
    )
    parser.add_argument(
        "--db", type=Path, help=QCoreApplication.translate("main", "数据库文件路径")
    )
    parser.add_argument(
        "--idle-lock",
        type=float,
        metavar="MINUTES",
        help=QCoreApplication.translate("main", "无操作多少分钟后锁定（0 为不锁定）"),
    )
    parser.add_argument(
        "--paper",
        choices=("A4", "A5"),
        default="A4",
        help=QCoreApplication.translate("main", "文书纸张"),
    )
    parser.add_argument(
        "--print-to",
        type=Path,
        metavar="DIR",
        help=QCoreApplication.translate("main", "打印输出为 PDF 文件到该目录"),
    )
    parser.add_argument(
        "--printer", help=QCoreApplication.translate("main", "打印机名称（默认为系统默认打印机）")
    )
    parser.add_argument(
        "--card-port",
        help=QCoreApplication.translate("main", "身份证读卡器串口，如 /dev/ttyUSB0 或 COM3"),
    )
    parser.add_argument(
        "--card-sdk",
        choices=("sdt", "cvr"),
        help=QCoreApplication.translate("main", "USB 读卡器的厂商接口类型：sdt 或 cvr"),
    )
    parser.add_argument(
        "--card-lib",
        help=QCoreApplication.translate("main", "厂商读卡动态库路径，如 libsdtapi.so、termb.dll"),
    )
    parser.add_argument(
        "--wlt-lib",
        help=QCoreApplication.translate("main", "证件照片解码库路径，如 libwlt.so、WltRS.dll"),
    )
    parser.add_argument(
        "--camera",
        help=QCoreApplication.translate("main", "高拍仪：设备序号（如 0）或设备名称的一部分"),
    )
    parser.add_argument("--startup-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return WindowOptions(
        demo=args.demo,
        db_path=args.db,
        idle_lock_minutes=args.idle_lock,
        paper=args.paper,
        printer_dir=args.print_to,
        printer_name=args.printer,
        card_port=args.card_port,
        card_sdk=args.card_sdk,
        card_lib=args.card_lib,
        wlt_lib=args.wlt_lib,
        camera=args.camera,
        startup_probe=args.startup_probe,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName("yijianshi")
    app.setApplicationName("intake-window")
    app.setApplicationDisplayName(QCoreApplication.translate("main", "综合受理窗口"))
    apply_style(app, display_options())  # 字体大小 and 高对比度 as the station set them
    install_qt_translations(app)  # Qt's own buttons, menus and file dialog in Chinese
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
