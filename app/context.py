"""The composition root: builds the store, catalog, services and devices once, for the window,
the CLI and tests alike. No global service locator: callers hold the context they built."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.agent import AgentService
from app.audit_anchor import FILE_NAME as ANCHOR_FILE
from app.audit_anchor import AuditAnchor
from app.catalog_load import CatalogProvider
from app.clock import Clock, SystemClock
from app.consultations import ConsultationService
from app.dayclose import DayCloseService
from app.delivery import DeliveryProofs
from app.forms import IntakeForms
from app.handover import HandoverService
from app.intake import IntakeService
from app.intake_pages import IntakePages
from app.ledger import IntakeQueries
from app.paths import default_db_path
from app.ratings import RatingService
from app.receipts import ReceiptSigner
from app.reports import Reports
from app.reuse import ReuseService
from app.staff import StaffService
from app.upgrade_backup import UpgradeBackup
from local_db.attachments import AttachmentStore
from local_db.engine import open_store, store_key
from local_db.keys import KeyringSecretStore, SecretKeyError, SecretStore

log = logging.getLogger("intake.context")


@dataclass
class AppContext:
    db_path: Path
    sessions: sessionmaker[Session]
    catalogs: CatalogProvider
    attachments: AttachmentStore
    clock: Clock
    staff: StaffService
    intake: IntakeService  # commands
    pages: IntakePages
    documents: IntakeForms  # IntakeDocuments with the generated forms
    queries: IntakeQueries  # one submission, the ledger, search
    dayclose: DayCloseService
    reuse: ReuseService  # 一人一档: consent and consented reuse
    reports: Reports
    secrets: SecretStore
    signer: ReceiptSigner | None
    audit_anchor: AuditAnchor | None = None
    ratings: RatingService | None = None  # 好差评; built by build_context

    @property
    def consultations(self) -> ConsultationService:
        """咨询 (办事指南 before an applicant exists): stateless, built on demand."""
        return ConsultationService(
            self.sessions, lambda: self.catalogs.current, self.staff, self.clock
        )

    @property
    def files_dir(self) -> Path:
        return files_dir_for(self.db_path)

    @property
    def upgrade_backup(self) -> Path | None:
        """The backup written before this start upgraded the store, if it did."""
        from local_db.engine import upgrade_backup

        return upgrade_backup(self.sessions)

    # 帮办代办 / 优先办, the 送达凭证 and the hand-over of paper (app/agent.py, app/delivery.py,
    # app/handover.py): services on the same parts, built when first used.
    @functools.cached_property
    def agents(self) -> AgentService:
        return AgentService(self.sessions, self.catalogs, self.attachments, self.clock)

    @functools.cached_property
    def deliveries(self) -> DeliveryProofs:
        return DeliveryProofs(self.sessions, self.catalogs, self.attachments, self.clock)

    @functools.cached_property
    def handover(self) -> HandoverService:
        return HandoverService(self.sessions, self.catalogs, self.attachments, self.clock)

    def close(self) -> None:
        bind = self.sessions.kw.get("bind")
        if bind is not None:
            bind.dispose()


def files_dir_for(db_path: Path) -> Path:
    """Attachments, archived catalogs and printed PDFs live beside the database."""
    return db_path.parent / f"{db_path.stem}-files"


def _signer(secrets: SecretStore) -> ReceiptSigner | None:
    try:
        return ReceiptSigner.from_store(secrets)
    except SecretKeyError as exc:
        # No usable keyring (e.g. a headless box): receipts still print, without a signature.
        log.warning("receipt signing unavailable: %s", exc.code)
        return None


def build_context(
    db_path: Path | str | None = None,
    *,
    clock: Clock | None = None,
    catalog_path: Path | str | None = None,
    secrets: SecretStore | None = None,
    create: bool | None = None,
    receipt_query_url: str | None = None,
) -> AppContext:
    path = Path(db_path) if db_path is not None else default_db_path()
    secrets = secrets or KeyringSecretStore()
    sessions = open_store(
        path, secrets=secrets, create=create, upgrade_guard=UpgradeBackup(secrets)
    )
    files = files_dir_for(path)
    attachments = AttachmentStore(files / "blobs", store_key(sessions))
    catalogs = CatalogProvider.from_path(catalog_path, archive=files / "catalogs")
    clock = clock or SystemClock()
    signer = _signer(secrets)
    staff = StaffService(sessions, clock)
    anchor = AuditAnchor(sessions, secrets, signer, files / ANCHOR_FILE, clock)
    return AppContext(
        db_path=path,
        sessions=sessions,
        catalogs=catalogs,
        attachments=attachments,
        clock=clock,
        staff=staff,
        intake=IntakeService(
            sessions, catalogs, attachments, clock, signer, query_url=receipt_query_url
        ),
        pages=IntakePages(
            sessions, catalogs, attachments, clock, signer, query_url=receipt_query_url
        ),
        documents=IntakeForms(  # the documents, with the generated forms (一表申请)
            sessions, catalogs, attachments, clock, signer, query_url=receipt_query_url
        ),
        queries=IntakeQueries(
            sessions, catalogs, attachments, clock, signer, query_url=receipt_query_url
        ),
        reuse=ReuseService(
            sessions, catalogs, attachments, clock, signer, query_url=receipt_query_url
        ),
        dayclose=DayCloseService(sessions, staff, clock, catalogs, anchor=anchor),
        reports=Reports(sessions, lambda: catalogs.current, staff, catalogs.get),
        secrets=secrets,
        signer=signer,
        audit_anchor=anchor,
        ratings=RatingService(sessions, catalogs, attachments, clock, signer, staff=staff),
    )
