"""The hub's API as pydantic models: FastAPI generates the OpenAPI description from them
(`/openapi.json`, `/v1/openapi.yaml`), and the hub validates every JSON request body with them
before it looks at it, so the description and the checks cannot drift apart.

Request models are strict (a string is never taken for a number) and forbid unknown fields;
response models allow extra fields (a newer hub may add some without breaking a station).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sync.protocol import MAX_AUDIT_DETAIL, MAX_BLOB_SIZE, MAX_REASON

Uuid = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Timestamp = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
]
SEQ_MAX = 2**53  # sequence numbers and cursors: exact in every JSON reader, inside BIGINT
ROW_ID_MAX = 2**31 - 1  # a staff id (32-bit INTEGER column)


class Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


# ----------------------------------------------------------------------------- errors


class ErrorDetail(Answer):
    code: str = Field(examples=["event.conflict"])
    message: str = Field(description="Chinese text for the clerk or administrator")
    retry: bool = Field(description="true when sending the same request later may succeed")


class Error(Answer):
    error: ErrorDetail


# ----------------------------------------------------------------------------- enrollment


class ReceiptKey(Request):
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$")] = Field(
        description="first 8 hex digits of SHA-256 of the raw key"
    )
    public_key: Annotated[str, StringConstraints(min_length=43, max_length=43)] = Field(
        description="raw Ed25519 public key, url-safe base64 without padding"
    )


class EnrollmentIn(Request):
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        examples=["ABCD-EFGH-JKLM"], description="case and dashes ignored"
    )
    store_id: Uuid
    station_code: Annotated[str, StringConstraints(max_length=8)] | None = Field(
        None, description="the station's own code; must match the code's station"
    )
    receipt_key: ReceiptKey | None = None


class ReceiptKeyResult(Answer):
    status: Literal["stored", "duplicate", "refused"]
    code: str | None = None
    message: str | None = None


class EnrollmentOut(Answer):
    station_code: str
    token: str = Field(description="keep in the OS keyring only")
    token_id: str
    hub_id: str
    api_version: int
    receipt_key: ReceiptKeyResult | None = None


class Ping(Answer):
    hub_id: str
    api_version: int
    station_code: str


class Health(Answer):
    ok: bool
    api_version: int


class Ready(Answer):
    ready: bool
    hub_id: str
    checks: dict[str, str] = Field(
        description="database, blob_store, spool (free space; disk_full when short), and process "
        "when stopping: ok, or the class of failure"
    )


# ----------------------------------------------------------------------------- upload


class Received(Answer):
    store_id: str
    ranges: list[Annotated[list[int], Field(min_length=2, max_length=2)]] = Field(
        description="inclusive runs of held sequence numbers within [start, end]"
    )


class Page(Request):
    sha256: Sha256
    size: Annotated[int, Field(ge=0, le=MAX_BLOB_SIZE)]


class Manifest(Request):
    submission_id: Uuid
    pages: list[Page]


class ManifestsIn(Request):
    manifests: list[Manifest] = Field(description="at most 2000")


class NeededPage(Answer):
    sha256: str
    size: int
    offset: int = Field(description="bytes this station has already sent (resume here)")


class ManifestRefusal(Answer):
    submission_id: str
    code: str
    message: str


class ManifestsOut(Answer):
    needed: list[NeededPage]
    refused: list[ManifestRefusal]


class Event(Request):
    """One event as a station sends it (documentation of the items of EventsIn.events)."""

    id: Uuid
    seq: Annotated[int, Field(ge=1, lt=SEQ_MAX)] = Field(description="the station store's sequence")
    submission_id: Uuid
    type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    payload: dict[str, Any] = Field(description="the event's data, at most 64 KiB as JSON")
    clerk_id: Annotated[int, Field(ge=0, le=ROW_ID_MAX)] | None
    at: Timestamp


class EventsIn(Request):
    store_id: Uuid
    events: list[dict[str, Any]] = Field(
        description=(
            "at most 2000 events, each an `Event`. Each is checked on its own: a malformed one is "
            "refused in `results` (status refused, retry false) and the others are stored, so one "
            "bad event never blocks a station's queue."
        )
    )


class EventResult(Answer):
    id: str | None = None
    status: Literal["stored", "duplicate", "refused", "skipped"]
    code: str | None = None
    message: str | None = None
    retry: bool | None = None


class SubmissionState(Answer):
    submission_id: str
    number: str | None
    stage: str
    received: bool


class EventsOut(Answer):
    results: list[EventResult]
    submissions: list[SubmissionState]


# ----------------------------------------------------------------------------- audit copy


class AuditEntry(Request):
    id: Annotated[int, Field(ge=1, lt=SEQ_MAX)]
    at: Timestamp
    staff_id: Annotated[int, Field(ge=0, le=ROW_ID_MAX)] | None
    action: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    target: Annotated[str, StringConstraints(max_length=1000)]
    detail: Annotated[str, StringConstraints(max_length=MAX_AUDIT_DETAIL)]
    prev_hash: Sha256
    hash: Sha256


class AuditIn(Request):
    store_id: Uuid
    entries: list[AuditEntry] = Field(description="at most 2000, in id order")


class AuditOut(Answer):
    store_id: str
    last_id: int
    last_hash: str
    stored: int
    duplicate: int


class ReceiptKeyOut(Answer):
    status: Literal["stored", "duplicate"]
    key_id: str


# ----------------------------------------------------------------------------- feed


class StatusUpdate(Answer):
    cursor: int
    submission_id: str
    number: str | None
    item_id: str
    decision: Literal["accepted", "rejected", "completed"]
    reason: str
    department: str
    decided_at: str


class StatusUpdates(Answer):
    updates: list[StatusUpdate]
    next_cursor: int = Field(
        description="where to read on; below `after` (with no updates) when the hub was restored "
        "from a backup that ends before the station's cursor"
    )
    more: bool


# ----------------------------------------------------------------------------- page uploads


class BlobState(Answer):
    sha256: str
    offset: int
    complete: bool


class BatchPart(BlobState):
    error: str | None = None


class BatchOut(Answer):
    blobs: list[BatchPart]
    cut: bool | None = None


class IntakeHead(Request):
    """The JSON head of POST /v1/intakes: a batch's manifests and events (as in ManifestsIn and
    EventsIn); the bytes of its pages follow it in the body."""

    store_id: Uuid
    manifests: list[Manifest] = Field(description="at most 2000")
    events: list[dict[str, Any]] = Field(description="at most 2000 events, each an `Event`")


class IntakesOut(Answer):
    """/v1/blobs', /v1/manifests' and /v1/events' answers in one: each page sent, the pages the
    hub still lacks, and each event (an event naming a page still lacking: page.missing)."""

    blobs: list[BatchPart]
    needed: list[NeededPage]
    refused: list[ManifestRefusal]
    results: list[EventResult]
    submissions: list[SubmissionState]


# ----------------------------------------------------------------------------- departments


class DecisionIn(Request):
    item_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    decision: Literal["accepted", "rejected", "completed"]
    reason: Annotated[str, StringConstraints(max_length=MAX_REASON)] = Field(
        "", description="required (non-empty) for rejected"
    )
    submission_id: Uuid | None = None
    number: Annotated[str, StringConstraints(max_length=32)] | None = None
    decision_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    department: Annotated[str, StringConstraints(max_length=100)] | None = None


class DecisionOut(Answer):
    status: Literal["stored", "duplicate"]
    cursor: int
    submission_id: str


class DeptSubmission(Answer):
    submission_id: str
    number: str | None
    station: str
    stage: str
    items: list[str]
    decisions: dict[str, str]
    received_at: str | None


class DeptSubmissions(Answer):
    submissions: list[DeptSubmission]
    next: str | None = Field(
        description="ask with after=this next time (null: nothing listed yet); the hub lists a "
        "submission 30 s after its receipt arrived, in arrival order, so a cursor never skips one"
    )
    more: bool = Field(description="more are listed already: ask again at once")


class VerifyIn(Request):
    payload: Annotated[str, StringConstraints(min_length=1, max_length=1000)] = Field(
        description="the scanned QR: the query link or the bare signed token"
    )


class VerifyOut(Answer):
    valid: bool
    code: str
    message: str
    number: str | None
    issued: str | None
    manifest: str | None
    station: str | None
    on_hub: bool
    stage: str | None


# ----------------------------------------------------------------------------- the description

DESCRIPTION = """\
Version 1 of the exchange between an intake station (综合受理窗口 / 便民服务中心 / 便民服务站)
and the county hub, which relays to the provincial platform.

