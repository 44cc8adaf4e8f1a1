"""Start-up: the login dialog takes the clerk's name, password and Enter before the store behind
it is open, and logs in the moment it is."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Qt


def test_login_typed_before_the_store_is_open_goes_through_when_it_opens(
    qtbot: Any, ctx: Any, printer: Any, reader: Any
) -> None:
    from app.options import Options
    from ui.shell import AppShell
    from ui.tasks import TaskRunner

    release = threading.Event()

    def slow_store() -> Any:
        release.wait(10)  # the store opens only when the test says so
        return ctx

    runner = TaskRunner()
    shell = AppShell(
        Options.of(idle_lock_minutes=0),
        runner,
        context_factory=slow_store,
        printer=printer,
        reader=reader,
    )
    qtbot.addWidget(shell.login)
    try:
        shell.start()
        qtbot.waitExposed(shell.login)
        dialog = shell.login
        assert not dialog.ready
        assert dialog.login_button.isEnabled()  # usable at once, not after the store
        qtbot.keyClicks(dialog.username, "wangfang")
        qtbot.keyClick(dialog.username, Qt.Key.Key_Return)
        qtbot.keyClicks(dialog.password, "clerk1234")
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
        assert dialog.username.text() == "wangfang"
        assert shell.window is None
        assert not dialog.login_button.isEnabled()  # waiting for the store, not taking more
        release.set()
        qtbot.waitUntil(lambda: shell.window is not None, timeout=15_000)
        assert shell.window.session.actor.username == "wangfang"
    finally:
        release.set()
        if shell.window is not None:
            shell.window.shutdown()
            shell.window.close()
        runner.shutdown()


def test_a_store_that_cannot_open_takes_no_login(qtbot: Any) -> None:
    from app.options import Options
    from local_db.errors import StoreError
    from ui.shell import AppShell
    from ui.tasks import InlineTaskRunner

    def broken() -> Any:
        raise StoreError("store.unavailable", variant=2, path_parent="/媒体/移动硬盘")

    shell = AppShell(Options.of(idle_lock_minutes=0), InlineTaskRunner(), context_factory=broken)
    qtbot.addWidget(shell.login)
    shell.start()
    qtbot.waitUntil(lambda: not shell.login.login_button.isEnabled(), timeout=5000)
    assert "无法打开数据库" in shell.login.station_label.text()
    assert "数据库所在目录“/媒体/移动硬盘”不存在" in shell.login.station_label.text()
