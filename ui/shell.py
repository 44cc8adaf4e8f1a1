"""Start-up and login: show the login dialog at once, open the store behind it, walk a first run
through set-up, and hand a logged-in clerk the main window (offering their open drafts).

The login dialog needs nothing but Qt, so it appears before SQLAlchemy, the catalog and the
services are loaded; those load on the database thread while the clerk types.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication

from app.options import (
    DB_PATH,
    DEMO,
    RECEIPT_QUERY_URL,
    STARTUP_PROBE,
    Options,
    resolve,
    upgrade_settings,
)
from ui.login import LoginDialog

if TYPE_CHECKING:
    from PySide6.QtCore import QLockFile
    from PySide6.QtWidgets import QMessageBox

    from app.capture.idcard import IdCardReader
    from app.context import AppContext
    from app.devices import Devices, SyncEngineFactory
    from app.views import StaffView, StationView, SubmissionView
    from printing.dispatch import PrinterBackend
    from sync.engine import SyncEngine
    from ui.setup import SetupDialog, SetupRequest
    from ui.sync import SyncSetup
    from ui.tasks import TaskError, TaskRunner
    from ui.wedge import WedgeFilter
    from ui.window import MainWindow


class _Opened(NamedTuple):
    ctx: AppContext
    needs_setup: bool
    station: StationView | None
    jurisdictions: list[tuple[str, str]]
    upgrade_backup: str | None = None  # file name of the backup written before an upgrade


class AppShell:
    """Owns the login dialog and, once logged in, the main window. OPTIONS are the values given
    on the command line (or by a test); the station settings and the environment fill in the
    rest (app/options.py). Dependencies can be given (tests: a built context, a fake printer, a
    simulated reader, a sync engine factory); otherwise app.devices builds them from options."""

    def __init__(
        self,
        options: Options,
        runner: TaskRunner,
        *,
        context_factory: Callable[[], AppContext] | None = None,
        printer: PrinterBackend | None = None,
        reader: IdCardReader | None = None,
        wedge_factory: Callable[[], WedgeFilter] | None = None,
        sync_factory: SyncEngineFactory | None = None,
        settings: QSettings | None = None,
    ) -> None:
        from ui.i18n import install_translations

        install_translations()  # the window's texts (.qm) and Qt's own buttons in Chinese
        self.settings = settings if settings is not None else QSettings()
        upgrade_settings(self.settings)
        self.given = options
        self.options = resolve(options.values, os.environ, self.settings)
        self.runner = runner
        self._context_factory = context_factory
        self._printer = printer
        self._reader = reader
        self._wedge_factory = wedge_factory
        self._sync_factory = sync_factory  # None: app.devices.default_sync_engine (OS keyring)
        self.devices: Devices | None = None  # built at each login from the options then saved
        self.sync_engine: SyncEngine | None = None  # built at the first login, kept across logins
        self.ctx: AppContext | None = None
        self.login = LoginDialog()
        self.setup: SetupDialog | None = None
        self.window: MainWindow | None = None
        self._store_requested = False
        # A login typed before the store is open: sent the moment it is (see _login_ready).
        self._pending_login: tuple[str, str] | None = None
        self._store_lock: QLockFile | None = None  # held while this window uses the store
        self.refusal: QMessageBox | None = None  # another window has the store
        self.exit_code = 0
        self.login.login_requested.connect(self._on_login_login_requested)
        self.login.rejected.connect(self._on_login_rejected)
        self.login.first_painted.connect(self._on_login_first_painted)

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        self.login.show()

    def _on_login_first_painted(self) -> None:
        if self.options[STARTUP_PROBE]:
            print("startup-probe: login-shown", flush=True)
        self.open_store()
        if self.options[STARTUP_PROBE]:
            from ui.startup_probe import type_login

            type_login(self.login)

    def open_store(self) -> None:
        if self._store_requested:
            return
        self._store_requested = True
        self.runner.run_db(self._open, self._on_store_opened, self._on_store_failed)

    def _db_path(self) -> Path | None:
        if self.options[DB_PATH] is not None:
            return self.options[DB_PATH]
        if self.options[DEMO]:
            from app.paths import data_dir

            return data_dir() / "demo.sqlite3"
        return None  # build_context's default

    def _open(self) -> _Opened:
        """On the database thread: the heavy imports, the store, the catalog, demo set-up."""
        from app.logsetup import setup_logging

        setup_logging()
        if self._context_factory is not None:
            ctx = self._context_factory()
            self._lock_store(ctx.db_path)
        else:
            from app.context import build_context, default_db_path

            path = self._db_path()
            self._lock_store(path or default_db_path())
            secrets = None
            if self.options[DEMO] and path is not None:
                from app.demo import demo_secrets

                secrets = demo_secrets(path.parent)
            ctx = build_context(
                path, secrets=secrets, receipt_query_url=self.options[RECEIPT_QUERY_URL]
            )
        if self.options[DEMO]:
            from app.demo import setup_demo_station

            setup_demo_station(ctx.staff)
        catalog = ctx.catalogs.current
        needs = ctx.staff.needs_setup()
        station = None if needs else ctx.staff.local_station()
        backup = ctx.upgrade_backup
        return _Opened(
            ctx,
            needs,
            station,
            [(j.id, j.name) for j in catalog.jurisdictions],
            backup.name if backup else None,
        )

    def _lock_store(self, path: Path) -> None:
        """On the database thread, before the store is touched: one window per store."""
        from ui.store_lock import lock_store

        self._store_lock = lock_store(path)

    def _on_store_failed(self, err: TaskError) -> None:
        self._pending_login = None
        if err.code == "store.in_use":
            self._refuse(err.message)
        self.login.set_unavailable(
            QCoreApplication.translate("AppShell", "无法打开数据库：{error}").format(
                error=err.message
            )
        )
        if self.options[STARTUP_PROBE]:
            print(f"startup-probe: failed {err.code}", flush=True)
            QApplication.quit()

    def _refuse(self, message: str) -> None:
        """Another window has this store: say who, then end this copy cleanly."""
        from PySide6.QtWidgets import QMessageBox

        self.exit_code = 1
        self.login.hide()
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            QCoreApplication.translate("AppShell", "数据库已被占用"),
            message,
            QMessageBox.StandardButton.Ok,
        )
        box.button(QMessageBox.StandardButton.Ok).setText(
            QCoreApplication.translate("AppShell", "退出")
        )
        box.finished.connect(lambda _r: QApplication.exit(self.exit_code))
        self.refusal = box
        if self.options[STARTUP_PROBE]:
            return  # the probe prints the refusal and quits: no one to click the box
        box.open()

    def release_store(self) -> None:
        if self._store_lock is not None:
            self._store_lock.unlock()
            self._store_lock = None

    def save_draft(self) -> None:
        """Send what the clerk typed to the store (the crash handler, before it reports)."""
        if self.window is not None:
            self.window.intake.flush()

    def _on_store_opened(self, opened: _Opened) -> None:
        self.ctx = opened.ctx
        if self.options[STARTUP_PROBE]:
            print("startup-probe: store-open", flush=True)
        if opened.needs_setup:
            self._pending_login = None  # no accounts yet: set-up comes first
            self._show_setup(opened.jurisdictions)
        else:
            assert opened.station is not None
            self._login_ready(opened.station, opened.upgrade_backup)
        # A failed warm-up costs nothing: the same work is done again where it is needed.
        self.runner.run_db(lambda: self._warm_up(opened.ctx), lambda _r: None, lambda _e: None)

    def _warm_up(self, ctx: AppContext) -> None:
        """On the database thread while the clerk types (queued after a login already sent):
        the pinyin search keys, not on the GUI thread at the first keystroke, and the sync
        engine, so that logging in does not wait for them."""
        for bundle in ctx.catalogs.current.bundles:
            _ = bundle.search_keys
        if self.sync_engine is None:
            self._open_sync(ctx)

    def _login_ready(self, station: StationView, upgrade_backup: str | None = None) -> None:
        hint = ""
        if self.options[DEMO]:
            hint = QCoreApplication.translate(
                "AppShell",
                "演示模式：窗口人员 wangfang / clerk1234，负责人 zhangjing / super1234，管理员 admin / admin1234。",
            )
        if upgrade_backup:
            hint = (hint + "\n" if hint else "") + QCoreApplication.translate(
                "AppShell",
                "数据库已升级到本版本；升级前的数据已加密备份为“{file}”（与数据库同一目录）。",
            ).format(file=upgrade_backup)
        self.login.set_ready(
            QCoreApplication.translate("AppShell", "{station}（{code}）").format(
                station=station.name, code=station.code
            ),
            hint,
        )
        if not self.login.isVisible():
            self.login.show()
        pending, self._pending_login = self._pending_login, None
        if pending is not None:
            self.login.set_busy(True)
            self._on_login_login_requested(*pending)
        else:
            self.login.reset()

    # ------------------------------------------------------------------ first run

    def _show_setup(self, jurisdictions: list[tuple[str, str]]) -> None:
        from ui.setup import SetupDialog

        self.login.hide()
        self.setup = SetupDialog(jurisdictions)
        self.setup.setup_requested.connect(self._on_setup_setup_requested)
        self.setup.rejected.connect(self._on_setup_rejected)
        self.setup.show()

    def _on_setup_rejected(self) -> None:
        QApplication.quit()

    def _on_setup_setup_requested(self, request: SetupRequest) -> None:
        ctx = self.ctx
        assert ctx is not None

        def run() -> tuple[StationView, list[str]]:
            from local_db.errors import DomainError

            station, admin = ctx.staff.setup_station(
                code=request.station_code,
                name=request.station_name,
                centre_name=request.centre_name,
                jurisdiction=request.jurisdiction,
                admin_username=request.admin.username,
                admin_display_name=request.admin.display_name,
                admin_password=request.admin.password,
                progress_phone=request.progress_phone,
            )
            problems = []
            for account in request.accounts:
                try:
                    ctx.staff.create_account(
                        admin,
                        username=account.username,
                        display_name=account.display_name,
                        role=account.role,  # type: ignore[arg-type]
                        password=account.password,
                    )
                except DomainError as exc:
                    # The station is in; the administrator adds this account later.
                    problems.append(exc.message)
            return station, problems

        def done(result: tuple[StationView, list[str]]) -> None:
            station, problems = result
            assert self.setup is not None
            self.setup.done_ok()
            self.login.username.setText(request.admin.username)
            self._login_ready(station)
            if problems:
                self.login.show_error(
                    QCoreApplication.translate(
                        "AppShell", "站点已设置，但有账号未能创建：{error}"
                    ).format(error="；".join(problems))
                )

        def failed(err: TaskError) -> None:
            assert self.setup is not None
            self.setup.show_error(err.message, err.code)

        self.runner.run_db(run, done, failed)

    # ------------------------------------------------------------------ login

    def _on_login_rejected(self) -> None:
        if self.window is None:
            QApplication.quit()

    def _on_login_login_requested(self, username: str, password: str) -> None:
        ctx = self.ctx
        if ctx is None:  # typed faster than the store opened: log in as soon as it is
            self._pending_login = (username, password)
            self.login.set_busy(True)
            return

        def run() -> tuple[StaffView, StationView, list[SubmissionView], SyncSetup | None]:
            actor = ctx.staff.login(username, password)
            drafts = ctx.queries.open_drafts(actor)
            return actor, ctx.staff.local_station(), drafts, self._open_sync(ctx)

        self.runner.run_db(run, self._on_logged_in, lambda err: self.login.show_error(err.message))

    def _open_sync(self, ctx: AppContext) -> SyncSetup | None:
        """On the database thread: the sync engine (built once) and whether it may run."""
        from app.devices import default_sync_engine
        from ui.sync import open_sync

        setup = open_sync(ctx, self.sync_engine, self._sync_factory or default_sync_engine)
        if setup is not None:
            self.sync_engine = setup.engine
        return setup

    def _on_logged_in(
        self, result: tuple[StaffView, StationView, list[SubmissionView], SyncSetup | None]
    ) -> None:
        actor, station, drafts, sync = result
        if self.options[STARTUP_PROBE]:
            print("startup-probe: logged-in", flush=True)
            QApplication.quit()
            return
        self.open_window(actor, station, drafts, sync)

    def open_window(
        self,
        actor: StaffView,
        station: StationView,
        drafts: list[SubmissionView],
        sync: SyncSetup | None = None,
    ) -> MainWindow:
        from ui.session import ClerkSession
        from ui.window import MainWindow

        assert self.ctx is not None
        session = ClerkSession(
            ctx=self.ctx,
            actor=actor,
            station=station,
            runner=self.runner,
            devices=self._build_devices(),
            options=self.options,
            sync=sync,
            settings=self.settings,
        )
        wedge = self._wedge_factory() if self._wedge_factory else None
        window = MainWindow(session, wedge)
        window.logout_requested.connect(self.logout)
        self.window = window
        window.show()
        self.login.hide()
        window.offer_drafts(drafts)
        return window

    def logout(self) -> None:
        window = self.window
        if window is None:
            return
        self.window = None
        window.shutdown()
        self.login.password.clear()
        self.login.show()
        self.login.reset()
        window.close()
        window.deleteLater()

    # ------------------------------------------------------------------ devices

    def _build_devices(self) -> Devices:
        """At each login: the options again (a supervisor may have saved 设备设置 since), then
        every device (app.devices). The previous window closed its reader at logout."""
        from app.devices import build_devices

        assert self.ctx is not None
        self.options = resolve(self.given.values, os.environ, self.settings)
        self.devices = build_devices(
            self.options,
            self.ctx.db_path,
            printer=self._printer,
            reader=self._reader,
            sync_factory=self._sync_factory,
        )
        return self.devices
