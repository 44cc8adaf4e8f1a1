"""The window's scheduled backups: where and how often (two declared settings), whether one is
due now (a pure function), and one backup at a time with its failures as typed errors.

Qt-free. The window's controller (ui/backup.py) reads the settings from QSettings, runs
`scheduled_turn` on the worker pool at every timer tick and `manual_turn` for 立即备份.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.options import BACKUP_FOLDER, BACKUP_INTERVAL_HOURS, Option

if TYPE_CHECKING:  # app.backup pulls in cryptography: only when a backup runs
    from app.backup import BackupError, BackupResult, BackupService
    from app.clock import Clock
    from app.staff import StaffService
    from app.views import StaffView
    from local_db.keys import SecretStore

log = logging.getLogger("intake.backup")

MIN_HOURS = int(BACKUP_INTERVAL_HOURS.minimum or 1)
MAX_HOURS = int(BACKUP_INTERVAL_HOURS.maximum or 24 * 7)
DEFAULT_HOURS = BACKUP_INTERVAL_HOURS.default  # daily
# After a failed attempt the schedule waits this long (or the interval, if shorter) before trying
# again: a missing drive must not be hammered every tick.
RETRY_AFTER = dt.timedelta(hours=1)


# ----------------------------------------------------------------------------- settings


# The two settings are declared with every other option (app/options.py).
FOLDER = BACKUP_FOLDER
INTERVAL_HOURS = BACKUP_INTERVAL_HOURS
OPTIONS = (FOLDER, INTERVAL_HOURS)


@dataclass(frozen=True)
class BackupPolicy:
    folder: Path
    interval: dt.timedelta
    folder_setting: str  # as configured; "" when the default folder is used

    @property
    def hours(self) -> int:
        return int(self.interval.total_seconds() // 3600)


def default_folder(db_path: Path) -> Path:
    """`backups` beside the database and its files dir: the CLI's default too."""
    return Path(db_path).parent / "backups"


def _hours(raw: object) -> int:
    try:
        hours = int(str(raw).strip())
    except (TypeError, ValueError):
        return DEFAULT_HOURS
    return min(MAX_HOURS, max(MIN_HOURS, hours))


def _key(option: Option[Any]) -> str:
    assert option.setting is not None
    return option.setting


def load_policy(values: Mapping[str, object], db_path: Path) -> BackupPolicy:
    """The policy from stored VALUES (keys of OPTIONS; missing or malformed: the defaults)."""
    folder = str(values.get(_key(FOLDER), FOLDER.default) or "").strip()
    hours = _hours(values.get(_key(INTERVAL_HOURS), INTERVAL_HOURS.default))
    return BackupPolicy(
        Path(folder) if folder else default_folder(db_path), dt.timedelta(hours=hours), folder
    )


def policy_values(folder: str, hours: int) -> dict[str, object]:
    """What to store for a folder (empty: the default) and an interval in hours."""
    return {_key(FOLDER): folder.strip(), _key(INTERVAL_HOURS): _hours(hours)}


# ----------------------------------------------------------------------------- the decision


def backup_due(
    now: dt.datetime,
    last_good: dt.datetime | None,
    interval: dt.timedelta,
    last_failure: dt.datetime | None = None,
    retry_after: dt.timedelta = RETRY_AFTER,
) -> bool:
    """Is a scheduled backup due at NOW?"""
    if last_failure is not None and dt.timedelta(0) <= now - last_failure < min(
        retry_after, interval
    ):
        return False
    if last_good is None or last_good > now:  # never, or the clock was set back since
        return True
    return now - last_good >= interval


# ----------------------------------------------------------------------------- running


@dataclass(frozen=True)
class BackupStatus:
    folder: Path
    last_good: dt.datetime | None
    warning: str | None  # BackupService.warning(): none, or too old


@dataclass(frozen=True)
class BackupTurn:
    result: BackupResult | None  # None: not due, nothing was run
    status: BackupStatus


# One backup at a time in this process, whichever window (or login) asked for it.
_RUNNING = threading.Lock()


def read_status(service: BackupService, interval: dt.timedelta) -> BackupStatus:
    return BackupStatus(service.backup_dir, service.last_good(), service.warning(interval))


def run_backup(service: BackupService) -> BackupResult:
    """SERVICE.run(), never two at once; file system failures as BackupError with a code."""
    from app.backup import BackupError

    if not _RUNNING.acquire(blocking=False):
        raise BackupError("backup.busy")
    try:
        return service.run()
    except OSError as exc:
        raise folder_error(exc, service.backup_dir) from exc
    except sqlite3.Error as exc:
        raise BackupError("backup.db_unreadable") from exc
    finally:
        _RUNNING.release()


def folder_error(exc: OSError, folder: Path) -> BackupError:
    from app.backup import BackupError

    code = exc.errno
    if code == errno.ENOSPC:
        return BackupError("backup.disk_full", folder=folder)
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return BackupError("backup.no_permission", folder=folder)
    if code in (errno.EEXIST, errno.ENOTDIR):
        return BackupError("backup.not_a_folder", folder=folder)
    if code == errno.ENOENT:
        return BackupError("backup.folder_missing", folder=folder)
    name = errno.errorcode.get(code or 0, type(exc).__name__)
    return BackupError("backup.write_failed", folder=folder, name=name)


def scheduled_turn(
    service: BackupService,
    interval: dt.timedelta,
    clock: Clock,
    last_failure: dt.datetime | None = None,
) -> BackupTurn:
    """A timer tick (pool thread): back up when due, then the status either way."""
    if backup_due(clock.now(), service.last_good(), interval, last_failure):
        result = run_backup(service)
        return BackupTurn(result, read_status(service, interval))
    return BackupTurn(None, read_status(service, interval))


def manual_turn(
    service: BackupService, interval: dt.timedelta, staff: StaffService, actor: StaffView
) -> BackupTurn:
    """立即备份 (pool thread): a person's action, so their right is checked (and a refusal
    audited); the schedule's own runs belong to the station."""
    staff.authorize(actor, "backup.run")
    result = run_backup(service)
    return BackupTurn(result, read_status(service, interval))


def show_recovery_code(
    staff: StaffService, secrets: SecretStore, actor: StaffView, password: str
) -> str:
    """The backup key as its recovery code (what restores backups and the encrypted data on a
    replacement machine): administrators only, password again, and audited."""
    from app.backup import KEY_NAME
    from local_db.keys import get_or_create_key, recovery_code

    staff.authorize(actor, "backup.recovery_code")
    staff.reauthenticate(actor, password)
    code = recovery_code(get_or_create_key(secrets, KEY_NAME))
    staff.record(actor, "backup.recovery_code_shown")
    return code
