"""The hub's page store: pages named by SHA-256, sealed under their county's data key, in a local
directory (a small county, tests) or S3-compatible object storage (MinIO, Ceph RGW, 阿里云 OSS,
华为 OBS); plus partial uploads that resume at an offset.

A partial upload is a file in the hub process's spool directory, sealed as it is written (see
sync/hub/spool.py: the spool never holds page bytes in clear); the page bytes it holds are the
offset to resume from; it survives a cut connection and a restart. Partial uploads belong to their
uploader (OWNER): one station never learns from an offset that another station is sending a
page. Once whole, a page is verified against its name, its seal completed and stored — a file
flushed and renamed into place, or an object the store has confirmed — and only then
acknowledged; which complete pages a station holds is the database's business
(hub_page_holders). Processes sharing a spool directory exclude each other with file locks; a
resume that reaches a process with another spool starts that page again (content addressed:
nothing is stored twice).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local_db.attachments import write_atomic
from sync.hub.crypto import DEFAULT_SCOPE, MAGIC, Sealer
from sync.hub.spool import SpoolWriter, plain_length, prefix_of, reseal
from sync.protocol import is_sha256

try:
    import fcntl
except ImportError:  # not on Windows: one process there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("intake.hub.blobs")
MAX_TAGS = 10_000  # tags kept for cut uploads that never came back, at most


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


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(exc: OSError, done: list[str] | None = None) -> BlobError:
    """The hub's own disk (the page directory, or the spool in front of S3) is full: the
    station keeps its pages and retries; the operator frees space (readyz and /metrics say)."""
    log.error("page store disk full (%s)", errno.errorcode.get(exc.errno or 0, "?"))
    return BlobError("blob.disk_full", "平台页面存储空间已满，暂时无法接收页面", done=done)


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
        # (page bytes written, tag) of pages whose writer saw every byte: no second pass (each
        # writer drops its page's entry first, and holds the page's claim until the commit)
        self._tags: dict[str, tuple[int, bytes]] = {}
        self.discard_clear()

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
        return plain_length(self._partial(sha), self.sealer is not None)

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
        return plain_length(self._partial(sha, owner), self.sealer is not None)

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

    def open_append(self, sha: str, owner: str = "", scope: str = DEFAULT_SCOPE) -> SpoolWriter:
        """A writer appending to OWNER's partial upload of SHA, sealing as it writes (a partial
        upload's key is the one it was started under)."""
        key = f"{sha}.{owner}" if owner else sha
        self._tags.pop(key, None)

        def whole(size: int, tag: bytes) -> None:
            if len(self._tags) >= MAX_TAGS:
                self._tags.clear()  # only costs those pages a second pass when finished
            self._tags[key] = (size, tag)

        return SpoolWriter(self._partial(sha, owner), sha, self.sealer, scope, whole)

    def discard_clear(self) -> int:
        """Drop partial uploads not sealed (kept in clear by a hub from before spool sealing, or
        cut before their first bytes): their stations send those pages again from the start."""
        if self.sealer is None:
            return 0
        dropped = 0
        for part in sorted(self.partial_dir.glob("*.part")):
            found = prefix_of(part)
            if found is None or found[0]:
                continue
            with self.claim(part.name.removesuffix(".part")) as got:
                if got:  # not being written by another process sharing the spool
                    part.unlink(missing_ok=True)
                    dropped += 1
        if dropped:
            log.warning("spool: %d partial uploads not sealed were discarded", dropped)
        return dropped

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
        key = f"{sha}.{owner}" if owner else sha
        if digest is None or (self.sealer is not None and key not in self._tags):
            digest, size = self._verify(key, sha, part)
        elif self.sealer is not None:
            size = self._tags[key][0]
        else:
            size = part.stat().st_size
        if size != total or digest != sha:
            part.unlink(missing_ok=True)
            self._tags.pop(key, None)
            raise BlobError("blob.hash_mismatch", "页面内容与其 SHA-256 不符，已丢弃，请从头重传")
        if deferred is not None:
            deferred.append(key)
            return
        self.commit([key], scope)

    def _verify(self, key: str, sha: str, part: Path) -> tuple[str | None, int]:
        """The SHA-256 and size of the page a partial file holds, read back (decrypted; the
        seal's tag is computed in the same pass)."""
        if self.sealer is None:
            h = hashlib.sha256()
            with open(part, "rb") as f:
                while chunk := f.read(1024 * 1024):
                    h.update(chunk)
                return h.hexdigest(), os.fstat(f.fileno()).st_size
        found = reseal(part, sha, self.sealer)
        if found is None:
            return None, -1
        digest, size, tag = found
        self._tags[key] = (size, tag)
        return digest, size

    def _tag(self, key: str, sha: str, part: Path) -> bytes:
        """The tag that completes a verified partial file's seal (b"" when not sealing)."""
        if self.sealer is None:
            return b""
        if key not in self._tags:  # verified in another request: one more pass
            self._verify(key, sha, part)
        return self._tags.pop(key)[1]

    def commit(self, deferred: list[str], scope: str = DEFAULT_SCOPE) -> list[str]:
        """Store verified partial pages (their seal completed), the partial files moved or
        dropped; returns the pages stored. BlobError (with `done`) when the store did not
        confirm them all (their partial files are kept)."""
        items = []
        for d in deferred:
            sha, _, owner = d.partition(".")  # "sha" or "sha.owner"
            part = self._partial(sha, owner)
            try:
                items.append((sha, part, self._tag(d, sha, part)))
            except FileNotFoundError:  # finished meanwhile by another upload of the same page
                continue
        done = self._store(items)
        deferred.clear()
        return done

    def _store(self, items: list[tuple[str, Path, bytes]]) -> list[str]:
        """Move whole partial files (SHA, PATH, TAG to append) into the store durably (data
        before names: a power cut never leaves a named page with missing bytes; one file-system
        sync for the batch)."""
        tmps: list[tuple[Path, Path]] = []
        moved: list[tuple[Path, Path, int]] = []  # (tmp, part, size before the tag)
        try:
            for sha, part, tag in items:
                target = self.path(sha)
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f"{sha}.{os.getpid()}.{threading.get_ident()}.tmp")
                try:
                    os.replace(part, tmp)
                except FileNotFoundError:  # finished meanwhile by another upload of the page
                    continue
                moved.append((tmp, part, tmp.stat().st_size))
                if tag:
                    with open(tmp, "ab") as f:
                        f.write(tag)
                tmps.append((tmp, target))
            self._sync([t for t, _ in tmps])
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                raise
            for tmp, part, size in moved:  # back to the spool as they were: nothing half-stored
                os.truncate(tmp, size)
                os.replace(tmp, part)
            raise disk_full(exc) from exc
        for tmp, target in tmps:
            os.replace(tmp, target)
        self._sync(sorted({target.parent for _, target in tmps}))
        return [target.name for _, target in tmps]

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
        try:
            write_atomic(self.path(sha), sealed)
        except OSError as exc:
            if exc.errno in DISK_FULL:
                raise disk_full(exc) from exc
            raise

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
