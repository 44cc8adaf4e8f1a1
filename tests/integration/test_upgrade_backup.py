"""Upgrading a store: an encrypted, verified backup beside it first; a failed upgrade puts the
store back and says so. The store is filled at today's schema, taken back one revision with
alembic's own downgrade, and opened again as the new release does."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select

from app.audit import verify as verify_audit
from app.backup import BackupService
from app.context import build_context
from app.upgrade_backup import UpgradeBackup
from local_db.engine import _alembic_config, open_store, upgrade_backup
from local_db.errors import StoreError
from local_db.models import Attachment, AuditEntry, Submission

from .test_intake_service import new_intake

pytestmark = [
    pytest.mark.integration,
    pytest.mark.expect_log(logging.ERROR, "intake.store", r"^upgrade of .* failed"),
]

PREVIOUS = "0004"  # the schema of the previous release, by hand


def _fill(ctx, staff) -> dict[str, int]:
    clerk = staff["clerk"]
    for _ in range(3):
        sid = new_intake(ctx, clerk)
        ctx.intake.finish(clerk, sid)
        ctx.pages.attach_page(
            clerk, sid, "household_register", f"page {sid}".encode() * 200, "image/jpeg"
        )
    return _counts(ctx.db_path)


def _counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {
            t: con.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("submissions", "attachments", "audit_entries", "events")
        }
    finally:
        con.close()


def _revision(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("select version_num from alembic_version").fetchone()[0]
    finally:
        con.close()


def _downgrade(db: Path, to: str, secrets) -> None:  # type: ignore[no-untyped-def]
    from local_db.crypto import load_data_key

    engine = create_engine(f"sqlite:///{db}")
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["data_key_loader"] = lambda cur: load_data_key(
            cur, secrets
        )  # 0008's digests
        command.downgrade(cfg, to)
    engine.dispose()


@pytest.fixture()
def old_store(ctx, staff):
    before = _fill(ctx, staff)
    db, secrets = ctx.db_path, ctx.secrets
    ctx.close()
    _downgrade(db, PREVIOUS, secrets)
    assert _revision(db) == PREVIOUS
    return db, secrets, before


def test_upgrade_writes_a_verified_encrypted_backup_and_keeps_every_intake(
    old_store, caplog, clock, newborn_catalog
):
    db, secrets, before = old_store
    with caplog.at_level(logging.INFO, logger="intake.store"):
        sessions = open_store(db, secrets=secrets, upgrade_guard=UpgradeBackup(secrets))
    backup = upgrade_backup(sessions)
    sessions.kw["bind"].dispose()

    assert backup is not None and backup.parent == db.parent and backup.exists()
    assert backup.name.startswith(f"{db.stem}.before-") and backup.suffix == ".yjsbak"
    assert backup.name in caplog.text  # named in the log
    raw = backup.read_bytes()
    assert b"SQLite format 3" not in raw and b"alembic_version" not in raw  # encrypted
    manifest = BackupService(db, db.parent / "x", db.parent, secrets).verify(backup)
    assert (manifest["from_revision"], manifest["purpose"]) == (PREVIOUS, "before-upgrade")
    # The store is upgraded and nothing is lost.
    assert _revision(db) != PREVIOUS
    assert _counts(db) == before
    ctx = build_context(db, clock=clock, catalog_path=newborn_catalog, secrets=secrets)
    try:
        with ctx.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Submission)) == before["submissions"]
            pages = s.scalars(select(Attachment)).all()
            assert verify_audit(s) == []
            assert s.scalar(select(func.count()).select_from(AuditEntry)) == before["audit_entries"]
        assert len(pages) == before["attachments"] == 3
    finally:
        ctx.close()


def test_a_current_store_is_not_backed_up_again(tmp_path):
    open_store(tmp_path / "a.sqlite3").kw["bind"].dispose()
    sessions = open_store(tmp_path / "a.sqlite3")
    assert upgrade_backup(sessions) is None
    assert list(tmp_path.glob("*.yjsbak")) == []


def test_a_failed_upgrade_puts_the_store_back_and_says_so(old_store, monkeypatch):
    db, secrets, before = old_store
    real_upgrade = command.upgrade

    def upgrade_then_fail(cfg, revision):  # the migration commits, then the machine fails
        real_upgrade(cfg, revision)
        cfg.attributes["connection"].commit()
        raise OSError("disk I/O error")

    monkeypatch.setattr(command, "upgrade", upgrade_then_fail)
    with pytest.raises(StoreError) as err:
        open_store(db, secrets=secrets, upgrade_guard=UpgradeBackup(secrets))

    assert err.value.code == "store.upgrade_failed"
    backups = list(db.parent.glob("*.yjsbak"))
    assert len(backups) == 1 and backups[0].name in err.value.message
    assert "升级失败" in err.value.message and "已恢复" in err.value.message
    assert _revision(db) == PREVIOUS  # as it was before
    assert _counts(db) == before
    con = sqlite3.connect(db)
    try:
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()


# Warnings these tests provoke on purpose (the log-failure fixture fails any other).
