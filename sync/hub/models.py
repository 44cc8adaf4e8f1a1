"""The hub's own tables (separate metadata from the client's local store).

Created and upgraded by the migrations in sync/hub/migrations (sync/hub/schema.py) on SQLite
(default) or PostgreSQL (county deployment); a change here needs a migration of its own.
Times are timezone-aware; ids of submissions and events are the stations' client-generated UUIDs.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class HubBase(DeclarativeBase):
    pass


TS = DateTime(timezone=True)


class HubStation(HubBase):
    __tablename__ = "hub_stations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    feed_seq: Mapped[int] = mapped_column(BigInteger, default=0)  # last status-update cursor
    created_at: Mapped[dt.datetime] = mapped_column(TS)
    county: Mapped[str | None] = mapped_column(String(12))  # whose data key seals its data
    # Last authenticated request (written at most once a minute per process) and what the
    # station reported with it (sync.protocol.REPORT_HEADERS); NULL: never reported.
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(TS)
    client_version: Mapped[str | None] = mapped_column(String(32))
    catalog_version: Mapped[str | None] = mapped_column(String(32))
    backlog: Mapped[int | None] = mapped_column(Integer)  # events waiting in its outbox


class HubEnrollCode(HubBase):
    __tablename__ = "hub_enroll_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(TS)
    expires_at: Mapped[dt.datetime] = mapped_column(TS)
    used_at: Mapped[dt.datetime | None] = mapped_column(TS)
    used_store_id: Mapped[str | None] = mapped_column(String(36))
    token_id: Mapped[str | None] = mapped_column(String(36))


class HubToken(HubBase):
    __tablename__ = "hub_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # public token id
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"))
    store_id: Mapped[str] = mapped_column(String(36))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    export_key: Mapped[str] = mapped_column(String(64))  # HMAC key for USB exports (derived)
    created_at: Mapped[dt.datetime] = mapped_column(TS)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(TS)


class HubDeptKey(HubBase):
    __tablename__ = "hub_dept_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(TS)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(TS)
    # JSON list of the item ids pushed to this department; NULL: every item (the county's own
    # 行政审批局 key). A department sees and decides only submissions of its items.
    items: Mapped[str | None] = mapped_column(Text)


class HubPageHolder(HubBase):
    """Which station has sent a page's bytes itself: only those pages exist for it (a station
    cannot learn from the hub whether another station holds a page)."""

    __tablename__ = "hub_page_holders"
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)


class HubSubmission(HubBase):
    __tablename__ = "hub_submissions"
    # departments page through received submissions in the order the hub listed them
    __table_args__ = (Index("ix_hub_submissions_listed", "listed_at", "id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"))
    number: Mapped[str | None] = mapped_column(String(32), index=True)
    stage: Mapped[str] = mapped_column(String(24), default="draft")
    items_json: Mapped[str] = mapped_column(Text, default="[]")  # active items at receipt
    received_at: Mapped[dt.datetime | None] = mapped_column(TS)
    created_at: Mapped[dt.datetime] = mapped_column(TS)
    updated_at: Mapped[dt.datetime] = mapped_column(TS)
    # the hub's time when it got its number (received, or 一次告知): the departments' listing
    # order (received_at is the station's: an offline township's intake arrives days later)
    listed_at: Mapped[dt.datetime | None] = mapped_column(TS)


class HubEvent(HubBase):
    __tablename__ = "hub_events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"))
    store_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(BigInteger)
    submission_id: Mapped[str] = mapped_column(ForeignKey("hub_submissions.id"))
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    clerk_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(32))  # the station's wire form, kept verbatim
    digest: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(8))  # online | usb
    arrived_at: Mapped[dt.datetime] = mapped_column(TS)

    __table_args__ = (
        UniqueConstraint("station_id", "store_id", "seq", name="uq_hub_events_seq"),
        Index("ix_hub_events_submission", "submission_id", "seq"),
    )


class HubManifestPage(HubBase):
    __tablename__ = "hub_manifest_pages"
    __table_args__ = (
        # the few pages named before they arrived: "pages missing" reads these, not every page
        Index(
            "ix_hub_manifest_pages_missing",
            "sha256",
            postgresql_where=text("missing"),
            sqlite_where=text("missing"),
        ),
    )
    submission_id: Mapped[str] = mapped_column(ForeignKey("hub_submissions.id"), primary_key=True)
    # indexed on its own: a department's page read looks the page up (the key starts with the
    # submission)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # the station did not hold the page when its manifest named it (cleared when it arrives
    # on its own; a row left set once its page is held counts for nothing)
    missing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class HubFeed(HubBase):
    """Status updates for a station's submissions, read by the station with a cursor."""

    __tablename__ = "hub_feed"
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("hub_submissions.id"))
    item_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    decision_id: Mapped[str] = mapped_column(String(64), unique=True)
    decided_at: Mapped[dt.datetime] = mapped_column(TS)


