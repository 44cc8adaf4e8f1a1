"""The USB export: a station's pending queue as one encrypted, signed file for the county hub.

Format (version 1), all in one file:

    b"INTAKE-EXPORT 1\\n"
    header: one line of UTF-8 JSON + b"\\n" (station, store, token id, export id, counts,
            sequence range, AES-CTR nonce, SHA-256 of the plaintext body)
    body:   AES-256-CTR ciphertext of the framed plaintext
    tag:    32 bytes HMAC-SHA256 over everything before it

Keys: export_key = HMAC-SHA256(station token, "intake-usb-export-v1"); the encryption key is
HMAC(export_key, "enc") and the signing key HMAC(export_key, "mac") (encrypt-then-MAC). The hub
keeps export_key from enrollment (never the token itself), so it can check and open the file; a
lost USB stick can be neither read nor forged without the station's token.

Plaintext frames: b"E" + 8-byte length + JSON {"events": [...], "manifests": [...], "audit": [...]},
then for each page b"B" + 8-byte length + 32-byte SHA-256 + bytes, then b"Z". "audit" (the
station's audit entries the hub has not acknowledged, in the form of POST /v1/audit) is absent
from files written before it existed; the hub reads those as carrying none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import struct
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from local_db.errors import DomainError

MAGIC = b"INTAKE-EXPORT 1\n"
TAG = 32


class ExportError(DomainError):
    """An export file that cannot be written, or one the hub must refuse."""


def export_key(token: str) -> bytes:
    return hmac.new(token.encode(), b"intake-usb-export-v1", hashlib.sha256).digest()


def _keys(key: bytes) -> tuple[bytes, bytes]:
    return (
        hmac.new(key, b"enc", hashlib.sha256).digest(),
        hmac.new(key, b"mac", hashlib.sha256).digest(),
    )


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    export_id: str
    events: int
    pages: int
    page_bytes: int
    size: int
    first_seq: int | None
    last_seq: int | None


def write_export(
    path: Path | str,
    *,
    token: str,
    token_id: str,
    station_code: str,
    store_id: str,
    events: list[dict[str, Any]],
    manifests: list[dict[str, Any]],
    page: Callable[[str], bytes | None],
    created_at: dt.datetime,
    audit: list[dict[str, Any]] | None = None,
) -> ExportSummary:
    """Write the file atomically (temp file, fsync, rename); PAGE(sha) gives a page's bytes, or
    None for a page missing here (left out: the hub refuses only the events naming it)."""
    path = Path(path)
    nonce = os.urandom(16)
    shas = list(dict.fromkeys(p["sha256"] for m in manifests for p in m["pages"]))
    audit = audit or []
    doc = json.dumps(
        {"events": events, "manifests": manifests, "audit": audit},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    seqs = [int(e["seq"]) for e in events]
    first_seq, last_seq = (min(seqs), max(seqs)) if seqs else (None, None)
    export_id = str(uuid.uuid4())
    # The plaintext digest needs the pages once more: they are read twice (digest, then body),
    # streamed, never held all at once.
    body_hash = hashlib.sha256()
    for part in _frames(doc, shas, page, [0]):
        body_hash.update(part)
    header = {
        "format": 1,
        "export_id": export_id,
        "station_code": station_code,
        "store_id": store_id,
        "token_id": token_id,
        "created_at": created_at.astimezone(dt.UTC).isoformat(),
        "events": len(events),
        "pages": len(shas),
        "audit": len(audit),
        "first_seq": first_seq,
        "last_seq": last_seq,
        "cipher": "aes-256-ctr",
        "mac": "hmac-sha256",
        "nonce": nonce.hex(),
        "body_sha256": body_hash.hexdigest(),
    }
    head = MAGIC + json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    page_bytes = [0]
    _write_sealed(path, head, _frames(doc, shas, page, page_bytes), export_key(token), nonce)
    return ExportSummary(
        path,
        export_id,
        len(events),
        len(shas),
        page_bytes[0],
        path.stat().st_size,
        first_seq,
        last_seq,
    )


def _frames(
    doc: bytes, shas: list[str], page: Callable[[str], bytes | None], page_bytes: list[int]
) -> Iterator[bytes]:
    """The plaintext body, frame by frame; a page missing or damaged here is left out.
    PAGE_BYTES[0] counts the page bytes written."""
    yield b"E" + struct.pack(">Q", len(doc)) + doc
    for sha in shas:
        data = page(sha)
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            continue
        page_bytes[0] += len(data)
        yield b"B" + struct.pack(">Q", len(data)) + bytes.fromhex(sha) + data
    yield b"Z"


def _write_sealed(
    path: Path, head: bytes, frames: Iterator[bytes], key: bytes, nonce: bytes
) -> None:
    """HEAD, then FRAMES encrypted (AES-256-CTR), then the HMAC of all before it; through a
    temporary file made durable before it takes PATH's name."""
    enc_key, mac_key = _keys(key)
    tmp = path.with_name(path.name + ".tmp")
    mac = hmac.new(mac_key, head, hashlib.sha256)
    enc = Cipher(algorithms.AES(enc_key), modes.CTR(nonce)).encryptor()
    try:
        with open(tmp, "wb") as f:
            f.write(head)
            for part in frames:
                ct = enc.update(part)
                mac.update(ct)
                f.write(ct)
            tail = enc.finalize()
            mac.update(tail)
            f.write(tail)
            f.write(mac.digest())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError("export.write", reason=exc.strerror or exc.__class__.__name__) from exc


