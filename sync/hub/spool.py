"""Partial uploads sealed as they are written: the hub's spool never holds a page in clear.

A partial file is the beginning of the sealed page itself (the format `Sealer.seal` makes:
MAGIC, the data key's id, a random nonce, then AES-GCM ciphertext), written as the bytes arrive;
the tag is added when the page is whole and verified, and the file is then renamed into the
store (local directory) or sent as it is (S3): the page is encrypted once, not once in the spool
and again for the store. Its length minus the prefix is the offset a station resumes from.

Why this scheme: GCM's ciphertext is AES in counter mode, and each byte's keystream comes from
its position, so bytes appended after a cut or a restart (AES-CTR at that position's counter)
continue the same value; every spool file gets a fresh random nonce and only ever grows, so no
keystream is used twice. The tag covers every byte: a writer that saw them all (the usual case,
a page in one request) has it at once; otherwise it is computed when the page is finished, in
the same pass that decrypts the file to check the page's SHA-256 (`reseal`). Until then the
file is not authenticated, and needs not be: the SHA-256 over the decrypted bytes must match the
page's name before anything is stored, so altered spool bytes are dropped like damaged ones.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sync.hub.crypto import Sealer

PREFIX_MAX = 5 + 255 + 12  # MAGIC, kid length, kid, nonce
READ_CHUNK = 1024 * 1024


def prefix_of(path: Path) -> tuple[bytes, int] | None:
    """PATH's prefix and size when it is a sealed spool file (None: missing; (b"", size): not
    sealed, e.g. a partial upload kept in clear by a hub from before spool sealing)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(PREFIX_MAX)
    except FileNotFoundError:
        return None
    n = Sealer.prefix_length(head)
    return (head[:n], size) if n and size >= n else (b"", size)


def plain_length(path: Path, sealed: bool) -> int:
    """Bytes of the page a partial file holds (0 when there is none or it is not usable)."""
    if not sealed:
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0
    found = prefix_of(path)
    if found is None or not found[0]:
        return 0
    return found[1] - len(found[0])


class SpoolWriter:
    """Appends a page's bytes to its partial file, encrypted (in clear when SEALER is None: the
    HTTP layer's tests). ON_CLOSE(bytes of the page written, tag) is told the tag when the
    writer saw every byte from the first."""

    def __init__(
        self,
        path: Path,
        sha: str,
        sealer: Sealer | None,
        scope: str,
        on_close: Callable[[int, bytes], None],
    ) -> None:
        self._on_close = on_close
        self._enc: Any = None
        self._whole = False
        # Unbuffered: after a failed write (a full disk) the file holds exactly what was written,
        # and nothing left in a buffer is written behind the resume offset later.
        self._f = open(path, "a+b", buffering=0)  # noqa: SIM115 - closed by close()
        self.broken = False
        if sealer is None:
            return
        try:
            self._start(sha, sealer, scope)
        except BaseException:
            self._f.close()
            raise

    def _start(self, sha: str, sealer: Sealer, scope: str) -> None:
        size = os.fstat(self._f.fileno()).st_size
        head = b""
        if size:  # a partial upload to continue (no pread: the hub also runs on Windows)
            self._f.seek(0)
            head = self._f.read(PREFIX_MAX)
        n = Sealer.prefix_length(head)
        if n and size >= n:
            prefix, offset = head[:n], size - n
        else:  # new, or not a sealed file: the page starts again
            if size:
                self._f.truncate(0)
                self._f.seek(0)
            prefix, offset = sealer.start(scope), 0
            view = memoryview(prefix)
            while view:  # cut short by a full disk: started again next time (size < n)
                view = view[self._f.write(view) :]
        self._enc, self._whole = sealer.encryptor(prefix, sha.encode(), offset)
        self._prefix = len(prefix)

    @property
    def closed(self) -> bool:
        return self._f.closed

    def write(self, data: bytes | memoryview) -> None:
        """OSError (ENOSPC...) leaves the writer broken: the file keeps the bytes written, a
        valid prefix the station resumes after (the keystream depends only on the position)."""
        view = memoryview(self._enc.update(data) if self._enc is not None else data)
        try:
            while view:
                view = view[self._f.write(view) :]
        except OSError:
            self.broken = True
            raise

    def flush(self) -> None:
        pass  # unbuffered: every write is in the file already

    def close(self) -> None:
        if self._f.closed:
            return
        size = os.fstat(self._f.fileno()).st_size
        self._f.close()
        if self._enc is not None and self._whole and not self.broken:
            self._enc.finalize()
            self._on_close(size - self._prefix, self._enc.tag)
        self._enc = None


def reseal(path: Path, sha: str, sealer: Sealer) -> tuple[str, int, bytes] | None:
    """Decrypt a partial file: (SHA-256 of the page it holds, its size, the sealed value's tag).
    None when the file is not a sealed spool file."""
    found = prefix_of(path)
    if found is None:
        raise FileNotFoundError(path)
    prefix = found[0]
    if not prefix:
        return None
    dec = sealer.decryptor(prefix)
    enc, _ = sealer.encryptor(prefix, sha.encode(), 0)
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        f.seek(len(prefix))
        while chunk := f.read(READ_CHUNK):
            plain = dec.update(chunk)
            h.update(plain)
            enc.update(plain)  # the same ciphertext again: only its tag is wanted
            size += len(plain)
    enc.finalize()
    return h.hexdigest(), size, enc.tag  # type: ignore[attr-defined]


__all__ = ["SpoolWriter", "plain_length", "prefix_of", "reseal"]
