"""The hub's page store: pages named by SHA-256, sealed under their county's data key, in a local
directory (a small county, tests) or S3-compatible object storage (MinIO, Ceph RGW, 阿里云 OSS,
华为 OBS); plus partial uploads that resume at an offset.

A partial upload is a plain file in the hub process's spool directory whose length is the offset
to resume from; it survives a cut connection and a restart. Partial uploads belong to their
uploader (OWNER): one station never learns from an offset that another station is sending a
page. Once whole, a page is verified against its name, sealed and stored — a file flushed and
renamed into place, or an object the store has confirmed — and only then acknowledged; which
complete pages a station holds is the database's business (hub_page_holders). Processes sharing
a spool directory exclude each other with file locks; a resume that reaches a process with
another spool starts that page again (content addressed: nothing is stored twice).
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
from sync.hub.crypto import DEFAULT_SCOPE, MAGIC, Sealer
from sync.protocol import is_sha256

try:
    import fcntl
except ImportError:  # not on Windows: one process there
    fcntl = None  # type: ignore[assignment]


class BlobError(Exception):
    """CODE blob.hash_mismatch: the bytes are not the page (dropped; sending them again will not
    help). CODE blob.store_unavailable: the object store did not confirm (the bytes are kept)."""

    def __init__(self, code: str, message: str, offset: int = 0, done: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset
        self.done = done or []

    @property
    def retry(self) -> bool:
        return self.code != "blob.hash_mismatch"


def _unavailable(done: list[str] | None = None) -> BlobError:
    return BlobError("blob.store_unavailable", "平台页面存储暂时不可用，请稍后重试", done=done)


class BlobStore:
    """Pages as files under ROOT (ROOT/partial is the spool)."""

    backend = "local"

    def __init__(self, root: Path | str, *, sealer: Sealer | None) -> None:
        self.root = Path(root)
        self.partial_dir = self.root / "partial"
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self.sealer = sealer  # None: pages stored as sent (only for tests of the HTTP layer)
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ complete pages

    def path(self, sha: str) -> Path:
        if not is_sha256(sha):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha[:2] / sha[2:4] / sha

    def stored_size(self, sha: str) -> int | None:
        """The page's size (not its sealed size) when it is stored, else None."""
        try:
            with open(self.path(sha), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                return size - Sealer.overhead(f.read(5))
        except FileNotFoundError:
            return None

    def has(self, sha: str, size: int | None = None) -> bool:
        stored = self.stored_size(sha)
        return stored is not None and (size is None or stored == size)

    def held(self, sha: str, size: int | None, holder: bool) -> bool:
        """Whether a page a station's holder row (HOLDER) names is there: on disk, checked."""
        return holder and self.has(sha, size)

    def offset(self, sha: str) -> int:
        """Bytes the hub holds of SHA: its size when complete, else the partial upload's length."""
        stored = self.stored_size(sha)
        if stored is not None:
            return stored
        try:
            return self._partial(sha).stat().st_size
        except FileNotFoundError:
            return 0

    def read(self, sha: str) -> bytes:
        return self._open(sha, self.path(sha).read_bytes())

    def _open(self, sha: str, stored: bytes) -> bytes:
        return self.sealer.open(stored, sha.encode()) if self.sealer else stored

    def _seal(self, sha: str, data: bytes, scope: str) -> bytes:
        return self.sealer.seal(scope, data, sha.encode()) if self.sealer else data

    # ------------------------------------------------------------------ uploads

    def _partial(self, sha: str, owner: str = "") -> Path:
        if owner and not owner.isalnum():
            raise ValueError("owner must be alphanumeric")
        return self.partial_dir / (f"{sha}.{owner}.part" if owner else f"{sha}.part")

    def partial_offset(self, sha: str, owner: str) -> int:
        """Bytes of OWNER's unfinished upload of SHA (0 when there is none)."""
        try:
            return self._partial(sha, owner).stat().st_size
        except FileNotFoundError:
            return 0

    @contextmanager
    def claim(self, key: str) -> Iterator[bool]:
        """Exclusive right to write KEY's partial file (False: another upload holds it, in this
        process or in another one sharing the spool)."""
        with self._lock:
            got = key not in self._busy
            if got:
                self._busy.add(key)
        fd = self._lock_file(key) if got else None
        if got and fd is None:
            with self._lock:
                self._busy.discard(key)
            got = False
        try:
            yield got
        finally:
            if got:
                if fd is not None and fd >= 0:
                    os.close(fd)
                with self._lock:
                    self._busy.discard(key)

    def _lock_file(self, key: str) -> int | None:
        """A lock held across processes (-1 where there are no file locks; None: taken)."""
        if fcntl is None:
            return -1
        fd = os.open(self.partial_dir / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def open_append(self, sha: str, owner: str = "") -> BinaryIO:
        return open(self._partial(sha, owner), "ab")

    def finish(
        self,
        sha: str,
        total: int,
        digest: str | None = None,
        deferred: list[str] | None = None,
        owner: str = "",
        scope: str = DEFAULT_SCOPE,
    ) -> None:
        """The partial file is complete: verify it, seal it and store it.

        DIGEST is the hash when the writer saw every byte (else the file is read back). With
        DEFERRED the page is only verified and listed; `commit(deferred)` then stores a whole
        batch together."""
        part = self._partial(sha, owner)
        with open(part, "rb") as f:
            if digest is None:
                h = hashlib.sha256()
                while chunk := f.read(1024 * 1024):
                    h.update(chunk)
                digest = h.hexdigest()
            size = os.fstat(f.fileno()).st_size
        if size != total or digest != sha:
            part.unlink(missing_ok=True)
            raise BlobError("blob.hash_mismatch", "页面内容与其 SHA-256 不符，已丢弃，请从头重传")
        key = f"{sha}.{owner}" if owner else sha
        if deferred is not None:
            deferred.append(key)
            return
        self.commit([key], scope)

    def commit(self, deferred: list[str], scope: str = DEFAULT_SCOPE) -> list[str]:
        """Store verified partial pages (sealed), then drop the partial files; returns the
        pages stored. BlobError (with `done`) when the store did not confirm them all."""
        keys = [d.partition(".") for d in deferred]  # "sha" or "sha.owner"
        items = []
        for sha, _, owner in keys:
            part = self._partial(sha, owner)
            try:
                items.append((sha, part, part.read_bytes()))
            except FileNotFoundError:  # finished meanwhile by another upload of the same page
                continue
        done = self._store([(sha, self._seal(sha, data, scope)) for sha, _, data in items])
        for _sha, part, _data in items:
            part.unlink(missing_ok=True)
        deferred.clear()
        return done

    def _store(self, sealed: list[tuple[str, bytes]]) -> list[str]:
        """Write sealed pages durably (data before names: a power cut never leaves a named page
        with missing bytes; one file-system sync for the batch)."""
        tmps = []
        for sha, data in sealed:
            target = self.path(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{sha}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            tmps.append((tmp, target))
        self._sync([t for t, _ in tmps])
        for tmp, target in tmps:
            os.replace(tmp, target)
        self._sync(sorted({target.parent for _, target in tmps}))
        return [sha for sha, _ in sealed]

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

    def put(self, data: bytes, scope: str = DEFAULT_SCOPE) -> str:
        """A whole page at once (USB import)."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha, len(data)):
            self._put_one(sha, self._seal(sha, data, scope))
        return sha

    def _put_one(self, sha: str, sealed: bytes) -> None:
        write_atomic(self.path(sha), sealed)

    def seal_clear(self, scope: str = DEFAULT_SCOPE) -> int:
        """Seal the pages a migrated hub still holds in clear (local directory only: S3 came
        with sealing)."""
        if self.sealer is None:
            return 0
        clear = [(sha, data) for sha, data in self.objects() if not data.startswith(MAGIC)]
        for sha, data in clear:
            self._put_one(sha, self._seal(sha, data, scope))
        return len(clear)

    def objects(self) -> Iterator[tuple[str, bytes]]:
        """Every stored page as stored (sealed): for checks and backups."""
        for path in sorted(self.root.glob("??/??/*")):
            if is_sha256(path.name):
                yield path.name, path.read_bytes()


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
