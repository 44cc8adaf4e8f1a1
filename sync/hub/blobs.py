"""The hub's page store: files named by SHA-256, plus partial uploads that resume at an offset.

A complete blob is verified against its name, flushed and renamed into place, so it is either
whole or absent. A partial upload is a plain file whose length is the offset to resume from; it
survives a cut connection and a restart of the hub. Partial uploads belong to their uploader
(OWNER): one station never learns from an offset that another station is sending a page; which
complete pages a station holds is the store's business (hub_page_holders).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from local_db.attachments import write_atomic
from sync.protocol import is_sha256


class BlobError(Exception):
    def __init__(self, code: str, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset


class BlobStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.partial_dir = self.root / "partial"
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def path(self, sha: str) -> Path:
        if not is_sha256(sha):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha[:2] / sha[2:4] / sha

    def _partial(self, sha: str, owner: str = "") -> Path:
        if owner and not owner.isalnum():
            raise ValueError("owner must be alphanumeric")
        return self.partial_dir / (f"{sha}.{owner}.part" if owner else f"{sha}.part")

    def has(self, sha: str, size: int | None = None) -> bool:
        try:
            st = self.path(sha).stat()
        except FileNotFoundError:
            return False
        return size is None or st.st_size == size

    def offset(self, sha: str) -> int:
        """Bytes the hub holds of SHA: its size when complete, else the partial upload's length."""
        try:
            return self.path(sha).stat().st_size
        except FileNotFoundError:
            pass
        try:
            return self._partial(sha).stat().st_size
        except FileNotFoundError:
            return 0

    def partial_offset(self, sha: str, owner: str) -> int:
        """Bytes of OWNER's unfinished upload of SHA (0 when there is none)."""
        try:
            return self._partial(sha, owner).stat().st_size
        except FileNotFoundError:
            return 0

    def read(self, sha: str) -> bytes:
        return self.path(sha).read_bytes()

    @contextmanager
    def claim(self, sha: str) -> Iterator[bool]:
        """Exclusive right to write SHA's partial file (False: another upload holds it)."""
        with self._lock:
            if sha in self._busy:
                got = False
            else:
                self._busy.add(sha)
                got = True
        try:
            yield got
        finally:
            if got:
                with self._lock:
                    self._busy.discard(sha)

    def open_append(self, sha: str, owner: str = "") -> BinaryIO:
        return open(self._partial(sha, owner), "ab")

    def finish(
        self,
        sha: str,
        total: int,
        digest: str | None = None,
        deferred: list[str] | None = None,
        owner: str = "",
    ) -> None:
        """The partial file is complete: verify it, make it durable and move it into place.

        DIGEST is the hash when the writer saw every byte (else the file is read back). With
        DEFERRED the page is only verified and listed; `commit(deferred)` then makes a whole
        batch durable with two file-system syncs instead of two per page."""
        part = self._partial(sha, owner)
        with open(part, "rb") as f:
            if digest is None:
                h = hashlib.sha256()
                while chunk := f.read(1024 * 1024):
                    h.update(chunk)
                digest = h.hexdigest()
            size = os.fstat(f.fileno()).st_size
            if size == total and digest == sha and deferred is None:
                os.fsync(f.fileno())
        if size != total or digest != sha:
            part.unlink(missing_ok=True)
            raise BlobError("blob.hash_mismatch", "页面内容与其 SHA-256 不符，已丢弃，请从头重传")
        if deferred is not None:
            deferred.append(f"{sha}.{owner}" if owner else sha)
            return
        target = self.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
        _fsync_path(target.parent)

    def commit(self, deferred: list[str]) -> None:
        """Make verified partial pages durable, then move them into place (data before names,
        so a power cut never leaves a named page with missing bytes)."""
        if not deferred:
            return
        keys = [d.partition(".") for d in deferred]  # "sha" or "sha.owner"
        parts = [self._partial(sha, owner) for sha, _, owner in keys]
        self._sync([p for p in parts if p.exists()])
        dirs = set()
        for (sha, _, _owner), part in zip(keys, parts, strict=True):
            target = self.path(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(part, target)
            except FileNotFoundError:  # finished meanwhile by another upload of the same page
                continue
            dirs.add(target.parent)
        self._sync(sorted(dirs))
        deferred.clear()

    def _sync(self, paths: list[Path]) -> None:
        if not paths:
            return
        if _syncfs is not None:  # Linux: one flush of the file system for the whole batch
            fd = os.open(self.root, os.O_RDONLY)
            try:
                if _syncfs(fd) == 0:
                    return
            finally:
                os.close(fd)
        for p in paths:
            _fsync_path(p)

    def put(self, data: bytes) -> str:
        """A whole blob at once (USB import)."""
        sha = hashlib.sha256(data).hexdigest()
        if self.has(sha, len(data)):
            return sha
        write_atomic(self.path(sha), data)
        return sha


def _load_syncfs() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    return fn


_syncfs = _load_syncfs()


def _fsync_path(path: Path) -> None:
    """Flush a file or a directory to disk, best effort."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
