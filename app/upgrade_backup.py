"""Before alembic upgrades a store: an encrypted, verified copy beside it; after a failed upgrade:
the store put back as it was.

The copy is a database-only backup in the format of app/backup.py (AES-256-GCM chunks under the
backup key, so `intake backup verify|restore` read it too), named
``<store>.before-<revision>-<YYYYmmdd-HHMMSS>.yjsbak`` in the store's folder. Attachments are not
copied: migrations never touch the content-addressed page files.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from local_db.errors import StoreError
from local_db.keys import SecretStore

log = logging.getLogger("intake.store")


class UpgradeBackup:
    """The guard open_store runs around an upgrade (local_db.engine.UpgradeGuard)."""

    def __init__(self, secrets: SecretStore) -> None:
        self._secrets = secrets

    def before(self, db: Path, from_revision: str, to_revision: str) -> Path:
        return backup_before_upgrade(db, self._secrets, from_revision, to_revision)

    def restore(self, db: Path, backup: Path, cause: BaseException) -> StoreError:
        return restore_after_failed_upgrade(db, backup, self._secrets, cause)


def backup_path(db: Path, to_revision: str, now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return db.with_name(f"{db.stem}.before-{to_revision}-{stamp}.yjsbak")


def _service(db: Path, secrets: SecretStore):  # type: ignore[no-untyped-def]
    from app.backup import BackupService

    # No blobs: the empty folder is never written to.
    return BackupService(db, db.parent / ".no-blobs", db.parent, secrets)


def backup_before_upgrade(
    db: Path, secrets: SecretStore, from_revision: str, to_revision: str
) -> Path:
    """Write and verify the copy; StoreError (nothing upgraded) when it cannot be written."""
    from app.backup import BackupError, _sha256_file, write_archive

    service = _service(db, secrets)
    target = backup_path(db, to_revision)
    try:
        key = service._key()
        with tempfile.TemporaryDirectory(dir=db.parent) as tmp:
            snap = Path(tmp) / "intake.sqlite3"
            service._snapshot(snap)
            manifest = {
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "db_sha256": _sha256_file(snap),
                "blobs": {},
                "purpose": "before-upgrade",
                "from_revision": from_revision,
                "to_revision": to_revision,
            }
            partial = Path(tmp) / (target.name + ".part")
            write_archive(partial, key, manifest, [(snap, "db/intake.sqlite3")])
            service.verify(partial, key)  # decrypts it all, checks hash and integrity
            os.replace(partial, target)
    except (OSError, BackupError) as exc:
        log.error("no backup before upgrading %s: %s", db.name, exc.__class__.__name__)
        if isinstance(exc, BackupError):
            raise StoreError(
                "store.upgrade_backup_failed", file=db.name, reason=exc.message
            ) from exc
        raise StoreError("store.upgrade_backup_failed", variant=2, file=db.name) from exc
    log.info(
        "store %s backed up before upgrade %s -> %s: %s",
        db.name,
        from_revision,
        to_revision,
        target.name,
    )
    return target


def restore_after_failed_upgrade(
    db: Path, backup: Path, secrets: SecretStore, cause: BaseException
) -> StoreError:
    """Put the store back from BACKUP (the engine must be disposed); the error to raise."""
    service = _service(db, secrets)
    try:
        with tempfile.TemporaryDirectory(dir=db.parent) as tmp:
            service._extract(backup, service._key(), Path(tmp))
            restored = Path(tmp) / "db" / "intake.sqlite3"
            con = sqlite3.connect(restored)
            try:
                ok = con.execute("pragma integrity_check").fetchone()[0] == "ok"
            finally:
                con.close()
            if not ok:
                raise OSError("restored copy fails integrity_check")
            for suffix in ("-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            shutil.move(restored, db)
    except Exception as exc:
        log.error(
            "upgrade of %s failed (%s) and the restore failed too (%s); backup kept: %s",
            db.name,
            cause.__class__.__name__,
            exc.__class__.__name__,
            backup.name,
        )
        return StoreError("store.upgrade_failed_unrestored", file=db.name, backup=backup.name)
    log.error(
        "upgrade of %s failed (%s); store restored from %s",
        db.name,
        cause.__class__.__name__,
        backup.name,
    )
    return StoreError("store.upgrade_failed", file=db.name, backup=backup.name)
