"""SQLAlchemy 2.x models of the local store.

The schema is created and changed only by the alembic migrations in `local_db/migrations`; these
classes describe it for queries. Events are the record of truth for a submission's life; the
`state` and timestamp columns on `submissions` are a projection kept in the same transaction, for
fast ledgers and searches.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from local_db.crypto import EncryptedDate, EncryptedText


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes stored as UTC ISO text (sortable, unambiguous across time zones)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def process_result_value(self, value: str | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        return dt.datetime.fromisoformat(value)  # C-fast; 3.11 reads the trailing Z as UTC


class Base(DeclarativeBase):
    pass


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Station(Base):
    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    centre_name: Mapped[str] = mapped_column(String(100))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    progress_phone: Mapped[str] = mapped_column(String(32), default="")
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # clerk | supervisor | admin
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Applicant(Base):
    __tablename__ = "applicants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # personal | enterprise
    # Personal data is ciphertext (local_db.crypto); lookups go through the blind indexes.
    name: Mapped[str] = mapped_column(EncryptedText("applicants.name"))
    resident_id: Mapped[str | None] = mapped_column(EncryptedText("applicants.resident_id"))
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[dt.date | None] = mapped_column(EncryptedDate("applicants.birth_date"))
    address: Mapped[str] = mapped_column(EncryptedText("applicants.address"), default="")
    phone: Mapped[str] = mapped_column(EncryptedText("applicants.phone"), default="")
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)  # an enterprise's public code
    legal_representative: Mapped[str] = mapped_column(
        EncryptedText("applicants.legal_representative"), default=""
    )
    # resident | hmt_residence | foreign_2017 | foreign_2023: how resident_id is checked
    document_type: Mapped[str] = mapped_column(
        String(24), default="resident", server_default="resident"
    )
    name_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16), index=True)
    resident_id_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16), index=True)
    phone_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16), index=True)
    # which fields came from a card / licence QR / consented reuse (JSON object field -> source)
    field_sources: Mapped[str] = mapped_column(Text, default="{}")
    consent_reuse: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # client-generated UUID
    number: Mapped[str | None] = mapped_column(String(32), unique=True)  # assigned on finish
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("applicants.id"))
    bundle_id: Mapped[str | None] = mapped_column(String(64))
    catalog_version: Mapped[str] = mapped_column(String(32))
    catalog_digest: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(24))
    awaiting_supplement: Mapped[bool] = mapped_column(Boolean, default=False)
    verdict: Mapped[str | None] = mapped_column(String(32))
    local_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in the station's zone
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    digitised_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    pushed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    tolerance_due: Mapped[dt.date | None] = mapped_column(Date)
    delivery_method: Mapped[str] = mapped_column(String(16), default="window")
    delivery_address: Mapped[str] = mapped_column(
        EncryptedText("submissions.delivery_address"), default=""
    )
    reduction_separate: Mapped[int] = mapped_column(Integer, default=0)
    reduction_merged: Mapped[int] = mapped_column(Integer, default=0)
    # Derived from the items (app.state.item_outcomes) for the supervisor's figures.
    items_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    items_rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    undelivered_since: Mapped[dt.date | None] = mapped_column(Date)
    delivered_late: Mapped[bool] = mapped_column(Boolean, default=False)
    # Departments' 1-working-day acceptance (app.acceptance): due day, an item still undecided,
    # an item decided after the due day.
    acceptance_due: Mapped[dt.date | None] = mapped_column(Date)
    acceptance_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    acceptance_late: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str] = mapped_column(String(16), default="")  # 优先办 (0016): elderly|disabled

    items: Mapped[list[SubmissionItem]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="SubmissionItem.position",
    )

    __table_args__ = (
        Index("ix_submissions_local_date", "local_date", "created_at"),
        Index("ix_submissions_state", "state"),
        Index("ix_submissions_applicant", "applicant_id"),
    )


class SubmissionItem(Base):
    __tablename__ = "submission_items"
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    # False for a chosen item that the answers switched off: it is not sent to a department.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    decision: Mapped[str | None] = mapped_column(String(16))  # accepted | rejected | completed
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    first_decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # 受理/不予受理
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    submission: Mapped[Submission] = relationship(back_populates="items")


class Consultation(Base):
    """A 办事指南 given at the window before any applicant exists (咨询): no personal data."""

    __tablename__ = "consultations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # None: command line
    bundle_id: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[str] = mapped_column(String(32))
    items: Mapped[str] = mapped_column(Text)  # JSON list of item ids
    answers: Mapped[str] = mapped_column(Text)  # JSON object of situation answers
    local_date: Mapped[str] = mapped_column(String(10), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Answer(Base):
    __tablename__ = "answers"
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_json: Mapped[str] = mapped_column(Text)


class MaterialMark(Base):
    __tablename__ = "material_marks"
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    material_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mark: Mapped[str] = mapped_column(String(16))  # collected | exempt | tolerated
    marked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))


class Attachment(Base):
    """A captured page; the bytes live in the content-addressed attachment store."""

    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    material_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    # The plain SHA-256 (the hub's address of the page) only encrypted; lookups and de-duplication
    # use ADDRESS, a keyed hash (AttachmentStore.address), so a copy of the database does not
    # confirm that a known page is here.
    sha256: Mapped[str] = mapped_column(EncryptedText("attachments.sha256"))
    address: Mapped[str] = mapped_column(String(64), index=True, default="")
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(32))
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_attachments_submission", "submission_id", "material_id"),)


class Document(Base):
    """A printed document (receipt, notice, commitment, return list), kept as PDF."""

    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(EncryptedText("documents.sha256"))  # as Attachment.sha256
    address: Mapped[str] = mapped_column(String(64), default="")
    reprint: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_documents_submission", "submission_id"),)


class FormPrint(Base):
    """A generated application form as last printed for a submission: how many of its declared
    fields the window prefilled, of all its fields (表单信息自动生成率 sums these)."""

    __tablename__ = "form_prints"
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # application_form | …
    document_id: Mapped[str] = mapped_column(String(36))
    fields_total: Mapped[int] = mapped_column(Integer)
    fields_prefilled: Mapped[int] = mapped_column(Integer)
    printed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Event(Base):
    """Append-only record of everything that happened to a submission."""

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # client-generated UUID
    station_seq: Mapped[int] = mapped_column(Integer)  # per-station order, for sync
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(
        EncryptedText("events.payload")
    )  # JSON, may carry personal data
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("station_seq", name="uq_events_station_seq"),
        Index("ix_events_submission", "submission_id", "station_seq"),
    )


class AuditEntry(Base):
    """Who did what, hash-chained so a removed or edited entry shows."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(String(48))
    target: Mapped[str] = mapped_column(String(64), default="")  # submission id / number, never PII
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Counter(Base):
    """Per-station per-day sequence behind intake numbers."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(48), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


# --- sync (0002)
# The outbox is a cursor over events.station_seq (sync_state "acked_seq"): every event with a
# higher sequence is waiting. sync_items only holds what went wrong: an item that failed (its
# attempts and next retry) or one parked for a person, so it no longer blocks those behind it.


class SyncState(Base):
    """Sync bookkeeping of this store: cursors, hub address, store identity (key -> value)."""

    __tablename__ = "sync_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SyncItem(Base):
    """An outbox item that failed: an event, a page, a status update or a catalog from the hub."""

    __tablename__ = "sync_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # event | page | status | catalog
    key: Mapped[str] = mapped_column(String(80))  # event id | sha256 | hub cursor | digest
    submission_id: Mapped[str | None] = mapped_column(String(36))
    station_seq: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # failing | needs_person | retry | resolved
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")  # Chinese, no personal data
    fix: Mapped[str] = mapped_column(Text, default="")  # Chinese: what a person should do
    first_failed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_failed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    next_retry_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_sync_items_kind_key"),
        Index("ix_sync_items_state", "state"),
    )


# --- day close (0003)


class DayClose(Base):
    """A supervisor's 日结: the day's records sealed by a hash chained to the previous close."""

    __tablename__ = "day_closes"
    local_date: Mapped[str] = mapped_column(String(10), primary_key=True)
    closed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    closed_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    submissions: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)
    last_event_seq: Mapped[int] = mapped_column(Integer)  # events after this are amendments
    records_hash: Mapped[str] = mapped_column(String(64))
    prev_seal: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str] = mapped_column(String(64))
    report_sha256: Mapped[str] = mapped_column(String(64), default="")
    definition: Mapped[int] = mapped_column(
        Integer, server_default="1"
    )  # app.dayclose.SEAL_DEFINITION


class Amendment(Base):
    """A change to a submission of a day already closed: shown, never silent."""

    __tablename__ = "amendments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_date: Mapped[str] = mapped_column(String(10), index=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


# --- notices to the applicant (0013)


class ApplicantNotice(Base):
    """A notice to the applicant (短信告知) as the hub reports it: kind, status, when sent. The hub
    sends it (sync/hub/notify); the station only keeps what it was told (no phone, no text)."""

    __tablename__ = "applicant_notices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the hub's notice id
    submission_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # accepted | rejected | completed | collected
    item_id: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(12))  # pending|sending|retrying|sent|failed|no_phone
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # when this station learnt it


# --- 一人一档 (0015)


class ConsentEvent(Base):
    """A person's consent to reuse granted or withdrawn; the latest one is in force."""

    __tablename__ = "consent_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_bidx: Mapped[bytes] = mapped_column(LargeBinary(16))  # applicants.resident_id_bidx
    granted: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    submission_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (Index("ix_consent_events_person", "person_bidx", "id"),)