**Identity.** A station is enrolled once: the administrator issues a one-time code
(`intake hub enroll-code`), the station exchanges it for a bearer token (`POST /v1/enrollments`)
and keeps the token in the OS keyring. The token is bound to the station and to the station's
local store (`store_id`, a UUID of its database). Every other station call sends
`Authorization: Bearer <token>`. A revoked or unknown token gets 401.

**Events.** Everything that happens to a submission is an event with a client-generated UUID
(`id`) and the station's sequence number (`seq`, strictly increasing per store). Stations send
events in `seq` order. Submissions (`submission_id`, client UUID) belong to the station that
first wrote them; another station's writes to them are refused (`submission.forbidden`).

**Pages.** Captured pages are content-addressed by SHA-256 (of the bytes the station sends). A page exists for a station only once that station has sent its bytes itself: another station's pages and unfinished uploads are never visible. Before a submission's page events
are sent, its manifest (every page's SHA-256 and size) is sent; the hub answers which pages it
still needs and from which offset (a cut upload resumes where the hub's bytes end). A
`page_attached` event is accepted only when its page is on the hub.

**Idempotency.** Every write has the effect of once, however often it is sent: an event is
keyed by its id (same content again → `duplicate`; different content → `event.conflict`), a
page by its hash, a manifest is a set, a department decision by its `decision_id`, an
enrollment retried with the same code from the same store replaces the token whose answer was
lost, a USB import by the export's id.

**Errors.** Refusals are `{"error": {"code", "message" (Chinese), "retry"}}` with an HTTP
status; 429 and 503 carry `Retry-After`. Clients retry 429/5xx and broken connections with
exponential backoff and jitter, honouring `Retry-After`; a 4xx other than 401/408/409/429 is
not retried without a person.

**Status feed.** Department decisions (受理 accepted / 不予受理 rejected with a reason / 办结
completed, per item) are appended to the station's feed; the station reads it with a cursor
(`after`), strictly increasing per station.

**Audit copy.** A station's audit log (`audit_entries`: logins, full-record views, state
changes, exports) is hash-chained: each entry's `hash` is SHA-256 of the compact JSON array
`[prev_hash, at, staff_id, action, target, detail]` (UTF-8, no ASCII escaping, separators
`,` and `:`; `app.audit.chain_hash`), and `prev_hash` is the previous entry's hash (64 zeros
for the first). The station sends the whole log, from its first entry, in id order and in
batches (`POST /v1/audit`); the hub keeps a copy per station store and checks every link as it
arrives. An entry already held is acknowledged when identical (`audit.conflict` when not); a
stored entry is never changed. At the first entry that breaks the chain the hub keeps the
entries before it, refuses the rest (`audit.chain_broken`, `audit.hash_mismatch`) and says
where its copy ends (`last_id`): the station's cursor. `audit.gap` means the copy ends earlier
than the station assumed (a new or restored hub): send again from `last_id + 1`.

