"""First run: the administrator enrols this station (name, code, the centre printed on the
documents, the jurisdiction whose items are offered) and the first accounts."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

ROLE_CHOICES = (
    ("clerk", QT_TRANSLATE_NOOP("SetupDialog", "窗口人员")),
    ("supervisor", QT_TRANSLATE_NOOP("SetupDialog", "负责人")),
    ("admin", QT_TRANSLATE_NOOP("SetupDialog", "管理员")),
)


@dataclass(frozen=True)
class AccountRequest:
    username: str
    display_name: str
    role: str
    password: str


@dataclass(frozen=True)
class SetupRequest:
    station_name: str
    station_code: str
    centre_name: str
    jurisdiction: str | None
    progress_phone: str
    admin: AccountRequest
    accounts: tuple[AccountRequest, ...] = field(default_factory=tuple)


class _StationPage(QWizardPage):
    def __init__(self, jurisdictions: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("站点信息"))
        self.setSubTitle(self.tr("首次使用：请填写本窗口所在站点。站点编码由县行政审批局分配。"))
        self.name = QLineEdit(self)
        self.name.setPlaceholderText(self.tr("如：新乡县政务服务中心一件事综合窗口"))
        self.code = QLineEdit(self)
        self.code.setPlaceholderText(self.tr("2～8位数字或大写字母，如 XX01"))
        self.centre = QLineEdit(self)
        self.centre.setPlaceholderText(self.tr("打印在回执和通知书抬头，如：新乡县政务服务中心"))
        self.jurisdiction = QComboBox(self)
        for jid, name in jurisdictions:
            self.jurisdiction.addItem(name, jid)
        self.jurisdiction.addItem(self.tr("（不限辖区：显示全部事项）"), None)
        self.phone = QLineEdit(self)
        self.phone.setPlaceholderText(self.tr("选填：办理进度查询电话"))
        self.problem = QLabel(self)
        self.problem.setObjectName("fieldProblem")
        self.problem.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.tr("站点名称"), self.name)
        form.addRow(self.tr("站点编码"), self.code)
        form.addRow(self.tr("中心名称"), self.centre)
        form.addRow(self.tr("所属辖区"), self.jurisdiction)
        form.addRow(self.tr("查询电话"), self.phone)
        form.addRow(self.problem)

    def validatePage(self) -> bool:
        if not (
            self.name.text().strip() and self.code.text().strip() and self.centre.text().strip()
        ):
            self.problem.setText(self.tr("请填写站点名称、站点编码和中心名称。"))
            return False
        self.problem.clear()
        return True


class _AdminPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("管理员账号"))
        self.setSubTitle(self.tr("管理员负责账号、目录版本和备份。请牢记密码。"))
        self.username = QLineEdit(self)
        self.display_name = QLineEdit(self)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit(self)
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.problem = QLabel(self)
        self.problem.setObjectName("fieldProblem")
        self.problem.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.tr("登录名"), self.username)
        form.addRow(self.tr("姓名"), self.display_name)
        form.addRow(self.tr("密码"), self.password)
        form.addRow(self.tr("确认密码"), self.confirm)
        form.addRow(self.problem)

    def validatePage(self) -> bool:
        if not (self.username.text().strip() and self.display_name.text().strip()):
            self.problem.setText(self.tr("请填写管理员的登录名和姓名。"))
            return False
        if self.password.text() != self.confirm.text():
            self.problem.setText(self.tr("两次输入的密码不一致。"))
            return False
        self.problem.clear()
        return True


class _AccountsPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("其他账号（可选）"))
        self.setSubTitle(self.tr("现在就添加窗口人员和负责人账号，也可以以后由管理员添加。"))
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(
            [self.tr("登录名"), self.tr("姓名"), self.tr("角色"), self.tr("初始密码")]
        )
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        add = QPushButton(self.tr("添加一行(&A)"), self)
        add.clicked.connect(self.add_row)
        remove = QPushButton(self.tr("删除所选行"), self)
        remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))
        self.problem = QLabel(self)
        self.problem.setObjectName("fieldProblem")
        self.problem.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(self.problem)

    def add_row(
        self, username: str = "", name: str = "", role: str = "clerk", password: str = ""
    ) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.table.setItem(r, 0, QTableWidgetItem(username))
        self.table.setItem(r, 1, QTableWidgetItem(name))
        combo = QComboBox(self.table)
        for value, label in ROLE_CHOICES:
            combo.addItem(QCoreApplication.translate("SetupDialog", str(label)), value)
        combo.setCurrentIndex(max(0, combo.findData(role)))
        self.table.setCellWidget(r, 2, combo)
        self.table.setItem(r, 3, QTableWidgetItem(password))

    def accounts(self) -> tuple[AccountRequest, ...]:
        out = []
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in (0, 1, 3)]
            username, name, password = (c.text().strip() if c else "" for c in cells)
            if not (username or name or password):
                continue
            combo = self.table.cellWidget(r, 2)
            role = combo.currentData() if isinstance(combo, QComboBox) else "clerk"
            out.append(AccountRequest(username, name, role, password))
        return tuple(out)


class SetupDialog(QWizard):
    """First run: the administrator enrols this station and the first accounts."""

    setup_requested = Signal(object)  # SetupRequest

    def __init__(self, jurisdictions: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("首次设置 — 综合受理窗口"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setMinimumSize(620, 460)
        self.station_page = _StationPage(jurisdictions, self)
        self.admin_page = _AdminPage(self)
        self.accounts_page = _AccountsPage(self)
        self.addPage(self.station_page)
        self.addPage(self.admin_page)
        self.addPage(self.accounts_page)
        self.setButtonText(QWizard.WizardButton.NextButton, self.tr("下一步(&N) >"))
        self.setButtonText(QWizard.WizardButton.BackButton, self.tr("< 上一步(&B)"))
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("完成设置(&F)"))
        self.setButtonText(QWizard.WizardButton.CancelButton, self.tr("取消"))
        self._submitting = False

    def request(self) -> SetupRequest:
        st, ad = self.station_page, self.admin_page
        return SetupRequest(
            station_name=st.name.text().strip(),
            station_code=st.code.text().strip().upper(),
            centre_name=st.centre.text().strip(),
            jurisdiction=st.jurisdiction.currentData(),
            progress_phone=st.phone.text().strip(),
            admin=AccountRequest(
                ad.username.text().strip(),
                ad.display_name.text().strip(),
                "admin",
                ad.password.text(),
            ),
            accounts=self.accounts_page.accounts(),
        )

    def accept(self) -> None:
        # The shell runs the set-up and calls `done_ok` or `show_error`; stay open meanwhile.
        if self._submitting:
            return
        self._submitting = True
        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        self.setup_requested.emit(self.request())

    def done_ok(self) -> None:
        self._submitting = False
        super().accept()

    def show_error(self, message: str, code: str = "") -> None:
        """Show MESSAGE on the page the failed field is on."""
        self._submitting = False
        self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        page: _StationPage | _AdminPage | _AccountsPage = self.accounts_page
        if code.startswith(("setup.", "auth.no_station")):
            page = self.station_page
        elif code.startswith("account.") and not self.accounts_page.accounts():
            page = self.admin_page
        page.problem.setText(message)
        while self.currentPage() is not page and self.currentId() > 0:
            self.back()
