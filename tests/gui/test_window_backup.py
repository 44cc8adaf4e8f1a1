"""Backups from the window: the schedule writes a real, verifiable backup into the configured
folder and the status bar's warning goes; it comes back when the backup grows old; failures
are Chinese warnings; the administrator's recovery code after the password; nothing for clerks.

The context gets an in-memory secret store (the test keyring, whatever it is, is not used), a
fixed clock, and settings in a file of tmp_path (never the user's own)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from app.backup import KEY_NAME, BackupService
from app.backup_schedule import FOLDER, INTERVAL_HOURS
from app.clock import FixedClock
from local_db.keys import (
    MemorySecretStore,
    get_or_create_key,
    key_from_recovery_code,
    recovery_code,
)
from tests.gui.conftest import RecordingPrinter, login, running_shell
from ui.tasks import InlineTaskRunner

pytestmark = [
    pytest.mark.gui,
    pytest.mark.expect_log(logging.WARNING, "intake.ui.backup", r"^backup failed: "),
]

T0 = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)  # 09:30 at the station


class HeldPoolRunner(InlineTaskRunner):
    """Inline, except that pool work can be held back (a backup still running)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.held: list[Any] = []

    def run_pool(
        self,
        fn: Any,
        on_done: Any = None,
        on_error: Any = None,
        *,
        guard: Any = None,
        quiet: bool = False,
    ) -> None:
        if self.hold:
            self.held.append((fn, on_done, on_error, guard, quiet))
            return
        super().run_pool(fn, on_done, on_error, guard=guard, quiet=quiet)

    def release(self) -> None:
        self.hold = False
        held, self.held = self.held, []
        for fn, on_done, on_error, guard, quiet in held:
            super().run_pool(fn, on_done, on_error, guard=guard, quiet=quiet)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def secrets() -> MemorySecretStore:
    return MemorySecretStore()


@pytest.fixture
def ctx(tmp_path: Path, clock: FixedClock, secrets: MemorySecretStore) -> Iterator[Any]:
    from app.context import build_context
    from app.demo import setup_demo_station

    context = build_context(tmp_path / "t.db", clock=clock, secrets=secrets)
    setup_demo_station(context.staff)
    yield context
    context.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "备份盘"


@pytest.fixture
def settings(tmp_path: Path, folder: Path) -> QSettings:
    s = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    s.setValue(FOLDER.setting, str(folder))
    s.setValue(INTERVAL_HOURS.setting, 24)
    return s


@pytest.fixture
def runner() -> HeldPoolRunner:
    return HeldPoolRunner()


@pytest.fixture
def shell(qtbot: Any, ctx: Any, settings: QSettings, runner: HeldPoolRunner) -> Iterator[Any]:
    yield from running_shell(qtbot, runner, ctx, printer=RecordingPrinter(), settings=settings)