def read_header(path: Path | str) -> dict[str, Any]:
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise ExportError("export.not_export")
        line = f.readline(64 * 1024)
    try:
        header = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError("export.header") from exc
    if not isinstance(header, dict) or header.get("format") != 1:
        raise ExportError("export.format", variant=2)
    return header


def _body_bounds(path: Path) -> tuple[int, int]:
    with open(path, "rb") as f:
        f.read(len(MAGIC))
        f.readline(64 * 1024)
        start = f.tell()
    end = path.stat().st_size - TAG
    if end < start:
        raise ExportError("export.truncated")
    return start, end


def verify(path: Path | str, key: bytes) -> None:
    """Check the signature over the whole file; raises ExportError when it was altered."""
    path = Path(path)
    _enc, mac_key = _keys(key)
    _start, end = _body_bounds(path)
    mac = hmac.new(mac_key, digestmod=hashlib.sha256)
    with open(path, "rb") as f:
        remaining = end
        while remaining:
            chunk = f.read(min(1024 * 1024, remaining))
            if not chunk:
                break
            mac.update(chunk)
            remaining -= len(chunk)
        tag = f.read(TAG)
    if not hmac.compare_digest(mac.digest(), tag):
        raise ExportError("export.signature")


def read_export(path: Path | str, key: bytes) -> Iterator[tuple[str, Any]]:
    """Verify, then yield ("doc", {...}) and ("page", (sha, bytes)) in file order."""
    path = Path(path)
    verify(path, key)
    header = read_header(path)
    enc_key, _mac = _keys(key)
    start, end = _body_bounds(path)
    dec = Cipher(algorithms.AES(enc_key), modes.CTR(bytes.fromhex(header["nonce"]))).decryptor()
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        reader = _Plain(f, end - start, dec, digest)
        while True:
            kind = reader.read(1)
            if kind == b"Z":
                break
            if kind not in (b"E", b"B"):
                raise ExportError("export.frame")
            (length,) = struct.unpack(">Q", reader.read(8))
            if kind == b"E":
                yield "doc", json.loads(reader.read(length))
            else:
                sha = reader.read(32).hex()
                data = reader.read(length)
                if hashlib.sha256(data).hexdigest() != sha:
                    raise ExportError("export.page", sha256=sha)
                yield "page", (sha, data)
    if digest.hexdigest() != header.get("body_sha256"):
        raise ExportError("export.digest")


class _Plain:
    def __init__(self, f: BinaryIO, length: int, dec: Any, digest: Any) -> None:
        self._f, self._left, self._dec, self._digest = f, length, dec, digest

    def read(self, n: int) -> bytes:
        if n > self._left:
            raise ExportError("export.truncated", variant=2)
        data: bytes = self._dec.update(self._f.read(n))
        if len(data) != n:
            raise ExportError("export.truncated", variant=2)
        self._left -= n
        self._digest.update(data)
        return data
