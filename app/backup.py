"""Encrypted, verified backups of the database and attachments, and their restore.

A backup is one file: a tar stream (database snapshot, every attachment blob — already encrypted
under the store's data key —, a manifest) encrypted in 1 MiB chunks with AES-256-GCM. The snapshot comes from SQLite's
online backup API, so it is consistent while the window keeps working. Each chunk's nonce
carries its index and a final flag, so a removed, reordered, truncated or altered chunk fails
authentication. The key lives in the OS keyring; its recovery code (local_db.keys.recovery_code) is
what an administrator writes down to restore on a replacement machine. The database carries its
data key wrapped with this same backup key, so a restore with the recovery code also puts the
data key into the new machine's keyring (local_db.crypto.recover_data_key).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import struct
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.clock import Clock, SystemClock
from local_db.crypto import BACKUP_KEY_NAME, recover_data_key
from local_db.errors import DomainError
from local_db.keys import SecretStore, get_or_create_key

log = logging.getLogger("intake.backup")

MAGIC = b"YJSBK1\n"
CHUNK = 1 << 20
KEY_NAME = BACKUP_KEY_NAME
LAST_GOOD = "backup.last_good"


class BackupError(DomainError):
    pass


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    created_at: dt.datetime
    blobs: int
    db_sha256: str


class _EncryptingWriter(io.RawIOBase):
    """File-like sink: buffers plaintext, writes authenticated chunks."""

    def __init__(self, out: IO[bytes], key: bytes, file_id: bytes) -> None:
        self._out = out
        self._aead = AESGCM(key)
        self._file_id = file_id  # 8 random bytes, also in the header
        self._buf = bytearray()
        self._index = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._buf += data
        while len(self._buf) >= CHUNK:
            self._emit(bytes(self._buf[:CHUNK]), final=False)
            del self._buf[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, final: bool) -> None:
        nonce = self._file_id[:7] + struct.pack(">IB", self._index, 1 if final else 0)
        sealed = self._aead.encrypt(nonce, plain, MAGIC)
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def finish(self) -> None:
        self._emit(bytes(self._buf), final=True)
        self._buf.clear()


def _decrypt_chunks(f: IO[bytes], key: bytes) -> Iterator[bytes]:
    if f.read(len(MAGIC)) != MAGIC:
        raise BackupError("backup.not_a_backup")
    file_id = f.read(8)
    aead = AESGCM(key)
    index = 0
    while True:
        head = f.read(4)
        if len(head) < 4:
            raise BackupError("backup.truncated")
        (length,) = struct.unpack(">I", head)
        sealed = f.read(length)
        if len(sealed) != length:
            raise BackupError("backup.truncated")
        for final in (False, True):
            nonce = file_id[:7] + struct.pack(">IB", index, 1 if final else 0)
            try:
                plain = aead.decrypt(nonce, sealed, MAGIC)
                break
            except InvalidTag:
                continue
        else:
            if index == 0:
                raise BackupError("backup.wrong_key_or_tampered")
            raise BackupError("backup.tampered", number=index + 1)
        yield plain
        index += 1
        if final:
            if f.read(1):
                raise BackupError("backup.tampered", variant=3)
            return


class _ChunkReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def write_archive(
    path: Path, key: bytes, manifest: Mapping[str, object], members: Iterable[tuple[Path, str]]
) -> None:
    """A backup file: MAGIC, a random file id, then the tar of the manifest and MEMBERS (file,
    name in the archive) in AES-GCM chunks under KEY; synced to disk before it is renamed."""
    with open(path, "wb") as out:
        out.write(MAGIC)
        file_id = os.urandom(8)
        out.write(file_id)
        enc = _EncryptingWriter(out, key, file_id)
        with tarfile.open(fileobj=enc, mode="w|") as tar:
            tar.addfile(*_member("manifest.json", json.dumps(manifest).encode()))
            for source, arcname in members:
                tar.add(source, arcname=arcname)
        enc.finish()
        out.flush()
        os.fsync(out.fileno())


class BackupService:
    def __init__(
        self,
        db_path: Path,
        blobs_dir: Path,
        backup_dir: Path,
        secrets: SecretStore,
        clock: Clock | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.blobs_dir = Path(blobs_dir)
        # Archived catalog versions live beside the blobs: old receipts must stay reproducible.
        self.catalogs_dir = self.blobs_dir.parent / "catalogs"
        self.backup_dir = Path(backup_dir)
        self._secrets = secrets
        self._clock = clock or SystemClock()

    def _key(self) -> bytes:
        return get_or_create_key(self._secrets, KEY_NAME)

    def run(self) -> BackupResult:
        """Make a backup, then verify it by reading it back in full."""
        key = self._key()
        now = self._clock.now()
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        name = f"intake-{now.strftime('%Y%m%d-%H%M%S')}.yjsbak"
        target = self.backup_dir / name
        with tempfile.TemporaryDirectory(dir=self.backup_dir) as tmp:
            snap = Path(tmp) / "intake.sqlite3"
            self._snapshot(snap)
            blobs = sorted(
                p for p in self.blobs_dir.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
            db_sha256 = _sha256_file(snap)
            manifest = {
                "created_at": now.isoformat(),
                "db_sha256": db_sha256,
                "blobs": {p.name: p.stat().st_size for p in blobs},
            }
            partial = Path(tmp) / (name + ".part")
            catalogs = (
                sorted(self.catalogs_dir.glob("*.json")) if self.catalogs_dir.exists() else []
            )
            write_archive(
                partial,
                key,
                manifest,
                [
                    (snap, "db/intake.sqlite3"),
                    *((p, f"blobs/{p.name}") for p in blobs),
                    *((p, f"catalogs/{p.name}") for p in catalogs),
                ],
            )
            self.verify(partial)
            os.replace(partial, target)
        log.info("backup written: %s (%d blobs)", name, len(blobs))
        self._record_good(now, target)
        return BackupResult(target, target.stat().st_size, now, len(blobs), db_sha256)

    def _snapshot(self, dest: Path) -> None:
        src = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)  # consistent copy while others write (WAL)
        except sqlite3.DatabaseError as exc:
            raise BackupError("backup.db_unreadable") from exc
        finally:
            dst.close()
            src.close()

    def _open(self, path: Path, key: bytes) -> tuple[IO[bytes], tarfile.TarFile]:
        f = open(path, "rb")  # noqa: SIM115 - handed to the caller, who closes it
        raw = _ChunkReader(_decrypt_chunks(f, key))
        reader = io.BufferedReader(raw, buffer_size=CHUNK)  # type: ignore[type-var]  # a RawIOBase
        return f, tarfile.open(fileobj=reader, mode="r|")

    def verify(self, path: Path, key: bytes | None = None) -> dict[str, object]:
        """Decrypt everything, check every hash and the database's integrity; the manifest."""
        key = key or self._key()
        with tempfile.TemporaryDirectory() as tmp:
            manifest = self._extract(path, key, Path(tmp))
            con = sqlite3.connect(Path(tmp) / "db" / "intake.sqlite3")
            try:
                ok = con.execute("pragma integrity_check").fetchone()[0]
            finally:
                con.close()
            if ok != "ok":
                raise BackupError("backup.db_corrupt")
        return manifest

    def _extract(self, path: Path, key: bytes, dest: Path) -> dict[str, object]:
        try:
            f, tar = self._open(path, key)
        except FileNotFoundError as exc:
            raise BackupError("backup.missing", path_name=path.name) from exc
        manifest: dict[str, object] | None = None
        seen: dict[str, str] = {}
        sizes: dict[str, int] = {}
        try:
            with f, tar:
                for member in tar:
                    if not member.isfile() or ".." in member.name or member.name.startswith("/"):
                        raise BackupError("backup.tampered", variant=7)
                    data = tar.extractfile(member)
                    assert data is not None
                    if member.name == "manifest.json":
                        manifest = json.loads(data.read())
                        continue
                    out = dest / member.name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    h = hashlib.sha256()
                    with open(out, "wb") as w:
                        for block in iter(functools.partial(data.read, CHUNK), b""):
                            h.update(block)
                            w.write(block)
                    seen[member.name] = h.hexdigest()
                    sizes[member.name] = member.size
        except tarfile.TarError as exc:
            raise BackupError("backup.tampered", variant=4) from exc
        if manifest is None or seen.get("db/intake.sqlite3") != manifest["db_sha256"]:
            raise BackupError("backup.tampered", variant=2)
        blobs = manifest["blobs"]
        assert isinstance(blobs, dict)
        for name, size in blobs.items():
            # Blob files are ciphertext under keyed names; their own AES-GCM tags and this
            # backup's chunk tags cover their content, the manifest covers their presence.
            if sizes.get(f"blobs/{name}") != size:
                raise BackupError("backup.tampered", variant=5)
        for arcname, digest in seen.items():
            # catalogs are named by the SHA-256 of their content too
            if arcname.startswith("catalogs/") and arcname != f"catalogs/{digest}.json":
                raise BackupError("backup.tampered", variant=6)
        return manifest

    def restore(
        self, path: Path, db_target: Path, blobs_target: Path, *, key: bytes | None = None
    ) -> dict[str, object]:
        """Restore into new locations (never over a live database); returns the manifest."""
        key = key or self._key()
        if db_target.exists():
            raise BackupError("backup.target_exists", file_name=db_target.name)
        with tempfile.TemporaryDirectory(dir=db_target.parent) as tmp:
            manifest = self._extract(path, key, Path(tmp))
            blobs_target.mkdir(parents=True, exist_ok=True)
            for p in (Path(tmp) / "blobs").glob("*") if (Path(tmp) / "blobs").exists() else []:
                final = blobs_target / p.name[:2] / p.name[2:4] / p.name
                final.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(p, final)  # may cross file systems
            catalogs = Path(tmp) / "catalogs"
            if catalogs.exists():
                target_catalogs = blobs_target.parent / "catalogs"
                target_catalogs.mkdir(parents=True, exist_ok=True)
                for p in catalogs.glob("*.json"):
                    shutil.move(p, target_catalogs / p.name)
            shutil.move(Path(tmp) / "db" / "intake.sqlite3", db_target)
        try:
            recover_data_key(db_target, key, self._secrets)
        except DomainError as exc:
            raise BackupError("backup.key_not_stored", cause=exc.code, reason=exc.message) from exc
        return manifest

    # -- the window's warning ---------------------------------------------------------------

    def _state_file(self) -> Path:
        # per database: a demo store beside the real one must not clear the real one's warning
        return self.backup_dir / f"{self.db_path.stem}.last_good.json"

    def _record_good(self, at: dt.datetime, path: Path) -> None:
        tmp = self._state_file().with_suffix(".tmp")
        tmp.write_text(json.dumps({"at": at.isoformat(), "file": path.name}))
        tmp.replace(self._state_file())

    def last_good(self) -> dt.datetime | None:
        try:
            return dt.datetime.fromisoformat(json.loads(self._state_file().read_text())["at"])
        except (OSError, ValueError, KeyError):
            return None

    def warning(self, max_age: dt.timedelta = dt.timedelta(days=1)) -> str | None:
        """Chinese text for the window when the last good backup is too old (or missing)."""
        last = self.last_good()
        if last is None:
            return "本机尚无有效备份，请立即备份。"
        age = self._clock.now() - last
        if age > max_age:
            return f"上次有效备份已是{age.days}天{age.seconds // 3600}小时前，请尽快备份。"
        return None


def _member(name: str, data: bytes) -> tuple[tarfile.TarInfo, IO[bytes]]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, io.BytesIO(data)