def backups_in(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yjsbak"))


def verifier(ctx: Any, folder: Path, secrets: MemorySecretStore) -> BackupService:
    return BackupService(ctx.db_path, ctx.files_dir / "blobs", folder, secrets, ctx.clock)


# ----------------------------------------------------------------------------- the schedule


def test_scheduled_backup_clears_the_warning_until_it_is_old(
    qtbot: Any, shell: Any, ctx: Any, folder: Path, secrets: MemorySecretStore, clock: FixedClock
) -> None:
    window = login(qtbot, shell)  # a clerk's window backs up too
    indicator = window.backup_indicator
    assert indicator.isVisible() and "尚无有效备份" in indicator.text()
    assert window.backup.timer.isActive()  # the schedule is running

    window.backup.timer.timeout.emit()  # the schedule's tick: a backup is due
    files = backups_in(folder)
    assert len(files) == 1
    manifest = verifier(ctx, folder, secrets).verify(files[0])
    assert manifest["db_sha256"]
    assert not indicator.isVisible()

    clock.advance(hours=23)
    window.backup.timer.timeout.emit()  # not due yet: no second backup
    assert len(backups_in(folder)) == 1 and not indicator.isVisible()

    clock.advance(hours=2)  # 25 hours since the backup: older than the daily interval
    window.backup.refresh_status()
    assert indicator.isVisible() and "1天1小时前" in indicator.text()

    window.backup.timer.timeout.emit()  # due again: a second backup, the warning goes
    assert len(backups_in(folder)) == 2 and not indicator.isVisible()


def test_supervisors_see_the_warning_at_login_and_clerks_only_in_the_status_bar(
    qtbot: Any, shell: Any
) -> None:
    clerk = login(qtbot, shell)
    assert clerk.backup_indicator.isVisible()
    assert "备份" not in clerk.messages.text
    shell.logout()
    supervisor = login(qtbot, shell, "zhangjing", "super1234")
    assert supervisor.backup_indicator.isVisible()
    assert "本机尚无有效备份" in supervisor.messages.text


def test_an_old_backup_is_reported_at_the_next_login(
    qtbot: Any, shell: Any, folder: Path, clock: FixedClock
) -> None:
    window = login(qtbot, shell, "zhangjing", "super1234")
    window.messages.dismiss()
    window.backup.timer.timeout.emit()
    assert len(backups_in(folder)) == 1 and not window.backup_indicator.isVisible()
    shell.logout()
    clock.advance(days=3)
    window = login(qtbot, shell, "zhangjing", "super1234")
    assert "上次有效备份已是3天0小时前" in window.messages.text
    assert window.backup_indicator.isVisible()


def test_never_two_backups_at_once(
    qtbot: Any, shell: Any, runner: HeldPoolRunner, folder: Path
) -> None:
    window = login(qtbot, shell, "admin", "admin1234")
    dialog = window.show_backup_dialog()
    runner.hold = True  # the first backup is still running on the pool
    assert window.backup.check()
    assert not window.backup.run_now()
    assert not dialog.backup_button.isEnabled() and "正在备份" in dialog.result_label.text()
    assert len(runner.held) == 1
    runner.release()
    assert len(backups_in(folder)) == 1
    assert dialog.backup_button.isEnabled() and "备份完成" in dialog.result_label.text()


# ----------------------------------------------------------------------------- failures


class UnavailableStore:
    def get(self, name: str) -> str | None:
        from local_db.keys import SecretKeyError

        raise SecretKeyError("keys.keyring_unavailable")

    def set(self, name: str, value: str) -> None:
        self.get(name)


@pytest.mark.parametrize("problem", ["folder_is_a_file", "keyring_unavailable"])
def test_a_failing_backup_is_a_chinese_warning(
    qtbot: Any, shell: Any, ctx: Any, folder: Path, caplog: Any, problem: str
) -> None:
    if problem == "folder_is_a_file":
        folder.write_text("not a folder")
        expected = "不是文件夹"
    else:
        ctx.secrets = UnavailableStore()
        expected = "密钥环不可用"
    window = login(qtbot, shell, "admin", "admin1234")
    with caplog.at_level(logging.WARNING):
        window.backup.timer.timeout.emit()
    indicator = window.backup_indicator
    assert indicator.isVisible() and indicator.text().startswith("备份失败")
    assert expected in indicator.text()
    assert expected in window.messages.text and window.messages.level == "warning"
    for text in (indicator.text(), window.messages.text):
        assert "Traceback" not in text and "内部错误" not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no crash logged
    assert window.backup.failure is not None and window.backup.failure.code != "internal"
    assert window.backup.failed_at is not None


def test_after_a_failure_a_good_folder_clears_the_warning(
    qtbot: Any, shell: Any, ctx: Any, folder: Path, tmp_path: Path, secrets: Any
) -> None:
    folder.write_text("not a folder")
    window = login(qtbot, shell, "admin", "admin1234")
    window.backup.timer.timeout.emit()
    assert window.backup_indicator.text().startswith("备份失败")
    window.backup.timer.timeout.emit()  # within the retry wait: not tried again at once
    assert window.backup.failure is not None

    dialog = window.show_backup_dialog()
    good = tmp_path / "good"
    dialog.folder.setText(str(good))
    dialog.save_button.click()
    assert window.backup.policy.folder == good
    assert shell.settings.value(FOLDER.setting) == str(good)
    dialog.backup_button.click()
    assert len(backups_in(good)) == 1
    verifier(ctx, good, secrets).verify(backups_in(good)[0])
    assert not window.backup_indicator.isVisible() and window.backup.failure is None


# ----------------------------------------------------------------------------- roles and recovery


def test_admin_sees_the_recovery_code_only_after_the_password(
    qtbot: Any, shell: Any, ctx: Any, secrets: MemorySecretStore, folder: Path
) -> None:
    window = login(qtbot, shell, "admin", "admin1234")
    window.backup_action.trigger()  # 系统 › 备份…
    dialog = window.backup_dialog
    assert dialog is not None and dialog.isVisible() and dialog.recovery_box is not None
    assert not dialog.code_label.isVisible() and dialog.code_label.text() == ""

    dialog.password.setText("wrong-password")
    dialog.reveal_button.click()
    assert dialog.code_error.text() == "密码不正确。"
    assert dialog.code_label.text() == "" and not dialog.code_label.isVisible()

    dialog.password.setText("admin1234")
    dialog.reveal_button.click()
    code = dialog.code_label.text()
    assert code == recovery_code(get_or_create_key(secrets, KEY_NAME))
    assert dialog.code_label.isVisible() and dialog.code_error.text() == ""
    assert dialog.password.text() == ""  # not left in the field
    hint = dialog.code_hint.text()
    assert dialog.code_hint.isVisible() and "抄写" in hint and "本机以外" in hint
    assert "恢复备份" in hint

    # the code is the backup key: it opens the window's backups on another machine
    dialog.backup_button.click()
    verifier(ctx, folder, MemorySecretStore()).verify(
        backups_in(folder)[0], key=key_from_recovery_code(code)
    )

    dialog.reject()
    assert dialog.code_label.text() == ""  # closed: the code is gone from the dialog


def test_locking_the_window_closes_the_dialog_with_the_code(qtbot: Any, shell: Any) -> None:
    window = login(qtbot, shell, "admin", "admin1234")
    dialog = window.show_backup_dialog()
    dialog.password.setText("admin1234")
    dialog.reveal_button.click()
    assert dialog.code_label.text()
    window.lock()
    assert not dialog.isVisible() and dialog.code_label.text() == ""


def test_supervisor_backs_up_but_neither_configures_nor_sees_the_code(
    qtbot: Any, shell: Any, folder: Path
) -> None:
    window = login(qtbot, shell, "zhangjing", "super1234")
    window.backup_indicator.click()  # the warning opens the dialog
    dialog = window.backup_dialog
    assert dialog is not None and dialog.isVisible()
    assert "尚无有效备份" in dialog.warning_label.text()
    assert str(folder) in dialog.status_label.text()
    assert dialog.recovery_box is None and dialog.password is None
    assert dialog.folder.isReadOnly() and not dialog.hours.isEnabled()
    assert not dialog.save_button.isVisible()
    dialog.backup_button.click()
    assert len(backups_in(folder)) == 1
    assert not window.backup_indicator.isVisible() and "备份完成" in window.messages.text


def test_clerk_has_no_backup_action(qtbot: Any, shell: Any) -> None:
    window = login(qtbot, shell)  # wangfang, a clerk
    assert window.backup_action is None
    texts = [
        a.text()
        for menu in window.menuBar().actions()
        if menu.menu()
        for a in menu.menu().actions()
    ] + [m.text() for m in window.menuBar().actions()]
    assert not [t for t in texts if "备份" in t or "恢复码" in t]
    assert window.show_backup_dialog() is None
    assert window.backup_indicator.isVisible()  # the warning is there ...
    window.backup_indicator.click()  # ... but opens nothing for a clerk
    assert window.backup_dialog is None
    assert "负责人或管理员" in window.backup_indicator.toolTip()