class HubItemDecision(HubBase):
    """The current decision per submitted item (what the department endpoint checks order on)."""

    __tablename__ = "hub_item_decisions"
    submission_id: Mapped[str] = mapped_column(ForeignKey("hub_submissions.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime] = mapped_column(TS)


class HubCatalog(HubBase):
    __tablename__ = "hub_catalogs"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    packed: Mapped[bytes] = mapped_column(LargeBinary)
    published_at: Mapped[dt.datetime] = mapped_column(TS)


class HubImport(HubBase):
    __tablename__ = "hub_imports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the export's own id
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"))
    imported_at: Mapped[dt.datetime] = mapped_column(TS)
    events: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)


class HubAuditEntry(HubBase):
    """The hub's copy of a station store's hash-chained audit log: checked link by link as it
    arrives, then never changed (a re-sent entry that differs is refused, not stored)."""

    __tablename__ = "hub_audit_entries"
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # the station's audit id
    at: Mapped[str] = mapped_column(String(32))  # the wire form the hash covers, verbatim
    staff_id: Mapped[int | None] = mapped_column(Integer)  # the station's staff id: no name here
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    arrived_at: Mapped[dt.datetime] = mapped_column(TS)


class HubReceiptKey(HubBase):
    """A station's receipt-signing public key. A station keeps every key it ever enrolled (old
    receipts stay verifiable); a key id is never bound to a different key."""

    __tablename__ = "hub_receipt_keys"
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(TS)


class HubDataKey(HubBase):
    """A county's data key, wrapped by a master key (sync/hub/crypto.py); never stored in clear.
    The id ("<county>.<master id it was made under>") is written into every sealed value."""

    __tablename__ = "hub_data_keys"
    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    county: Mapped[str] = mapped_column(String(12), index=True)
    master_key_id: Mapped[str] = mapped_column(String(32))  # wraps it now (rewrap changes it)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(TS)


class HubNotice(HubBase):
    """A notice to the applicant (短信告知) waiting to go out, going out, or sent: one row per
    `dedupe_key` (submission, kind, item or delivery event), so a notice is never queued twice.
    Phone and text are sealed under the station's county key (sync/hub/crypto.py)."""

    __tablename__ = "hub_notices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"))
    submission_id: Mapped[str] = mapped_column(ForeignKey("hub_submissions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # accepted | rejected | completed | collected
    item_id: Mapped[str] = mapped_column(String(64), default="")
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    phone: Mapped[str] = mapped_column(Text)  # sealed
    content: Mapped[str] = mapped_column(Text)  # sealed JSON: text and template parameters
    status: Mapped[str] = mapped_column(String(12))  # pending|sending|retrying|sent|failed|no_phone
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[dt.datetime] = mapped_column(TS)
    claim: Mapped[str | None] = mapped_column(String(36))  # the sender's claim while sending
    claimed_until: Mapped[dt.datetime | None] = mapped_column(TS)
    last_error: Mapped[str] = mapped_column(String(64), default="")  # provider's code, no data
    provider: Mapped[str] = mapped_column(String(16), default="")
    provider_ref: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(TS)
    sent_at: Mapped[dt.datetime | None] = mapped_column(TS)
    seq: Mapped[int] = mapped_column(BigInteger)  # the station's notice cursor at the last change

    __table_args__ = (
        Index("ix_hub_notices_due", "status", "next_at"),
        Index("ix_hub_notices_station_seq", "station_id", "seq"),
    )


class HubNoticeSeq(HubBase):
    """Each station's notice cursor: bumped (row locked) on every change of one of its notices,
    so the station reads the changes in commit order (GET /v1/notices?after=)."""

    __tablename__ = "hub_notice_seqs"
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class HubRating(HubBase):
    """A station's 好差评 of one intake, projected from its rating events (the events stay the
    record): level codes and reason codes only, never the applicant's words."""

    __tablename__ = "hub_ratings"
    submission_id: Mapped[str] = mapped_column(ForeignKey("hub_submissions.id"), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("hub_stations.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(32))
    clerk_id: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str | None] = mapped_column(String(24))  # None: 未评价
    reasons: Mapped[str] = mapped_column(String(200), default="")
    rated_at: Mapped[str] = mapped_column(String(32))  # the station's wire form
    followup_closed_at: Mapped[str | None] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(36))


class HubOnlineApplication(HubBase):
    """An application from the online channel (一体化政务服务平台), reviewed at a window of its
    county within two hours of arrival (sync/hub/online.py). Personal data and the answer are
    sealed under the county's data key; the files and the answer's PDF are blobs."""

    __tablename__ = "hub_online_applications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_ref: Mapped[str] = mapped_column(String(64), unique=True)  # the platform's own id
    digest: Mapped[str] = mapped_column(String(64))  # of the request: a resend is a duplicate
    county: Mapped[str] = mapped_column(String(12), index=True)
    payload: Mapped[str] = mapped_column(Text)  # sealed JSON: bundle, items, answers, applicant
    received_at: Mapped[dt.datetime] = mapped_column(TS)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | claimed | answered
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("hub_stations.id"))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    claim_expires_at: Mapped[dt.datetime | None] = mapped_column(TS)
    answered_at: Mapped[dt.datetime | None] = mapped_column(TS)
    decision: Mapped[str | None] = mapped_column(String(16))  # receipt | notice
    answer: Mapped[str | None] = mapped_column(Text)  # sealed JSON: number, marks, missing
    document_sha: Mapped[str | None] = mapped_column(String(64))
