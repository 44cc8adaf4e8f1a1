"""Backups in the window: scheduled while it is open, a status-bar warning when the last good
backup is missing or too old, and the backup dialog (supervisors and administrators).

- `BackupController` (GUI thread): one QTimer; each tick runs `scheduled_turn` on the task
  runner's pool (app/backup_schedule.py decides whether a backup is due); `run_now()` for
  立即备份. Never two backups at once; a failure is a `TaskError` with a Chinese message.
- `BackupIndicatorWidget`: the status bar's warning; hidden while backups are fine.
- `BackupDialog`: status and 立即备份 for supervisors and administrators; for administrators
  also the folder, the interval and the recovery code after the password is entered again
  (立即备份 and the code follow app.staff.ACTIONS, so the dialog offers what services allow).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QCoreApplication, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QHideEvent, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.backup_schedule import (
    MAX_HOURS,
    MIN_HOURS,
    OPTIONS,
    BackupPolicy,
    BackupStatus,
    BackupTurn,
    default_folder,
    load_policy,
    manual_turn,
    policy_values,
    read_status,
    scheduled_turn,
    show_recovery_code,
)
from app.staff import may
from ui.deadline import station_time
from ui.i18n import file_dialog

if TYPE_CHECKING:
    from PySide6.QtWidgets import QFileDialog

    from app.backup import BackupResult, BackupService
    from app.context import AppContext
    from app.views import StaffView
    from ui.session import ClerkSession
    from ui.tasks import TaskError

log = logging.getLogger("intake.ui.backup")

FIRST_CHECK_MS = 60_000  # after login: the clerk's first work goes first
CHECK_MS = 10 * 60_000  # how often the schedule looks whether a backup is due

BACKUP_ROLES = ("supervisor", "admin")


def may_back_up(role: str) -> bool:
    """The backup dialog (status) and the warning's click: supervisors and administrators.
    Scheduled backups run whoever is logged in: they are the station's, not a person's."""
    return role in BACKUP_ROLES


def may_run_backup(role: str) -> bool:
    """立即备份: the services' rule (app.staff.ACTIONS)."""
    return may(role, "backup.run")


def may_configure(role: str) -> bool:
    """The folder and the interval: administrators (window settings; no service checks them)."""
    return role == "admin"


def may_see_recovery_code(role: str) -> bool:
    return may(role, "backup.recovery_code")


def read_policy(settings: QSettings, db_path: Any) -> BackupPolicy:
    return load_policy({o.setting: settings.value(o.setting, o.default) for o in OPTIONS}, db_path)


def make_service(ctx: AppContext, policy: BackupPolicy) -> BackupService:
    from app.backup import BackupService

    return BackupService(
        ctx.db_path, ctx.files_dir / "blobs", policy.folder, ctx.secrets, ctx.clock
    )


def fetch_recovery_code(ctx: AppContext, actor: StaffView, password: str) -> str:
    """Database thread: app.backup_schedule.show_recovery_code (right, password, audit)."""
    return show_recovery_code(ctx.staff, ctx.secrets, actor, password)


# ----------------------------------------------------------------------------- controller


