"""The clerk's main window: 受理 (the intake workspace), 查询 (find and follow up), 台账 (the day's
ledger); a message bar instead of modal boxes; status bar with the clerk, the ID card reader,
the printer, the nearest 2-hour push deadline and the sync state (ui/sync.py: the engine runs on
the task runner's pool, a click or Ctrl+Shift+S opens the sync queue). Backups run on a schedule
while the window is open (ui/backup.py); a missing or old backup shows a warning there, which
supervisors and administrators click to open the backup dialog.

Application-wide input: keyboard-wedge scans of a receipt open that intake from any screen; an
idle timer locks the window (the work stays as it was).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui.backup import (
    BackupController,
    BackupDialog,
    BackupIndicatorWidget,
    may_back_up,
    may_run_backup,
)
from ui.capture.devices import CaptureDevices
from ui.deadline import DeadlineWidget
from ui.devices import DeviceCheck, DeviceStatusWidget
from ui.drafts import DraftsDialog
from ui.idle import IdleWatcher
from ui.intake import EDITABLE_STAGES, IntakeWidget
from ui.ledger import LedgerWidget, push_deadline
from ui.lock import LockDialog
from ui.messages import MessageBarWidget
from ui.online import OnlineIndicatorWidget, OnlineQueueDialog
from ui.search import SearchWidget
from ui.style import current
from ui.supervisor import SupervisorWidget, may_supervise
from ui.sync import SyncController, SyncIndicatorWidget
from ui.tasks import TaskError
from ui.wedge import ScanToken, WedgeFilter

if TYPE_CHECKING:
    from app.capture.idcard import CardWatcher
    from app.views import LedgerRow, SubmissionView
    from ui.capture.dialog import CaptureDialog
    from ui.consult import ConsultationDialog
    from ui.devices import DeviceSettingsDialog
    from ui.display import DisplayDialog
    from ui.session import ClerkSession
    from ui.sync_queue import SyncQueueDialog

log = logging.getLogger("intake.ui.window")

CARD_POLL_MS = 400
DEADLINE_REFRESH_MS = 60_000


class MainWindow(QMainWindow):
    logout_requested = Signal()
    lock_changed = Signal(bool)

    def __init__(
        self, session: ClerkSession, wedge: WedgeFilter | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        st, actor = session.station, session.actor
        self.setWindowTitle(
            self.tr("综合受理窗口 — {station} — {clerk}（{role}）").format(
                station=st.name, clerk=actor.display_name, role=actor.role_label
            )
        )
        self._fit_screen(1440, 880)
        self.messages = MessageBarWidget(self)
        self.intake = IntakeWidget(session, self)
        self.intake.applicant.read_card_requested.connect(self.read_card_now)
        self.search = SearchWidget(session, self)
        self.ledger = LedgerWidget(session, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.intake, self.tr("受理"))
        self.tabs.addTab(self.search, self.tr("查询与后续"))
        self.tabs.addTab(self.ledger, self.tr("台账"))
        # 负责人: reconciliation and day close, for supervisor and admin accounts only
        self.supervisor: SupervisorWidget | None = None
        if may_supervise(actor.role):
            self.supervisor = SupervisorWidget(session, self)
            self.tabs.addTab(self.supervisor, self.tr("负责人"))
            self.supervisor.open_requested.connect(self.open_intake)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.messages)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.central = central

        for source in (self.intake, self.search):
            source.message_posted.connect(self.show_message)
        self.intake.message_withdrawn.connect(self.messages.withdraw)
        self.ledger.open_requested.connect(self.open_intake)
        self.search.edit_requested.connect(self.edit_intake)
        self.intake.intake_finished.connect(self._on_intake_intake_finished)
        # document capture (camera, files, scanner folder): devices chosen once, opened per use
        self.capture_devices = CaptureDevices.from_session(session)
        self.capture_dialog: CaptureDialog | None = None
        self._capture_suspended = False
        self.intake.capture_requested.connect(self.open_capture)
        self.intake.pages_changed.connect(self._on_pages_changed)
        session.runner.failed.connect(self._on_runner_failed)
        session.runner.busy_changed.connect(self._on_runner_busy_changed)

        # status bar
        # The station is in the title bar: at 150 % the status bar has no room for it twice.
        self.who_label = QLabel(
            self.tr("{clerk}（{role}）").format(clerk=actor.display_name, role=actor.role_label),
            self,
        )
        self.reader_label = QLabel(self)
        self.printer_label = QLabel(self)
        self.busy_label = QLabel(self)
        self.deadline = DeadlineWidget(self, session.ctx.clock.now)
        # sync: built at login (session.sync); turns run on the pool, never on this thread
        self.sync = SyncController(session.sync, session.runner, self)
        self.sync_indicator = SyncIndicatorWidget(self, str(session.ctx.db_path))
        self.sync_dialog: SyncQueueDialog | None = None
        self.sync.status_changed.connect(self.sync_indicator.set_status)
        self.sync.intakes_synced.connect(self._on_sync_intakes_synced)
        self.sync_indicator.clicked.connect(self.show_sync_queue)
        # online applications: their count in the status bar, the queue on Ctrl+Shift+O
        self.online_indicator = OnlineIndicatorWidget(session, self)
        self.online_indicator.clicked.connect(self.show_online_queue)
        self.online_dialog: OnlineQueueDialog | None = None
        if self.supervisor is not None:
            self.supervisor.set_sync(self.sync)
            self.supervisor.sync_queue_requested.connect(self.show_sync_queue)
        # backups: scheduled on the pool while the window is open; the warning when none is recent
        self.backup = BackupController(session, session.settings, self)
        self.backup_indicator = BackupIndicatorWidget(self, clickable=may_back_up(actor.role))
        self.backup_dialog: BackupDialog | None = None
        self.handover_dialog: QDialog | None = None
        self._backup_greeted = False
        self.backup.status_changed.connect(self._on_backup_status_changed)
        self.backup.backup_failed.connect(self._on_backup_backup_failed)
        self.backup.backup_finished.connect(self._on_backup_backup_finished)
        if may_back_up(actor.role):
            self.backup_indicator.clicked.connect(self.show_backup_dialog)
        # One row; two at a large font, where one row of it is wider than a 1366 screen.
        panel = QWidget(self)
        rows = QVBoxLayout(panel)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(0)
        first, second = QHBoxLayout(), QHBoxLayout()
        for row in (first, second):
            row.setSpacing(16)  # the indicators are plain labels: keep them apart
        rows.addLayout(first)
        one_row = current().font_scale <= 100
        for widget in (self.who_label, self.reader_label, self.busy_label):
            first.addWidget(widget)
        # a configured device that is missing: named with what to do (ui/devices.py)
        self.device_status = DeviceStatusWidget(self)
        self.device_check = DeviceCheck(session, self)
        self.device_check.checked.connect(self.device_status.set_problems)
        self.device_status.clicked.connect(self.show_device_settings)
        self.device_settings: DeviceSettingsDialog | None = None
        first.addWidget(self.device_status)
        first.addStretch(1)
        lower = first if one_row else second
        if not one_row:
            rows.addLayout(second)
            first.addWidget(self.backup_indicator)
            first.addWidget(self.printer_label)
            second.addStretch(1)
        else:
            lower.addWidget(self.backup_indicator)
        lower.addWidget(self.sync_indicator)
        lower.addWidget(self.online_indicator)
        lower.addWidget(self.deadline)
        if one_row:
            lower.addWidget(self.printer_label)
        self.statusBar().addWidget(panel, 1)
        self.printer_label.setText(self.tr("打印机：正在查询……"))
        # Asking the print system (CUPS, the Windows spooler) can block: not on the GUI thread.
        session.runner.run_pool(
            session.printer.default_printer,
            self._on_printer_found,
            lambda _e: self._on_printer_found(None),
            guard=self,
        )
        self._build_actions()

        # application-wide input
        self.wedge = wedge if wedge is not None else WedgeFilter(self)
        self.wedge.setParent(self)
        self.wedge.scanned.connect(self._on_wedge_scanned)
        self.wedge.install()
        self.idle = IdleWatcher(session.idle_lock_minutes, self)
        self.idle.idle_timed_out.connect(self.lock)
        self.idle.install()
        self.lock_dialog: LockDialog | None = None
        self.drafts_dialog: DraftsDialog | None = None

        # ID card reader: polled on the pool, one poll at a time
        self._watcher: CardWatcher | None = None
        self._polling = False
        self._last_reader_error: str | None = None
        self.card_timer = QTimer(self)
        self.card_timer.setInterval(CARD_POLL_MS)
        self.card_timer.timeout.connect(self.poll_card)
        if session.reader is not None:
            from app.capture.idcard import CardWatcher

            self._watcher = CardWatcher(session.reader)
            if getattr(session.reader, "supports_polling", True):
                self.card_timer.start()  # read on placement; otherwise only on 读卡 (F2)
            self.reader_label.setText(self.tr("读卡器：就绪"))
        else:
            self.reader_label.setText(self.tr("读卡器：未连接（手工录入）"))

        self.deadline_timer = QTimer(self)
        self.deadline_timer.setInterval(DEADLINE_REFRESH_MS)
        self.deadline_timer.timeout.connect(self.refresh_deadlines)
        self.deadline_timer.start()
        self.refresh_deadlines()
        self.intake.new_intake()
        if actor.role == "supervisor" and self.supervisor is not None:
            self.tabs.setCurrentWidget(self.supervisor)  # a 负责人 signs in to reconcile and close
        self.sync.start()
        self.online_indicator.start()
        self.backup.start()
        self.device_check.start()

    # ------------------------------------------------------------------ actions

    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu(self.tr("受理(&F)"))
        entries: list[tuple[str, str, Any]] = [
            (self.tr("新建受理"), "Ctrl+N", self.new_intake),
            (self.tr("完成受理并打印"), "F12", self.finish_intake),
            (self.tr("申请人"), "Alt+1", lambda: self.focus_section(1)),
            (self.tr("一件事与事项"), "Alt+2", lambda: self.focus_section(2)),
            (self.tr("情形问题"), "Alt+3", lambda: self.focus_section(3)),
            (self.tr("材料清单"), "Alt+4", lambda: self.focus_section(4)),
            (self.tr("查询受理记录"), "Ctrl+F", self.show_search),
            (self.tr("今日台账"), "Ctrl+T", self.show_ledger),
            (self.tr("咨询（打印办事指南）"), "Ctrl+G", self.show_consultation),
            (self.tr("材料移交牵头部门…"), "Ctrl+Shift+H", self.open_handover),
            (self.tr("线上申请"), "Ctrl+Shift+O", self.show_online_queue),
            (self.tr("锁定窗口"), "Ctrl+L", self.lock),
            (self.tr("切换用户"), "", self.logout_requested.emit),
            (self.tr("退出"), "Ctrl+Q", self.close),
        ]
        for text, keys, slot in entries:
            action = QAction(text, self)
            if keys:
                action.setShortcut(QKeySequence(keys))
                action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _c=False, f=slot: f())
            menu.addAction(action)
            self.addAction(action)
        devices = self.menuBar().addMenu(self.tr("设备(&K)"))
        if self.session.demo and self.session.reader is not None:
            demo_card = QAction(self.tr("模拟放置身份证（演示）"), self)
            demo_card.setShortcut(QKeySequence("F3"))
            demo_card.triggered.connect(self.place_demo_card)
            devices.addAction(demo_card)
            self.addAction(demo_card)
        poll = QAction(self.tr("立即读卡"), self)
        poll.setShortcut(QKeySequence("F2"))
        poll.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        poll.triggered.connect(self.read_card_now)
        devices.addAction(poll)
        self.addAction(poll)
        capture = QAction(self.tr("采集材料页面（高拍仪/扫描件）"), self)
        capture.setShortcuts([QKeySequence("F8"), QKeySequence("Alt+C")])
        capture.triggered.connect(lambda: self.open_capture())
        devices.addAction(capture)
        self.addAction(capture)
        import_files = QAction(self.tr("导入材料文件…"), self)
        import_files.setShortcut(QKeySequence("Ctrl+I"))
        import_files.triggered.connect(lambda: self.open_capture(import_files=True))
        devices.addAction(import_files)
        self.addAction(import_files)
        devices.addSeparator()
        device_settings = QAction(self.tr("设备设置…"), self)
        device_settings.triggered.connect(self.show_device_settings)
        devices.addAction(device_settings)
        sync_menu = self.menuBar().addMenu(self.tr("同步(&Y)"))
        queue = QAction(self.tr("同步队列"), self)
        queue.setShortcut(QKeySequence("Ctrl+Shift+S"))
        queue.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        queue.triggered.connect(self.show_sync_queue)
        sync_menu.addAction(queue)
        self.addAction(queue)
        sync_now = QAction(self.tr("立即同步"), self)
        sync_now.triggered.connect(self.sync.sync_now)
        sync_menu.addAction(sync_now)
        if self.supervisor is not None:
            supervisor_menu = self.menuBar().addMenu(self.tr("负责人(&S)"))
            reconcile = QAction(self.tr("对账与日结"), self)
            reconcile.setShortcut(QKeySequence("Ctrl+Shift+R"))
            reconcile.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            reconcile.triggered.connect(self.show_supervisor)
            supervisor_menu.addAction(reconcile)
            self.addAction(reconcile)
        if may_back_up(self.session.actor.role):  # never offered to clerks
            system_menu = self.menuBar().addMenu(self.tr("系统(&M)"))
            backup = QAction(self.tr("备份(&B)…"), self)
            backup.triggered.connect(self.show_backup_dialog)
            system_menu.addAction(backup)
            self.backup_action: QAction | None = backup
        else:
            self.backup_action = None
        view_menu = self.menuBar().addMenu(self.tr("显示(&V)"))
        display = QAction(self.tr("字体大小与高对比度…"), self)
        display.triggered.connect(self.show_display_dialog)
        view_menu.addAction(display)
        help_menu = self.menuBar().addMenu(self.tr("帮助(&H)"))
        keys_action = QAction(self.tr("快捷键"), self)
        keys_action.setShortcut(QKeySequence("F1"))
        keys_action.triggered.connect(self.show_keys)
        help_menu.addAction(keys_action)
        self.addAction(keys_action)
        about_action = QAction(self.tr("关于"), self)
        about_action.triggered.connect(self.show_about)
        help_menu.addAction(about_action)
        self.about_action = about_action
        escape = QShortcut(QKeySequence("Esc"), self)
        escape.setContext(Qt.ShortcutContext.WindowShortcut)
        escape.activated.connect(self.messages.dismiss)

    def _on_printer_found(self, name: str | None) -> None:
        name = self.session.printer_name or name
        self.printer_label.setText(
            self.tr("打印机：{name}").format(name=name)
            if name
            else self.tr("打印机：未找到，请检查")
        )

    def show_device_settings(self) -> None:
        """设备设置: the window's card polling pauses while the dialog may test the reader."""
        from PySide6.QtCore import QSettings

        from ui.devices import DeviceSettingsDialog

        if self.device_settings is not None and self.device_settings.isVisible():
            self.device_settings.raise_()
            return
        settings = self.session.settings if self.session.settings is not None else QSettings()
        dialog = DeviceSettingsDialog(self.session, settings, self)
        self.card_timer.stop()
        dialog.finished.connect(self._on_device_settings_finished)
        self.device_settings = dialog
        dialog.open()

    def _on_device_settings_finished(self, _result: int) -> None:
        if self._watcher is not None:
            self.card_timer.start()

    def show_keys(self) -> None:
        self.show_message(
            self.tr(
                "F12 完成受理并打印 · Ctrl+N 新建 · Alt+1 申请人 · Alt+2 一件事（可输入拼音首字母）· Alt+3 情形 · "
                "Alt+4 材料清单（空格切换状态，1已收 2免提交 3容缺 0缺，Alt+A 其余全部已收）· Ctrl+F 查询 · "
                "Ctrl+T 台账 · Ctrl+L 锁定 · F8/Alt+C 采集材料页面（空格拍摄）· Ctrl+I 导入材料文件 · "
                "Ctrl+Shift+S 同步队列 · F2 读卡 · Alt+G 同意复用（一人一档）· "
                "扫描回执二维码直接打开受理记录"
            ),
            "info",
            timeout_ms=20000,
        )

    def about_text(self) -> str:
        from app.version import versions

        v = versions(self.session.catalog.version)
        return self.tr(
            "一件事一次办 综合受理窗口客户端\n\n客户端版本：{client}\n数据库结构版本：{schema}\n"
            "一件事目录版本：{catalog}"
        ).format(**v)

    def show_display_dialog(self) -> DisplayDialog:
        from ui.display import DisplayDialog

        dialog = DisplayDialog(self.session.settings, self)
        dialog.changed.connect(
            lambda _o: self.show_message(self.tr("显示设置已保存并应用。"), "success")
        )
        dialog.open()
        self.display_dialog = dialog
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(self, self.tr("关于"), self.about_text())

    def show_message(self, text: str, level: str = "info", **kw: Any) -> None:
        self.messages.show_message(text, level, **kw)  # type: ignore[arg-type]

    def _on_runner_failed(self, err: TaskError) -> None:
        self.show_message(err.message, "error")

    def _on_runner_busy_changed(self, busy: bool) -> None:
        self.busy_label.setText(self.tr("处理中……") if busy else "")

    def _on_tabs_current_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.ledger:
            self.ledger.refresh()
        elif self.supervisor is not None and self.tabs.widget(index) is self.supervisor:
            self.supervisor.refresh()

    def new_intake(self) -> None:
        self.tabs.setCurrentWidget(self.intake)
        self.intake.new_intake()

    def finish_intake(self) -> None:
        if self.tabs.currentWidget() is self.intake:
            self.intake.finish()

    def focus_section(self, n: int) -> None:
        self.tabs.setCurrentWidget(self.intake)
        self.intake.focus_section(n)

    def show_search(self) -> None:
        self.tabs.setCurrentWidget(self.search)
        self.search.focus_query()

    def open_handover(self) -> None:
        """材料移交 (ui/handover.py): a fresh list each time it opens."""
        from ui.handover import HandoverDialog

        self.handover_dialog = HandoverDialog(self.session, self)
        self.handover_dialog.open()

    def show_ledger(self) -> None:
        self.tabs.setCurrentWidget(self.ledger)
        self.ledger.table.setFocus()

    def show_consultation(self) -> ConsultationDialog:
        """咨询: bundle, items and questions without an applicant, then the 办事指南 printed."""
        from ui.consult import ConsultationDialog

        self.consultation = ConsultationDialog(self.session, self)
        self.consultation.open()
        return self.consultation

    def show_supervisor(self) -> None:
        if self.supervisor is not None:
            self.tabs.setCurrentWidget(self.supervisor)

    # ------------------------------------------------------------------ opening intakes

    def open_intake(self, sid: str) -> None:
        """Drafts and notified intakes open in the workspace; the rest in 查询与后续."""
        s = self.session

        def route(view: SubmissionView) -> None:
            if view.stage in EDITABLE_STAGES:
                self.edit_intake(sid)
            else:
                self.tabs.setCurrentWidget(self.search)
                self.search.open_intake(sid)

        s.runner.run_db(lambda: s.queries.get(sid), route, self._on_runner_failed, guard=self)

    def edit_intake(self, sid: str) -> None:
        self.tabs.setCurrentWidget(self.intake)
        self.intake.load(sid)

    def open_by_number(self, number: str) -> None:
        s = self.session

        def found(sid: str | None) -> None:
            if sid is None:
                self.show_message(
                    self.tr("未找到受理编号 {number} 的记录（可能是其他站点的回执）。").format(
                        number=number
                    ),
                    "warning",
                )
                return
            self.show_message(self.tr("已打开受理记录 {number}").format(number=number), "info")
            self.open_intake(sid)

        s.runner.run_db(
            lambda: s.queries.find_by_number(number), found, self._on_runner_failed, guard=self
        )

    def _on_wedge_scanned(self, token: ScanToken) -> None:
        from app.numbering import parse_receipt_payload

        ref = parse_receipt_payload(token.payload)
        if ref is not None:
            self.open_by_number(ref.number)
            return
        if not _may_be_licence(token.payload):
            token.replay()  # a scanner used as a keyboard (or very fast typing): type it
            return

        def classified(meaning: Any) -> None:
            if meaning.kind == "licence" and meaning.uscc:
                self.tabs.setCurrentWidget(self.intake)
                self.intake.set_uscc_from_licence(meaning.uscc)
                self.show_message(self.tr("已从营业执照二维码读取统一社会信用代码。"), "success")
            elif meaning.kind == "licence_opaque":
                self.show_message(
                    self.tr(
                        "营业执照二维码未含可读的统一社会信用代码，请手工录入。二维码内容：{payload}"
                    ).format(payload=meaning.display),
                    "warning",
                )
            else:
                token.replay()  # a scanner used as a keyboard: type it where it was aimed

        def not_classified(_err: TaskError) -> None:
            token.replay()

        self.session.runner.run_pool(
            lambda: _classify(token.payload), classified, not_classified, guard=self
        )

    # ------------------------------------------------------------------ capture

    def open_capture(
        self, material_id: str = "", retake: str = "", *, import_files: bool = False
    ) -> CaptureDialog | None:
        """F8 / Alt+C: the capture dialog for the intake on screen (the workspace, or the one
        opened in 查询与后续) at the selected material, or the next paper still without pages."""
        from ui.capture.dialog import CaptureDialog
        from ui.capture.pages import first_outstanding

        if self.capture_dialog is not None and self.capture_dialog.isVisible():
            self.capture_dialog.activateWindow()
            return self.capture_dialog
        detail = self.search.detail
        editable = False
        if self.tabs.currentWidget() is self.search and detail.view is not None:
            if detail.checklist is None:
                target = None
            else:
                material = material_id or first_outstanding(
                    detail.checklist.materials, detail.view.pages
                )
                target = (detail.view.id, detail.checklist, material)
            pages, number = (detail.view.pages, detail.view.number)
        else:
            self.tabs.setCurrentWidget(self.intake)
            target = self.intake.capture_target(material_id or None)
            pages, number = self.intake.pages, self.intake.number
            editable = self.intake.applicant_editable
        if target is None:
            self.show_message(
                self.tr("请先选择一件事和事项，材料清单出来后再采集材料页面。"), "warning"
            )
            return None
        sid, checklist, material = target
        if self.capture_dialog is not None and not self.capture_dialog.busy:
            self.capture_dialog.deleteLater()
        dialog = CaptureDialog(
            self.session,
            self.capture_devices,
            sid,
            checklist.materials,
            pages,
            material,
            retake=retake or None,
            number=number,
            applicant_editable=editable,
            parent=self,
        )
        dialog.pages_changed.connect(self._on_pages_changed)
        dialog.intake_requested.connect(self.open_by_number)
        dialog.uscc_accepted.connect(lambda uscc: self._on_capture_uscc_accepted(sid, uscc))
        dialog.id_card_read.connect(lambda reading: self._on_capture_id_card_read(sid, reading))
        dialog.collected_requested.connect(
            lambda material: self._on_capture_collected_requested(sid, material)
        )
        self.capture_dialog = dialog
        dialog.open()
        dialog.start()
        if retake:
            dialog.retake(retake)
        if import_files:
            dialog.choose_files()
        return dialog

    def _on_pages_changed(self, view: SubmissionView) -> None:
        self.intake.show_pages(view)
        if self.search.detail.view is not None and self.search.detail.view.id == view.id:
            self.search.detail.reload()
        self.refresh_deadlines()
        self.sync.poke()

    def _on_intake_intake_finished(self, _result: Any) -> None:
        self.refresh_deadlines()
        self.sync.poke()

    def show_online_queue(self) -> OnlineQueueDialog:
        """Ctrl+Shift+O or a click on the count: the online applications (non-modal)."""
        if self.online_dialog is None:
            self.online_dialog = OnlineQueueDialog(self.session, self)
            self.online_dialog.answered.connect(lambda _sid: self.online_indicator.refresh())
        self.online_dialog.reload()
        self.online_dialog.show()
        self.online_dialog.raise_()
        return self.online_dialog

    # ------------------------------------------------------------------ sync

    def show_sync_queue(self) -> SyncQueueDialog:
        """Ctrl+Shift+S or a click on the indicator: the queue view (non-modal)."""
        from ui.sync_queue import SyncQueueDialog

        if self.sync_dialog is None:
            self.sync_dialog = SyncQueueDialog(self.sync, self, str(self.session.ctx.db_path))
        self.sync_dialog.show()
        self.sync_dialog.raise_()
        self.sync_dialog.activateWindow()
        return self.sync_dialog

    def _on_sync_intakes_synced(self, sids: frozenset[str]) -> None:
        """A step marked intakes pushed or brought department decisions: the ledger and the
        intake open in 查询与后续 show it."""
        self.ledger.refresh()
        detail = self.search.detail
        if detail.view is not None and detail.view.id in sids:
            detail.reload()

    def _on_capture_uscc_accepted(self, sid: str, uscc: str) -> None:
        if self.intake.submission_id == sid and self.intake.applicant_editable:
            self.intake.set_uscc_from_licence(uscc)
            self.show_message(self.tr("已从营业执照二维码读取统一社会信用代码。"), "success")

    def _on_capture_collected_requested(self, sid: str, material_id: str) -> None:
        if self.intake.submission_id == sid and self.intake.applicant_editable:
            self.intake.mark_materials({material_id: "collected"})

    def _on_capture_id_card_read(self, sid: str, reading: Any) -> None:
        if self.intake.submission_id == sid:  # the applicant of the intake being captured
            self.intake.apply_id_card_reading(reading)

    # ------------------------------------------------------------------ backup

    def show_backup_dialog(self) -> BackupDialog | None:
        """系统 › 备份… or a click on the warning: supervisors and administrators only."""
        if not may_back_up(self.session.actor.role) or self.locked:
            return None
        if self.backup_dialog is None:
            self.backup_dialog = BackupDialog(self.backup, self.session.actor, self)
        self.backup_dialog.open()
        self.backup_dialog.raise_()
        return self.backup_dialog

    def _on_backup_status_changed(self, _status: Any) -> None:
        self.backup_indicator.set_state(self.backup)
        if self._backup_greeted or self.backup.status is None:
            return
        self._backup_greeted = True  # at login, once
        warning = self.backup.warning
        role = self.session.actor.role
        if warning and may_run_backup(role):
            self.show_message(warning, "warning", action=(self.tr("立即备份"), self.backup.run_now))
        elif warning and may_back_up(role):
            self.show_message(
                warning, "warning", action=(self.tr("查看备份"), self.show_backup_dialog)
            )

    def _on_backup_backup_failed(self, err: TaskError, _manual: bool) -> None:
        # Clerks see the status bar's warning; those who can act get the message too.
        if may_back_up(self.session.actor.role):
            self.show_message(
                self.tr("备份未完成：{reason}").format(reason=err.message),
                "warning",
                action=(self.tr("备份设置"), self.show_backup_dialog),
            )

    def _on_backup_backup_finished(self, result: Any, manual: bool) -> None:
        if manual:  # scheduled backups succeed silently: the warning just goes
            self.show_message(self.tr("备份完成：{name}").format(name=result.path.name), "success")

    # ------------------------------------------------------------------ ID card

    def poll_card(self, force: bool = False) -> None:
        if self._watcher is None or self._polling:
            return
        self._polling = True
        watcher = self._watcher
        self.session.runner.run_pool(
            lambda: watcher.poll(force), self._on_card_polled, self._on_card_poll_failed, guard=self
        )

    def read_card_now(self) -> None:
        """读卡 (F2 or the applicant panel's button): read the card on the reader, again if
        it was read already; a clerk without a reader is told so instead of nothing happening."""
        if self._watcher is None:
            self.show_message(
                self.tr("未配置身份证阅读器：请在设备设置中配置读卡器，或手工录入证件信息。"),
                "warning",
            )
            return
        self.poll_card(force=True)

    def _on_card_polled(self, card: Any) -> None:
        self._polling = False
        error = self._watcher.last_error if self._watcher else None
        message = error.message if error is not None else None
        if message != self._last_reader_error:
            self._last_reader_error = message
            self.reader_label.setText(
                self.tr("读卡器：{problem}").format(problem=message)
                if message
                else self.tr("读卡器：就绪")
            )
        if card is None:
            return
        remove = getattr(self.session.reader, "remove", None)  # the simulator's
        if self.session.demo and remove is not None:
            remove()  # demo: the card is taken away once read
        if self.lock_dialog is not None:
            return
        self.tabs.setCurrentWidget(self.intake)
        if not self.intake.apply_card(card):
            self.show_message(
                self.tr("读取到另一张身份证，当前受理已有申请人。是否用新读取的身份证替换申请人？"),
                "warning",
                action=(self.tr("替换申请人"), self.intake.replace_with_pending_card),
            )
            return
        kind = getattr(card, "card_type_name", "") or self.tr("居民身份证")
        if not card.id_valid and card.id_error:
            self.show_message(
                self.tr("{kind}号码校验未通过：{problem}").format(kind=kind, problem=card.id_error),
                "error",
            )
        elif card.valid_to is not None and card.valid_to < dt.date.today():
            self.show_message(
                self.tr("该{kind}已过有效期，请申请人提供有效证件。").format(kind=kind), "warning"
            )
        else:
            self.show_message(self.tr("已读取{kind}。").format(kind=kind), "success")

    def _on_card_poll_failed(self, err: TaskError) -> None:
        self._polling = False
        self.reader_label.setText(self.tr("读卡器：{problem}").format(problem=err.message))

    def place_demo_card(self) -> None:
        reader = self.session.reader
        if reader is not None and hasattr(reader, "present"):
            reader.present()
            self.poll_card()

    # ------------------------------------------------------------------ deadlines

    def refresh_deadlines(self) -> None:
        s = self.session
        from app.clock import local_day

        today = local_day(s.ctx.clock.now())
        s.runner.run_db(
            lambda: s.queries.ledger(today, applicants=False),
            self._on_deadline_rows,
            lambda _e: None,
            guard=self,
        )

    def _on_deadline_rows(self, rows: list[LedgerRow]) -> None:
        pending: list[tuple[dt.datetime, LedgerRow]] = []
        for r in rows:
            d = push_deadline(r)
            if d is not None:
                pending.append((d, r))
        pending.sort(key=lambda p: p[0])
        if not pending:
            self.deadline.set_deadline(None)
            return
        deadline, row = pending[0]
        suffix = self.tr("· {number} 等 {count} 件待数字化").format(
            number=row.number or "", count=len(pending)
        )
        self.deadline.set_deadline(deadline, suffix)

    # ------------------------------------------------------------------ drafts

    def _fit_screen(self, width: int, height: int) -> None:
        """WIDTH×HEIGHT, or the screen's free area where that is smaller (1366×768 counters)."""
        screen = self.screen()
        if screen is not None:
            free = screen.availableGeometry()
            width, height = min(width, free.width()), min(height, free.height())
        self.resize(width, height)

    def offer_drafts(self, drafts: list[SubmissionView]) -> None:
        if not drafts:
            return
        dialog = DraftsDialog(drafts, self)
        dialog.continue_requested.connect(self.edit_intake)
        dialog.discard_requested.connect(self._on_drafts_discard_requested)
        self.drafts_dialog = dialog
        dialog.open()

    def _on_drafts_discard_requested(self, sid: str) -> None:
        s = self.session
        s.runner.run_db(
            lambda: s.intake.discard(s.actor, sid),
            lambda _r: self.show_message(self.tr("草稿已作废。"), "info"),
            self._on_runner_failed,
            guard=self,
        )

    # ------------------------------------------------------------------ lock

    @property
    def locked(self) -> bool:
        return self.lock_dialog is not None

    def lock(self) -> None:
        if self.lock_dialog is not None:
            return
        self.intake.flush()
        self.wedge.release_held()
        self.wedge.enabled = False
        self.idle.pause()
        self._capture_suspended = bool(self.capture_dialog and self.capture_dialog.isVisible())
        if self.capture_dialog is not None and self._capture_suspended:
            self.capture_dialog.suspend()  # no documents on an unattended screen either
        self.central.hide()  # nothing personal on an unattended screen
        if self.backup_dialog is not None:
            self.backup_dialog.reject()  # nor a recovery code
        dialog = LockDialog(self.session.actor.display_name, self)
        dialog.unlock_requested.connect(self._on_lock_unlock_requested)
        dialog.logout_requested.connect(self.logout_requested)
        self.lock_dialog = dialog
        dialog.open()
        dialog.password.setFocus()
        self.lock_changed.emit(True)

    def _on_lock_unlock_requested(self, password: str) -> None:
        s = self.session

        def ok(_r: Any) -> None:
            if self.lock_dialog is not None:
                self.lock_dialog.accept()
                self.lock_dialog.deleteLater()
                self.lock_dialog = None
            self.central.show()
            if self.capture_dialog is not None and self._capture_suspended:
                self.capture_dialog.resume()
            self._capture_suspended = False
            self.wedge.enabled = True
            self.idle.restart()
            self.lock_changed.emit(False)

        def failed(err: TaskError) -> None:
            if self.lock_dialog is not None:
                self.lock_dialog.show_error(err.message)

        s.runner.run_db(lambda: s.staff.reauthenticate(s.actor, password), ok, failed, guard=self)

    # ------------------------------------------------------------------ closing

    def shutdown(self) -> None:
        """Save what is typed and let go of application-wide hooks (window closing, logout)."""
        self.intake.flush()
        self.card_timer.stop()
        self.deadline_timer.stop()
        self.sync.stop()
        self.backup.stop()
        if self.backup_dialog is not None:
            self.backup_dialog.close()
        if self.sync_dialog is not None:
            self.sync_dialog.close()
        self.online_indicator.timer.stop()
        if self.online_dialog is not None:
            self.online_dialog.close()
        if self.capture_dialog is not None:
            self.capture_dialog.close_now()  # stored pages are in; the camera is let go
        self.wedge.uninstall()
        self.idle.uninstall()
        if self.session.reader is not None:
            try:
                self.session.reader.close()
            except Exception as exc:
                log.warning("reader close failed: %s", type(exc).__name__)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


def _may_be_licence(payload: str) -> bool:
    """Cheap test before the full classifier (which loads OpenCV): a URL, or text carrying a
    valid 18-character USCC."""
    text = payload.strip()
    return "://" in text or _has_uscc(text)


def _has_uscc(text: str) -> bool:
    from app.validators import check_uscc

    return any(check_uscc(text[i : i + 18]).valid for i in range(len(text) - 17))


def _classify(payload: str) -> Any:
    from app.capture.codes import classify_payload  # pulls in OpenCV: only when a code is scanned

    return classify_payload(payload)
