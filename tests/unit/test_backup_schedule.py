"""The window's backup schedule (app/backup_schedule.py): when a backup is due, the two settings,
one backup at a time, and file system failures as typed errors with Chinese messages."""

from __future__ import annotations

import datetime as dt
import errno
from pathlib import Path

import pytest

from app.backup import BackupError
from app.backup_schedule import (
    DEFAULT_HOURS,
    FOLDER,
    INTERVAL_HOURS,
    MAX_HOURS,
    BackupTurn,
    backup_due,
    load_policy,
    policy_values,
    run_backup,
    scheduled_turn,
)
from app.clock import FixedClock

T0 = dt.datetime(2024, 12, 2, 1, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


# ----------------------------------------------------------------------------- due or not


def test_due_when_there_never_was_a_backup() -> None:
    assert backup_due(T0, None, DAY)


def test_not_due_within_the_interval() -> None:
    assert not backup_due(T0, T0 - dt.timedelta(hours=23, minutes=59), DAY)


def test_due_once_the_interval_has_passed() -> None:
    assert backup_due(T0, T0 - DAY, DAY)
    assert backup_due(T0, T0 - dt.timedelta(days=3), DAY)


def test_the_interval_is_the_policys() -> None:
    last = T0 - dt.timedelta(hours=7)
    assert backup_due(T0, last, dt.timedelta(hours=6))
    assert not backup_due(T0, last, dt.timedelta(hours=8))


def test_due_when_the_last_backup_is_in_the_future() -> None:
    # the clock was set back since: waiting for that time would mean no backups for ages
    assert backup_due(T0, T0 + dt.timedelta(days=300), DAY)


def test_a_recent_failure_waits_before_trying_again() -> None:
    failed = T0 - dt.timedelta(minutes=30)
    assert not backup_due(T0, None, DAY, last_failure=failed, retry_after=dt.timedelta(hours=1))
    assert backup_due(T0, None, DAY, last_failure=failed, retry_after=dt.timedelta(minutes=20))


def test_the_retry_wait_is_never_longer_than_the_interval() -> None:
    failed = T0 - dt.timedelta(hours=2)
    assert backup_due(
        T0, None, dt.timedelta(hours=1), last_failure=failed, retry_after=dt.timedelta(hours=6)
    )


# ----------------------------------------------------------------------------- settings


def test_default_policy_is_daily_into_backups_beside_the_database(tmp_path: Path) -> None:
    policy = load_policy({}, tmp_path / "intake.sqlite3")
    assert policy.folder == tmp_path / "backups"
    assert policy.interval == dt.timedelta(hours=DEFAULT_HOURS) == DAY
    assert policy.folder_setting == ""


def test_stored_values_are_read_as_stored_by_an_ini_file(tmp_path: Path) -> None:
    policy = load_policy(
        {FOLDER.setting: f"  {tmp_path / 'usb'}  ", INTERVAL_HOURS.setting: "12"}, tmp_path / "x.db"
    )
    assert policy.folder == tmp_path / "usb"
    assert policy.interval == dt.timedelta(hours=12) and policy.hours == 12


@pytest.mark.parametrize(
    ("raw", "hours"), [("abc", DEFAULT_HOURS), (None, DEFAULT_HOURS), (0, 1), (10_000, MAX_HOURS)]
)
def test_a_bad_interval_falls_back_or_is_clamped(tmp_path: Path, raw: object, hours: int) -> None:
    assert load_policy({INTERVAL_HOURS.setting: raw}, tmp_path / "x.db").hours == hours


def test_values_written_read_back_the_same(tmp_path: Path) -> None:
    values = policy_values(str(tmp_path / "bk"), 6)
    assert set(values) == {FOLDER.setting, INTERVAL_HOURS.setting}
    policy = load_policy(values, tmp_path / "x.db")
    assert (policy.folder, policy.hours) == (tmp_path / "bk", 6)
    assert load_policy(policy_values("", 24), tmp_path / "x.db").folder == tmp_path / "backups"


# ----------------------------------------------------------------------------- running


class FakeService:
    """What the schedule uses of BackupService; RUN is what run() does."""

    def __init__(self, folder: Path, last_good: dt.datetime | None = None) -> None:
        self.backup_dir = folder
        self._last_good = last_good
        self.runs = 0
        self.run_hook = lambda: None

    def run(self) -> str:
        self.runs += 1
        self.run_hook()
        self._last_good = T0
        return "result"

    def last_good(self) -> dt.datetime | None:
        return self._last_good

    def warning(self, max_age: dt.timedelta) -> str | None:
        return "本机尚无有效备份，请立即备份。" if self._last_good is None else None


def test_scheduled_turn_backs_up_only_when_due(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    fresh = FakeService(tmp_path, last_good=T0 - dt.timedelta(hours=2))
    turn = scheduled_turn(fresh, DAY, clock)  # type: ignore[arg-type]
    assert turn == BackupTurn(None, turn.status) and fresh.runs == 0

    never = FakeService(tmp_path)
    turn = scheduled_turn(never, DAY, clock)  # type: ignore[arg-type]
    assert never.runs == 1 and turn.result == "result"
    assert turn.status.last_good == T0 and turn.status.warning is None


def test_never_two_backups_at_once(tmp_path: Path) -> None:
    service = FakeService(tmp_path)
    seen: list[str] = []

    def second_backup() -> None:  # another backup asked for while this one runs
        with pytest.raises(BackupError) as exc:
            run_backup(service)  # type: ignore[arg-type]
        seen.append(exc.value.code)

    service.run_hook = second_backup
    assert run_backup(service) == "result"  # type: ignore[arg-type]
    assert seen == ["backup.busy"] and service.runs == 1
    service.run_hook = lambda: None
    assert run_backup(service) == "result"  # type: ignore[arg-type]  # free again afterwards


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (FileExistsError(errno.EEXIST, "exists"), "backup.not_a_folder", "不是文件夹"),
        (NotADirectoryError(errno.ENOTDIR, "not a dir"), "backup.not_a_folder", "不是文件夹"),
        (OSError(errno.ENOSPC, "no space"), "backup.disk_full", "磁盘空间不足"),
        (PermissionError(errno.EACCES, "denied"), "backup.no_permission", "权限"),
        (FileNotFoundError(errno.ENOENT, "missing"), "backup.folder_missing", "找不到备份目录"),
        (OSError(errno.EIO, "io"), "backup.write_failed", "EIO"),
    ],
)
def test_file_system_failures_are_typed_errors(
    tmp_path: Path, error: OSError, code: str, words: str
) -> None:
    service = FakeService(tmp_path / "bk")

    def fail() -> None:
        raise error

    service.run_hook = fail
    with pytest.raises(BackupError) as exc:
        run_backup(service)  # type: ignore[arg-type]
    assert exc.value.code == code
    assert words in exc.value.message and str(tmp_path / "bk") in exc.value.message
    service.run_hook = lambda: None
    assert run_backup(service) == "result"  # type: ignore[arg-type]  # the lock was let go