class BackupController(QObject):
    """Runs the schedule from the GUI thread; the backups themselves run on the pool."""

    status_changed = Signal(object)  # BackupStatus
    backup_finished = Signal(object, bool)  # BackupResult, asked for by a person (立即备份)
    backup_failed = Signal(object, bool)  # TaskError, asked for by a person
    running_changed = Signal(bool)

    def __init__(
        self,
        session: ClerkSession,
        settings: QSettings | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings if settings is not None else QSettings()
        self.default_folder = default_folder(session.ctx.db_path)
        self.policy = read_policy(self.settings, session.ctx.db_path)
        self.status: BackupStatus | None = None
        self.failure: TaskError | None = None  # the last attempt's, until a backup succeeds
        self.failed_at: dt.datetime | None = None
        self.last_result: BackupResult | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._on_timer_timeout)
        self._running = False
        self._manual = False
        self._stopped = False

    @property
    def running(self) -> bool:
        return self._running

    @property
    def warning(self) -> str | None:
        """What the window shows: the last failure, else the stale-backup warning."""
        if self.failure is not None:
            return self.failure.message
        return self.status.warning if self.status is not None else None

    def start(self) -> None:
        self.refresh_status()
        self._schedule(FIRST_CHECK_MS)

    def stop(self) -> None:
        """Window closing or logout: no further ticks (a backup under way finishes)."""
        self._stopped = True
        self.timer.stop()

    def _schedule(self, ms: int) -> None:
        if not self._stopped:
            self.timer.start(ms)

    def refresh_status(self) -> None:
        """Read the last good backup again (pool: the folder may be on a slow drive)."""
        ctx, policy = self.session.ctx, self.policy
        self.session.runner.run_pool(
            lambda: read_status(make_service(ctx, policy), policy.interval),
            self._on_status_read,
            self._on_status_failed,
            guard=self,
            quiet=True,
        )

    def _on_status_read(self, status: BackupStatus) -> None:
        if status.folder != self.policy.folder:
            return  # read before the folder was changed
        self.status = status
        self.status_changed.emit(status)

    def _on_status_failed(self, err: TaskError) -> None:
        log.warning("backup status not read: %s", err.code)

    def set_policy(self, folder: str, hours: int) -> None:
        """An administrator saved the folder (empty: the default) and the interval."""
        for key, value in policy_values(folder, hours).items():
            self.settings.setValue(key, value)
        self.settings.sync()
        self.policy = read_policy(self.settings, self.session.ctx.db_path)
        self.failure, self.failed_at = None, None  # a new folder deserves a fresh try
        self.status = None  # it described the old folder
        self.status_changed.emit(self.status)
        self.refresh_status()

    # -- backups

    def _on_timer_timeout(self) -> None:
        self.check()

    def check(self) -> bool:
        """A tick of the schedule: a backup when one is due. False when one is already running."""
        self._schedule(CHECK_MS)
        ctx, policy, failed_at = self.session.ctx, self.policy, self.failed_at
        return self._start(
            lambda: scheduled_turn(
                make_service(ctx, policy), policy.interval, ctx.clock, failed_at
            ),
            False,
        )

    def run_now(self) -> bool:
        """立即备份. False when one is already running."""
        ctx, policy = self.session.ctx, self.policy
        actor = self.session.actor
        return self._start(
            lambda: manual_turn(make_service(ctx, policy), policy.interval, ctx.staff, actor), True
        )

    def _start(self, work: Any, manual: bool) -> bool:
        if self._running:
            return False
        self._running, self._manual = True, manual
        self.running_changed.emit(True)
        self.session.runner.run_pool(
            work, self._on_turn_done, self._on_turn_failed, guard=self, quiet=True
        )
        return True

    def _on_turn_done(self, turn: BackupTurn) -> None:
        self._running = False
        self.running_changed.emit(False)
        if turn.result is not None:
            self.failure, self.failed_at = None, None
            self.last_result = turn.result
        if turn.status.folder == self.policy.folder:
            self.status = turn.status
        self.status_changed.emit(self.status)
        if turn.result is not None:
            self.backup_finished.emit(turn.result, self._manual)

    def _on_turn_failed(self, err: TaskError) -> None:
        self._running = False
        self.running_changed.emit(False)
        log.warning("backup failed: %s", err.code)
        if err.code == "backup.busy":  # a backup from before a logout is still running
            if self._manual:
                self.backup_failed.emit(err, True)
            return
        self.failure = err
        self.failed_at = self.session.ctx.clock.now()
        self.status_changed.emit(self.status)
        self.backup_failed.emit(err, self._manual)


# ----------------------------------------------------------------------------- wording


def last_good_text(status: BackupStatus | None) -> str:
    if status is None:
        return QCoreApplication.translate("BackupDialog", "上次有效备份：正在读取……")
    if status.last_good is None:
        return QCoreApplication.translate("BackupDialog", "上次有效备份：无")
    return QCoreApplication.translate("BackupDialog", "上次有效备份：{time}").format(
        time=station_time(status.last_good, "%Y-%m-%d %H:%M")
    )


# ----------------------------------------------------------------------------- indicator


