"""Page bytes: whether a page is on the hub, a resumable upload of one page, and batches of pages
(or parts of pages) in one body. A page counts for a station only once it is durable."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from sync.hub import ops
from sync.hub.blobs import DISK_FULL, BlobError, BlobStore, disk_full
from sync.hub.crypto import DEFAULT_SCOPE
from sync.hub.db import Principal, owner_of
from sync.hub.errors import HubError
from sync.hub.routes.common import (
    BATCH_SCHEMA,
    OFFSET_HEADER,
    READ_TIMEOUT,
    Hub,
    HubContext,
    ShaPath,
    Station,
    answers,
    call,
    stream,
)
from sync.protocol import BLOB_BATCH, MAX_BLOB_SIZE, parse_frame_header
from sync.schemas import BatchOut, BlobState

log = logging.getLogger("intake.hub.api")
router = APIRouter()


async def holds(hub: HubContext, p: Principal, sha: str, size: int | None = None) -> bool:
    """Whether the page exists for this station: on the hub and sent by the station itself."""
    # the database first: a page this station has not sent costs the object store nothing
    holder = sha in await call(hub.store.held_pages, p, [sha])
    return holder and hub.blobs.held(sha, size, holder)


@router.head(
    "/v1/blobs/{sha}",
    tags=["upload"],
    summary="whether this station's page is on the hub",
    responses={
        200: {"description": "complete", "headers": {"Upload-Offset": OFFSET_HEADER}},
        404: {
            "description": "not (yet) sent by this station",
            "headers": {"Upload-Offset": OFFSET_HEADER},
        },
        **answers(None, 400, 401),
    },
)
async def blob_head(sha: ShaPath, p: Station, hub: Hub) -> Response:
    if await holds(hub, p, sha):
        return Response(
            status_code=200,
            headers={"Upload-Offset": str(hub.blobs.offset(sha)), "X-Complete": "1"},
        )
    offset = hub.blobs.partial_offset(sha, owner_of(p))
    return Response(status_code=404, headers={"Upload-Offset": str(offset)})


@router.put(
    "/v1/blobs/{sha}",
    tags=["upload"],
    summary="send a page's bytes from Upload-Offset (resumable)",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
    responses=answers(BlobState, 200, 400, 401, 409, 422),
)
async def blob_put(
    sha: ShaPath,
    request: Request,
    p: Station,
    hub: Hub,
    offset: int = Header(
        0,
        alias="Upload-Offset",
        ge=0,
        le=MAX_BLOB_SIZE,
        description="where these bytes start in the page",
    ),
    total: int = Header(
        alias="Upload-Length", ge=0, le=MAX_BLOB_SIZE, description="the page's whole size"
    ),
) -> JSONResponse:
    if offset > total:
        raise HubError(400, "blob.range", "偏移超出页面长度")
    if await holds(hub, p, sha, total):
        return JSONResponse({"sha256": sha, "offset": total, "complete": True})
    blobs, owner = hub.blobs, owner_of(p)
    with blobs.claim(f"{sha}.{owner}") as got:
        if not got:
            raise HubError(409, "blob.busy", "该页面正由另一连接上传", retry=True, retry_after=1)
        current = blobs.partial_offset(sha, owner)
        if offset > current:
            raise HubError(409, "blob.offset", "续传位置不对", retry=True, offset=current)
        writer = _PartWriter(blobs, sha, total, current, current - offset, owner, p.scope)
        try:
            async for chunk in stream(request, READ_TIMEOUT):
                writer.write(chunk)
        except (TimeoutError, ClientDisconnect):
            writer.close()
            log.info("upload of page %s cut at %d of %d", sha[:12], writer.offset, total)
            return JSONResponse(
                {"sha256": sha, "offset": writer.offset, "complete": False}, status_code=400
            )
        finally:
            writer.close()
        done = await _complete(blobs, writer, p.scope)
        if done["complete"]:
            await call(hub.store.add_holder, p, [sha])
        return JSONResponse(done)


async def _complete(
    blobs: BlobStore, writer: _PartWriter, scope: str, deferred: list[str] | None = None
) -> dict[str, Any]:
    if writer.overflow:
        raise HubError(400, "blob.overflow", "上传内容超过声明的长度")
    if writer.offset != writer.total:
        return {"sha256": writer.sha, "offset": writer.offset, "complete": False}
    args = (writer.sha, writer.total, writer.digest, deferred, writer.owner, scope)
    try:
        if deferred is not None and writer.total < 4 * 1024 * 1024 and writer.digest is not None:
            blobs.finish(*args)  # small and only verified here: no thread hop
        else:
            await call(blobs.finish, *args)
    except BlobError as exc:
        ops.count_blob_error(exc, "write")
        raise blob_refusal(exc, offset=0 if not exc.retry else writer.total) from exc
    return {"sha256": writer.sha, "offset": writer.total, "complete": True}


# A full disk needs the operator: stations come back in a minute, not every few seconds.
DISK_FULL_RETRY = 60


def blob_refusal(exc: BlobError, **details: Any) -> HubError:
    """A page the hub could not take: damaged bytes (dropped, 422, sending them again will not
    help) or an object store that did not confirm (503, retry later; the bytes are kept)."""
    if not exc.retry:
        return HubError(422, exc.code, exc.message, retry=False, **details)
    after = DISK_FULL_RETRY if exc.code == "blob.disk_full" else 5
    return HubError(503, exc.code, exc.message, retry=True, retry_after=after, **details)


@router.post(
    "/v1/blobs",
    tags=["upload"],
    summary="several pages, or parts of pages, in one body",
    openapi_extra={
        "requestBody": {"required": True, "content": {BLOB_BATCH: {"schema": BATCH_SCHEMA}}}
    },
    responses=answers(BatchOut, 200, 400, 401, 415),
)
async def blob_batch(request: Request, p: Station, hub: Hub) -> JSONResponse:
    """Several pages (or parts of pages) in one body: see protocol.frame_header."""
    batch = PageBatch(hub, p)
    try:
        async for chunk in stream(request, READ_TIMEOUT):
            await batch.feed(chunk)
    except (TimeoutError, ClientDisconnect):
        cut = True
    else:
        cut = False
    finally:
        await batch.finish()
    if batch.failed is not None:  # nothing it did not confirm is acknowledged
        raise blob_refusal(batch.failed, blobs=batch.out)
    if cut:
        return JSONResponse({"blobs": batch.out, "cut": True}, status_code=400)
    if batch.part is not None:
        raise HubError(400, "blob.frame", "页面批次在中途结束")
    if not batch.out:
        raise HubError(400, "blob.empty", "页面批次为空")
    return JSONResponse({"blobs": batch.out})


class PageBatch:
    """One batch body being read: the part in progress, the answers so far, and the verified
    pages (with their claims) that are made durable together before the answer. HOLD: record
    at once that the station holds them (POST /v1/intakes does it in its own transaction)."""

    def __init__(self, hub: HubContext, p: Principal) -> None:
        self.hub, self.p, self.owner = hub, p, owner_of(p)
        self.hold = True
        self.done: list[str] = []  # the pages made durable
        self.out: list[dict[str, Any]] = []
        self.deferred: list[str] = []
        self.held: list[Any] = []
        self.buf = bytearray()
        self.part: tuple[str, int, int, int] | None = None
        self.left = 0
        self.writer: _PartWriter | None = None
        self.claim: Any = None
        self.state = "ok"
        self.failed: BlobError | None = None

    async def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        pos = 0
        while pos < len(chunk):
            if self.part is None:
                nl = chunk.find(b"\n", pos, pos + 300)
                if nl < 0:
                    self.buf += view[pos:]
                    if len(self.buf) > 300:
                        raise HubError(400, "blob.frame", "页面批次格式不对")
                    return
                self.buf += view[pos:nl]
                pos = nl + 1
                await self._start_part()
                continue
            take = min(self.left, len(chunk) - pos)
            if self.writer is not None:
                self.writer.write(view[pos : pos + take])
            pos += take
            self.left -= take
            if self.left == 0:
                await self._end_part()

    async def _start_part(self) -> None:
        self.part = parse_frame_header(bytes(self.buf))
        self.buf.clear()
        if self.part is None:
            raise HubError(400, "blob.frame", "页面批次格式不对")
        sha, off, length, total = self.part
        self.left = length
        blobs = self.hub.blobs
        # A resumed part asks the database at once (the page may have been completed by the
        # attempt that was cut); a whole page is read, and checked once for the batch in _commit.
        if off > 0 and await holds(self.hub, self.p, sha, total):
            self.state = "complete"
        else:
            self.claim = blobs.claim(f"{sha}.{self.owner}")
            if not self.claim.__enter__():
                self.claim.__exit__(None, None, None)
                self.claim, self.state = None, "blob.busy"
            else:
                current = blobs.partial_offset(sha, self.owner)
                if off > current:
                    self.state = "blob.offset"
                else:
                    skip = current - off
                    self.writer = _PartWriter(
                        blobs, sha, total, current, skip, self.owner, self.p.scope
                    )
        if self.left == 0:
            await self._end_part()

    async def _end_part(self) -> None:
        assert self.part is not None
        sha, total = self.part[0], self.part[3]
        if self.writer is not None:
            self.writer.close()
            try:
                done = await _complete(self.hub.blobs, self.writer, self.p.scope, self.deferred)
                self.out.append(done)
            except HubError as exc:
                self.out.append({"sha256": sha, "offset": 0, "complete": False, "error": exc.code})
        else:
            complete = self.state == "complete"
            self.out.append(
                {
                    "sha256": sha,
                    "offset": total if complete else self.hub.blobs.partial_offset(sha, self.owner),
                    "complete": complete,
                    "error": self.state if self.state not in ("ok", "complete") else None,
                }
            )
        if self.claim is not None:
            self.held.append(self.claim)
            self.claim = None
        self.writer, self.state, self.part = None, "ok", None

    async def finish(self) -> None:
        """Whatever happened: close the part in progress (its bytes stay for a resume), make the
        verified pages durable before answering, release every claim."""
        await call(self.close)

    def close(self) -> None:
        """finish() on the caller's thread (a worker thread: it writes and waits for the store)."""
        if self.writer is not None:
            self.writer.close()
        if self.claim is not None:
            self.held.append(self.claim)
            self.claim = None
        self._commit()

    def _commit(self) -> None:
        blobs = self.hub.blobs
        pending = {d.partition(".")[0] for d in self.deferred}
        try:
            # No database check first whether the station had already sent a page whole: that
            # happens only when an answer was lost, and storing the same content again under its
            # name is harmless, whereas the check cost a query on every batch.
            try:
                done = blobs.commit(self.deferred, self.p.scope)
            except BlobError as exc:
                ops.count_blob_error(exc, "write")
                done, self.failed = exc.done, exc
                for r in self.out:  # the answer says which pages were not taken
                    sha = r["sha256"]
                    if sha in pending and sha not in done:
                        r.update(complete=False, error=exc.code)
            self.done = done
            if self.hold:
                self.hub.store.add_holder(self.p, done)  # only once the pages are stored
        finally:
            for c in self.held:
                c.__exit__(None, None, None)
            self.held.clear()


