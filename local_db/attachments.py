"""Content-addressed file store for page images and printed PDFs, encrypted at rest.

Callers name a blob by the SHA-256 of its plaintext; on disk it is AES-GCM ciphertext under
the store's data key (local_db.crypto), in a file whose name is `address`: an HMAC of that
digest under a key derived from the data key. The database keeps the same keyed address (and the
digest only encrypted), so neither a disk nor a database copy confirms that a known page is here.

A blob is written to a temporary file in the target directory, flushed to disk, then renamed
into place, so a reader never sees half a file and a power cut leaves either nothing or the
whole blob. Writing the same content twice is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from local_db.crypto import DataKey
from local_db.errors import StoreError

OVERHEAD = 4 + 12 + 16  # magic, nonce, tag


def write_atomic(target: Path, data: bytes) -> None:
    """Write DATA to TARGET so a reader sees nothing or all of it, and it survives a power cut:
    a temporary file beside it, flushed to disk, renamed into place, the directory flushed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class AttachmentStore:
    def __init__(self, root: Path | str, key: DataKey) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._key = key

    def address(self, sha256: str) -> str:
        """The keyed address of a page (its file name, and the database's lookup column)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self._key.blob_name(sha256)

    def path(self, sha256: str) -> Path:
        name = self.address(sha256)
        return self.root / name[:2] / name[2:4] / name

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def put(self, data: bytes, *, durable: bool = True) -> str:
        """Store DATA; returns its SHA-256. durable=False skips the flushes (bulk set-up of
        benchmarks only: a power cut may then lose the file)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists() and target.stat().st_size == len(data) + OVERHEAD:
            return digest
        sealed = self._key.encrypt_blob(data, digest)
        if not durable:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(sealed)
            return digest
        try:
            write_atomic(target, sealed)
        except OSError as exc:
            if exc.errno == 28:  # ENOSPC
                raise StoreError("store.disk_full") from exc
            raise StoreError("store.attachment_write") from exc
        return digest

    def get(self, sha256: str, verify: bool = True) -> bytes:
        try:
            sealed = self.path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise StoreError("store.attachment_missing", sha256=sha256) from exc
        try:
            data = self._key.decrypt_blob(sealed, sha256)
        except StoreError as exc:
            raise StoreError("store.attachment_corrupt", variant=2, sha256=sha256) from exc
        if verify and hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError("store.attachment_corrupt", sha256=sha256)
        return data