class ReuseRecord(Base):
    """An applicant field or a material an intake took from an earlier intake (its origin)."""

    __tablename__ = "reuse_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # field | material
    key: Mapped[str] = mapped_column(String(96))  # field name | checklist line id
    origin_submission_id: Mapped[str] = mapped_column(String(36))
    origin_number: Mapped[str] = mapped_column(String(32))
    origin_date: Mapped[str] = mapped_column(String(10))  # the origin's ledger day
    pages: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    __table_args__ = (
        UniqueConstraint("submission_id", "kind", "key", name="uq_reuse_records_key"),
    )


# --- ratings (0012)


class Rating(Base):
    """The applicant's 好差评 of one intake (level None: 未评价, declined), with the 差评's
    follow-up (整改) a supervisor closes with a note."""

    __tablename__ = "ratings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))  # who served the applicant
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    level: Mapped[str | None] = mapped_column(String(24))
    reasons: Mapped[str] = mapped_column(String(200), default="")  # reason codes, comma-joined
    reason_text: Mapped[str | None] = mapped_column(EncryptedText("ratings.reason_text"))
    rated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    local_date: Mapped[str] = mapped_column(String(10), index=True)
    event_id: Mapped[str] = mapped_column(String(36))
    followup_due: Mapped[dt.date | None] = mapped_column(Date)
    followup_closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    followup_closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    followup_note: Mapped[str | None] = mapped_column(EncryptedText("ratings.followup_note"))

    __table_args__ = (UniqueConstraint("submission_id", name="uq_ratings_submission"),)


