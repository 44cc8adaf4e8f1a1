"""What the window works with once a clerk has logged in: the services, the clerk, the devices.

A plain value handed to every screen (no global service locator); built by the shell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from app.capture.idcard import IdCardReader
    from app.catalog import Catalog
    from app.context import AppContext
    from app.devices import Devices
    from app.forms import IntakeForms
    from app.intake import IntakeService
    from app.intake_pages import IntakePages
    from app.ledger import IntakeQueries
    from app.options import Options
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
    devices: Devices  # built by app.devices.build_devices (the shell)
    options: Options  # resolved: flags > environment > station settings > defaults
    sync: SyncSetup | None = None  # the sync engine and its state at login; None: unavailable
    settings: QSettings | None = None  # the station settings store; None: QSettings()

    @property
    def printer(self) -> PrinterBackend:
        return self.devices.printer

    @property
    def paper(self) -> str:
        return self.devices.paper

    @property
    def printer_name(self) -> str | None:
        return self.devices.printer_name  # None: the backend's default printer

    @property
    def reader(self) -> IdCardReader | None:
        return self.devices.reader  # None: manual entry only

    @property
    def demo(self) -> bool:
        return self.devices.demo

    @property
    def idle_lock_minutes(self) -> float:
        return self.devices.idle_lock_minutes

    @property
    def intake(self) -> IntakeService:
        return self.ctx.intake

    @property
    def pages(self) -> IntakePages:
        return self.ctx.pages

    @property
    def documents(self) -> IntakeForms:
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