**Receipt keys.** A station signs its receipts with an Ed25519 key (key id: the first 8 hex
digits of SHA-256 of the raw public key). It sends the public key with its enrollment and,
when the key was not available then or has changed, with `POST /v1/receipt-keys`. The hub
keeps every key a station enrolled and never binds a key id to another key or station.
Departments check a scanned receipt with `POST /v1/receipts/verify`. A receipt's QR is a link `<query address>?t=<token>`; the hub's `GET /r` answers it with a masked status page.

**USB export.** A station without a link for days writes its pending events and their pages
to one file: AES-256-CTR encrypted and signed with HMAC-SHA256 (encrypt-then-MAC) under keys
derived from the station token (`HMAC-SHA256(token, "intake-usb-export-v1")`); the hub keeps
that derived key from enrollment. The county imports it (`intake hub import FILE`) through the
same idempotent path; the station's next online sync asks `GET /v1/events/received` and sends
nothing that arrived. Format: sync/export.py.

**Departments.** A department key carries the items pushed to that department; it lists and
decides only those (`decision.not_pushed`).

**Validation.** Every JSON body is validated against the request schemas below (strict types,
no unknown fields) before the hub acts on it; a malformed request is a 4xx with `retry: false`.
This description is generated from the hub's pydantic models (sync/schemas.py).
"""