# --- 帮办代办 and the hand-over of paper (0016)


class Agent(Base):
    """The 代办人 acting for an intake's applicant; personal data is ciphertext."""

    __tablename__ = "agents"
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(EncryptedText("agents.name"))
    resident_id: Mapped[str] = mapped_column(EncryptedText("agents.resident_id"))
    document_type: Mapped[str] = mapped_column(String(24), default="resident")
    phone: Mapped[str] = mapped_column(EncryptedText("agents.phone"))
    relation: Mapped[str] = mapped_column(String(32))
    resident_id_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class HandoverBatch(Base):
    """A 移交清单: paper originals handed to one lead department."""

    __tablename__ = "handover_batches"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    department: Mapped[str] = mapped_column(String(100))
    local_date: Mapped[str] = mapped_column(String(10))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    received_by: Mapped[str] = mapped_column(EncryptedText("handover_batches.received_by"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_handover_batches_day", "local_date", "department"),)


class HandoverLine(Base):
    """One intake whose paper went with a batch (at most one batch per intake)."""

    __tablename__ = "handover_lines"
    batch_id: Mapped[str] = mapped_column(
        ForeignKey("handover_batches.id", ondelete="CASCADE"), primary_key=True
    )
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("submission_id", name="uq_handover_lines_submission"),)


# --- online applications (0011)


class OnlineApplication(Base):
    """An application from the online channel as this station last heard of it from the hub
    (sync/jobs/online.py), and this window's review of it (app/online.py)."""

    __tablename__ = "online_applications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the hub's id
    platform_ref: Mapped[str] = mapped_column(String(64))
    bundle_id: Mapped[str] = mapped_column(String(64))
    # JSON: items, answers, applicant, files (personal): sealed with the station's data key
    data: Mapped[str] = mapped_column(EncryptedText("online_applications.data"))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # arrival at the hub
    # open | claimed (by anyone: claimed_by) | answered (hub) | answering (ours, not yet sent)
    status: Mapped[str] = mapped_column(String(16), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(8))
    claim_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"))
    decision: Mapped[str | None] = mapped_column(String(16))  # receipt | notice
    document_sha: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # the hub's time
    answered_by: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
