"""What the window works with once a clerk has logged in: the services, the clerk, the devices.

A plain value handed to every screen (no global service locator); built by the shell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from app.catalog import Catalog
    from app.context import AppContext
    from app.intake import IntakeService
    from app.intake_documents import IntakeDocuments
    from app.intake_pages import IntakePages
    from app.ledger import IntakeQueries
    from app.staff import StaffService
    from app.views import StaffView, StationView
    from printing.dispatch import PrinterBackend
    from ui.sync import SyncSetup
    from ui.tasks import TaskRunner


@dataclass
class ClerkSession:
    ctx: AppContext
    actor: StaffView
    station: StationView
    runner: TaskRunner
    printer: PrinterBackend
    paper: str = "A4"
    printer_name: str | None = None  # None: the backend's default printer
    reader: Any = None  # app.capture.idcard.IdCardReader, or None for manual entry only
    demo: bool = False
    idle_lock_minutes: float = 10.0
    camera: str | None = None  # document camera: device index or part of its name
    sync: SyncSetup | None = None  # the sync engine and its state at login; None: unavailable
    settings: QSettings | None = None  # the window's settings (backup policy); None: QSettings()

    @property
    def intake(self) -> IntakeService:
        return self.ctx.intake

    @property
    def pages(self) -> IntakePages:
        return self.ctx.pages

    @property
    def documents(self) -> IntakeDocuments:
        return self.ctx.documents

    @property
    def queries(self) -> IntakeQueries:
        return self.ctx.queries

    @property
    def staff(self) -> StaffService:
        return self.ctx.staff

    @property
    def catalog(self) -> Catalog:
        return self.ctx.catalogs.current
