import datetime as dt
from typing import ClassVar

import pytest

from app.backup import KEY_NAME, BackupError, BackupService
from app.context import build_context
from local_db.keys import (
    MemorySecretStore,
    SecretKeyError,
    get_or_create_key,
    key_from_recovery_code,
    recovery_code,
)

from .test_intake_service import new_intake

pytestmark = pytest.mark.integration


@pytest.fixture()
def backups(ctx, tmp_path, clock):
    # the machine's own keyring: its backup key also wraps the store's data key
    return BackupService(
        ctx.db_path, ctx.files_dir / "blobs", tmp_path / "backups", ctx.secrets, clock
    )


def _fill(ctx, staff):
    clerk = staff["clerk"]
    sids = []
    for _ in range(3):
        sid = new_intake(ctx, clerk)
        ctx.intake.finish(clerk, sid)
        ctx.pages.attach_page(
            clerk, sid, "household_register", f"page of {sid}".encode() * 300, "image/jpeg"
        )
        sids.append(sid)
    return sids


def test_backup_restores_to_an_identical_ledger(
    ctx, staff, backups, tmp_path, clock, newborn_catalog
):
    sids = _fill(ctx, staff)
    result = backups.run()
    assert result.blobs >= 3 and result.path.exists()
    plain = result.path.read_bytes()
    assert b"11010519491231002X" not in plain and b"page of" not in plain  # encrypted
    restored_db, restored_blobs = (
        tmp_path / "restored" / "intake.sqlite3",
        tmp_path / "restored" / "intake-files" / "blobs",
    )
    restored_db.parent.mkdir()
    backups.restore(result.path, restored_db, restored_blobs)
    other = build_context(restored_db, clock=clock, catalog_path=newborn_catalog)
    try:
        day = dt.date(2024, 12, 2)
        assert other.queries.ledger(day) == ctx.queries.ledger(day)
        for sid in sids:
            page = other.queries.get(sid).pages[0]
            assert other.pages.page_bytes(page) == f"page of {sid}".encode() * 300
    finally:
        other.close()


def test_consistent_while_the_app_writes(ctx, staff, backups):
    clerk = staff["clerk"]
    sid = ctx.intake.start(clerk)  # an open write-ahead log with recent commits
    manifest = backups.verify(backups.run().path)
    assert manifest["db_sha256"]
    assert ctx.queries.get(sid).stage == "draft"


@pytest.mark.parametrize("where", ["header", "middle", "end"])
def test_any_flipped_byte_is_detected(ctx, staff, backups, where):
    _fill(ctx, staff)
    path = backups.run().path
    data = bytearray(path.read_bytes())
    pos = {"header": 3, "middle": len(data) // 2, "end": len(data) - 2}[where]
    data[pos] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError) as exc:
        backups.verify(path)
    assert exc.value.code.startswith("backup.") and exc.value.message


def test_truncated_backup(ctx, staff, backups):
    _fill(ctx, staff)
    path = backups.run().path
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(BackupError) as exc:
        backups.verify(path)
    assert exc.value.code in ("backup.truncated", "backup.tampered")


def test_restore_on_a_new_machine_with_the_recovery_code(
    ctx, staff, tmp_path, clock, newborn_catalog
):
    secrets = ctx.secrets
    svc = BackupService(ctx.db_path, ctx.files_dir / "blobs", tmp_path / "b", secrets, clock)
    _fill(ctx, staff)
    path = svc.run().path
    code = recovery_code(get_or_create_key(secrets, KEY_NAME))
    new_keyring = MemorySecretStore()
    new_machine = BackupService(
        tmp_path / "x.db", tmp_path / "xb", tmp_path / "b", new_keyring, clock
    )
    with pytest.raises(BackupError) as exc:  # a fresh key is not the old one
        new_machine.verify(path)
    assert exc.value.code == "backup.wrong_key_or_tampered" and "恢复码" in exc.value.message
    target = tmp_path / "new" / "intake.sqlite3"
    target.parent.mkdir()
    new_machine.restore(
        path,
        target,
        tmp_path / "new" / "intake-files" / "blobs",
        key=key_from_recovery_code(code.lower()),
    )
    # the data key came back with the code: the encrypted ledger and pages read as before
    restored = build_context(target, clock=clock, catalog_path=newborn_catalog, secrets=new_keyring)
    try:
        day = dt.date(2024, 12, 2)
        assert restored.queries.ledger(day) == ctx.queries.ledger(day)
        page = restored.queries.get(restored.queries.ledger(day)[0].submission_id).pages[0]
        assert restored.pages.page_bytes(page).startswith(b"page of")
    finally:
        restored.close()
    with pytest.raises(SecretKeyError):
        key_from_recovery_code("ABCD-EFGH")


def test_warning_when_the_last_good_backup_is_old(ctx, staff, backups, clock):
    assert "尚无有效备份" in backups.warning()
    backups.run()
    assert backups.warning() is None
    clock.advance(days=2)
    assert "2天" in backups.warning()


def test_broken_key_in_the_keyring_gives_a_recovery_message(ctx, tmp_path, clock):
    svc = BackupService(
        ctx.db_path,
        ctx.files_dir / "blobs",
        tmp_path / "b",
        MemorySecretStore({KEY_NAME: "garbage"}),
        clock,
    )
    with pytest.raises(SecretKeyError) as exc:
        svc.run()
    assert exc.value.code == "keys.malformed" and "恢复码" in exc.value.message


def test_backup_cli_round_trip(tmp_path, monkeypatch, capsys):
    import json

    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1
        store: ClassVar[dict] = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        from app.cli import main

        db = tmp_path / "a.sqlite3"
        assert main(["demo-data", "--count", "30", "--days", "2", "--db", str(db), "--json"]) == 0
        capsys.readouterr()
        assert main(["backup", "run", "--db", str(db), "--json"]) == 0
        file = json.loads(capsys.readouterr().out)["file"]
        assert main(["backup", "recovery-code", "--db", str(db), "--json"]) == 0
        code = json.loads(capsys.readouterr().out)["recovery_code"]
        Memory.store.clear()  # a replacement machine: empty keyring, the code written down
        assert (
            main(
                [
                    "backup",
                    "restore",
                    file,
                    "--to",
                    str(tmp_path / "r.sqlite3"),
                    "--recovery-code",
                    code,
                    "--db",
                    str(db),
                    "--json",
                ]
            )
            == 0
        )
        capsys.readouterr()
        assert main(["ledger", "--db", str(tmp_path / "r.sqlite3"), "--json"]) == 0
        restored = json.loads(capsys.readouterr().out)
        assert main(["ledger", "--db", str(db), "--json"]) == 0
        assert restored == json.loads(capsys.readouterr().out)
    finally:
        keyring.set_keyring(previous)


def test_the_last_good_backup_is_kept_per_database(ctx, staff, tmp_path, clock):
    shared = tmp_path / "shared-backups"
    real = BackupService(ctx.db_path, ctx.files_dir / "blobs", shared, ctx.secrets, clock)
    demo = BackupService(
        tmp_path / "demo.sqlite3", tmp_path / "demo-files" / "blobs", shared, ctx.secrets, clock
    )
    real.run()
    assert real.warning() is None and demo.last_good() is None
