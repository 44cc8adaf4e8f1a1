"""One window per store: a lock file beside the database, held for as long as the window runs.

QLockFile writes the holder's process id, host and program name into the file and takes over a
lock whose process has died on this machine (a crash or kill leaves the file, not the lock)."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QLockFile

from local_db.errors import StoreError

log = logging.getLogger("intake.window")


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def lock_store(db_path: Path) -> QLockFile | None:
    """Take the store's lock; keep the returned object for as long as the window uses the store.

    Raises StoreError("store.in_use") naming the holder when another live process has it. None
    when the folder takes no lock file (read-only): opening the store reports that itself."""
    lock = QLockFile(str(lock_path(db_path)))
    lock.setStaleLockTime(0)  # never by age: only a dead holder frees the lock
    if lock.tryLock(0):
        return lock
    if lock.error() != QLockFile.LockError.LockFailedError:
        log.warning("store lock not taken: %s", lock.error().name)
        return None
    info = lock.getLockInfo()  # PySide6: (pid, host, program); empty values if unreadable
    pid, host, program = info[-3:] if isinstance(info, tuple) and len(info) >= 3 else (0, "", "")
    log.warning("store in use by process %s on %s", pid, host)
    if not pid:  # the holder is writing the file right now
        raise StoreError("store.in_use", variant=2, file=db_path.name)
    raise StoreError("store.in_use", file=db_path.name, pid=pid, host=host, program=program)