class _PartWriter:
    """Appends an upload's bytes to the partial file (sealed as written), skipping what the hub
    already holds."""

    def __init__(
        self,
        blobs: BlobStore,
        sha: str,
        total: int,
        offset: int,
        skip: int,
        owner: str = "",
        scope: str = DEFAULT_SCOPE,
    ) -> None:
        self.sha, self.total, self.offset, self.skip, self.owner = sha, total, offset, skip, owner
        self.overflow = False
        try:
            self._f = blobs.open_append(sha, owner, scope)
        except OSError as exc:
            if exc.errno in DISK_FULL:
                raise _disk(exc) from exc
            raise
        self._hash = hashlib.sha256() if offset == 0 else None  # every byte seen: no read-back

    @property
    def digest(self) -> str | None:
        return self._hash.hexdigest() if self._hash is not None else None

    def write(self, data: bytes | memoryview) -> None:
        if self.skip:
            cut = min(self.skip, len(data))
            data, self.skip = data[cut:], self.skip - cut
        if not data:
            return
        room = self.total - self.offset
        if len(data) > room:
            self.overflow = True
            data = data[:room]
        try:
            self._f.write(data)
        except OSError as exc:
            if exc.errno in DISK_FULL:
                raise _disk(exc) from exc
            raise
        if self._hash is not None:
            self._hash.update(data)
        self.offset += len(data)

    def close(self) -> None:
        if not self._f.closed:
            self._f.flush()
            self._f.close()


def _disk(exc: OSError) -> BlobError:
    """A full disk is the page store refusing (503, retry), counted as a failed write."""
    err = disk_full(exc)
    ops.count_blob_error(err, "write")
    return err