class BackupIndicatorWidget(QToolButton):
    """The status bar's backup warning; hidden while the last good backup is recent."""

    _STYLES: ClassVar[dict[str, str]] = {
        "warning": "color: #7a4b00; background: #fff4e0; font-weight: bold;",
        "error": "color: #ffffff; background: #b03a2e; font-weight: bold;",
    }

    def __init__(self, parent: QWidget | None = None, clickable: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("backupIndicator")
        self.setAutoRaise(True)
        self.clickable = clickable
        self.level = ""
        self.hide()

    def set_state(self, controller: BackupController) -> None:
        status, failure = controller.status, controller.failure
        if failure is not None:
            self.level = "error"
            self.setText(self.tr("备份失败：{reason}").format(reason=failure.message))
        elif status is not None and status.warning:
            self.level = "warning"
            self.setText(self.tr("备份提醒：{warning}").format(warning=status.warning))
        else:
            self.level = ""
            self.hide()
            return
        lines = [
            last_good_text(status),
            self.tr("备份目录：{folder}").format(folder=controller.policy.folder),
        ]
        lines.append(
            self.tr("点击打开备份设置")
            if self.clickable
            else self.tr("请联系负责人或管理员处理备份。")
        )
        self.setToolTip("\n".join(lines))
        self.setStyleSheet(
            f"QToolButton#backupIndicator {{ {self._STYLES[self.level]} padding: 0 6px; "
            "border-radius: 3px; }"
        )
        self.show()


# ----------------------------------------------------------------------------- dialog


class BackupDialog(QDialog):
    """备份: status, settings (administrators), 立即备份, the recovery code (administrators)."""

    def __init__(
        self, controller: BackupController, actor: StaffView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.session = controller.session
        self.actor = actor
        self.may_run = may_run_backup(actor.role)
        self.folder_dialog: QFileDialog | None = None  # the folder chooser while it is open
        self.setWindowTitle(self.tr("备份"))
        self.setMinimumWidth(640)  # the recovery code on one line

        # status
        status_box = QGroupBox(self.tr("备份状态"), self)
        self.status_label = QLabel(status_box)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning_label = QLabel(status_box)
        self.warning_label.setObjectName("errorText")
        self.warning_label.setWordWrap(True)
        self.backup_button = QPushButton(self.tr("立即备份(&B)"), status_box)
        self.backup_button.clicked.connect(self._on_backup_button_clicked)
        self.result_label = QLabel(status_box)
        self.result_label.setWordWrap(True)
        status_layout = QVBoxLayout(status_box)
        status_layout.addWidget(self.status_label)
        status_layout.addWidget(self.warning_label)
        row = QHBoxLayout()
        row.addWidget(self.backup_button)
        row.addWidget(self.result_label, 1)
        status_layout.addLayout(row)

        # settings: administrators change them, supervisors see them
        settings_box = QGroupBox(self.tr("自动备份设置"), self)
        self.folder = QLineEdit(controller.policy.folder_setting, settings_box)
        self.folder.setPlaceholderText(
            self.tr("默认：{folder}").format(folder=controller.default_folder)
        )
        self.browse_button = QPushButton(self.tr("选择…"), settings_box)
        self.browse_button.clicked.connect(self._on_browse_button_clicked)
        self.hours = QSpinBox(settings_box)
        self.hours.setRange(MIN_HOURS, MAX_HOURS)
        self.hours.setSuffix(self.tr(" 小时"))
        self.hours.setValue(controller.policy.hours)
        self.save_button = QPushButton(self.tr("保存设置"), settings_box)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse_button)
        form = QFormLayout(settings_box)
        form.addRow(self.tr("备份目录"), folder_row)
        form.addRow(self.tr("备份间隔"), self.hours)
        form.addRow("", self.save_button)
        if not may_configure(actor.role):
            self.folder.setReadOnly(True)
            self.hours.setEnabled(False)
            self.browse_button.hide()
            self.save_button.hide()
            form.addRow("", QLabel(self.tr("仅管理员可修改备份设置。"), settings_box))

        content = QWidget(self)  # scrolls where the screen is low (1366×768 at 150 %)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(status_box)
        layout.addWidget(settings_box)

        # recovery code: administrators only, after the password again
        self.recovery_box: QGroupBox | None = None
        self.password: QLineEdit | None = None
        self.reveal_button: QPushButton | None = None
        self.code_error = QLabel(self)
        self.code_error.setObjectName("errorText")
        self.code_label = QLabel(self)
        self.code_hint = QLabel(self)
        if may_see_recovery_code(actor.role):
            box = QGroupBox(self.tr("恢复码"), self)
            intro = QLabel(
                self.tr(
                    "恢复码就是本站点的备份密钥。更换电脑时，凭恢复码才能恢复备份和本机加密保存的数据。"
                    "显示前请再次输入您的密码："
                ),
                box,
            )
            intro.setWordWrap(True)
            self.password = QLineEdit(box)
            self.password.setEchoMode(QLineEdit.EchoMode.Password)
            self.password.setPlaceholderText(self.tr("密码"))
            self.password.returnPressed.connect(self.reveal_code)
            self.reveal_button = QPushButton(self.tr("显示恢复码"), box)
            self.reveal_button.clicked.connect(self.reveal_code)
            self.code_error.setParent(box)
            self.code_label.setParent(box)
            self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
            mono.setPointSize(mono.pointSize() + 1)
            mono.setBold(True)
            self.code_label.setFont(mono)
            self.code_hint.setParent(box)
            self.code_hint.setWordWrap(True)
            self.code_hint.setText(
                self.tr(
                    "请把恢复码抄写在纸上，存放在本机以外的安全地方（不要保存在本机、不要拍照或发送）。"
                    "更换电脑时，凭它恢复备份和本机加密的数据；恢复码遗失则无法恢复。"
                )
            )
            password_row = QHBoxLayout()
            password_row.addWidget(self.password, 1)
            password_row.addWidget(self.reveal_button)
            box_layout = QVBoxLayout(box)
            box_layout.addWidget(intro)
            box_layout.addLayout(password_row)
            box_layout.addWidget(self.code_error)
            box_layout.addWidget(self.code_label)
            box_layout.addWidget(self.code_hint)
            self.recovery_box = box
            layout.addWidget(box)
        self.code_label.hide()
        self.code_hint.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("关闭"))
        buttons.rejected.connect(self.reject)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addWidget(buttons)
        # As tall as its content, up to the screen (a scroll area alone asks for less).
        want = content.sizeHint().height() + buttons.sizeHint().height() + 40
        screen = self.screen()
        if screen is not None:
            want = min(want, screen.availableGeometry().height() - 40)
        self.resize(max(self.sizeHint().width(), 640), want)

        controller.status_changed.connect(self._on_controller_status_changed)
        controller.running_changed.connect(self._on_controller_running_changed)
        controller.backup_finished.connect(self._on_controller_backup_finished)
        controller.backup_failed.connect(self._on_controller_backup_failed)
        self._on_controller_status_changed(controller.status)
        self._on_controller_running_changed(controller.running)

    # -- status

    def _on_controller_status_changed(self, _status: Any) -> None:
        c = self.controller
        lines = [
            last_good_text(c.status),
            self.tr("备份目录：{folder}").format(folder=c.policy.folder),
            self.tr("自动备份：窗口打开期间每 {hours} 小时一次").format(hours=c.policy.hours),
        ]
        if c.last_result is not None:
            lines.append(self.tr("最近一次备份文件：{name}").format(name=c.last_result.path.name))
        self.status_label.setText("\n".join(lines))
        self.warning_label.setText(c.warning or "")
        self.warning_label.setVisible(bool(c.warning))
        self._fit_status()

    def _fit_status(self) -> None:
        """The status lines wrap (a long folder): keep the height the wrapped text needs."""
        label = self.status_label
        label.setMinimumHeight(label.heightForWidth(max(label.width(), 1)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_status()

    def _on_controller_running_changed(self, running: bool) -> None:
        self.backup_button.setEnabled(self.may_run and not running)
        if running:
            self.result_label.setText(self.tr("正在备份……（可继续工作）"))

    def _on_controller_backup_finished(self, result: BackupResult, _manual: bool) -> None:
        self.result_label.setText(self.tr("备份完成并已校验：{name}").format(name=result.path.name))

    def _on_controller_backup_failed(self, _err: TaskError, _manual: bool) -> None:
        self.result_label.setText(self.tr("备份未完成。"))

    def _on_backup_button_clicked(self) -> None:
        if not self.may_run:
            return
        if not self.controller.run_now():
            self.result_label.setText(self.tr("备份正在进行中，请稍候。"))

    # -- settings

    def _on_browse_button_clicked(self) -> None:
        start = self.folder.text().strip() or str(self.controller.default_folder)
        self.folder_dialog = file_dialog(self, self.tr("选择备份目录"), directory=True, start=start)
        self.folder_dialog.fileSelected.connect(self.folder.setText)
        self.folder_dialog.open()

    def _on_save_button_clicked(self) -> None:
        if not may_configure(self.actor.role):
            return
        self.controller.set_policy(self.folder.text(), self.hours.value())
        self.result_label.setText(self.tr("设置已保存。"))

    # -- recovery code

    def reveal_code(self) -> None:
        if self.password is None or not may_see_recovery_code(self.actor.role):
            return
        password = self.password.text()
        self.password.clear()
        self.hide_code()
        if not password:
            self.code_error.setText(self.tr("请输入密码。"))
            return
        ctx, actor = self.session.ctx, self.actor
        self.session.runner.run_db(
            lambda: fetch_recovery_code(ctx, actor, password),
            self._on_code_fetched,
            self._on_code_failed,
            guard=self,
        )

    def _on_code_fetched(self, code: str) -> None:
        self.code_error.clear()
        self.code_label.setText(code)
        self.code_label.show()
        self.code_hint.show()

    def _on_code_failed(self, err: TaskError) -> None:
        self.hide_code()
        self.code_error.setText(err.message)
        if self.password is not None:
            self.password.setFocus()

    def hide_code(self) -> None:
        self.code_label.clear()
        self.code_label.hide()
        self.code_hint.hide()

    def hideEvent(self, event: QHideEvent) -> None:
        self.hide_code()  # never left on screen behind a closed dialog
        super().hideEvent(event)
