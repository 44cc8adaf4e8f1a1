"""Find and follow up: search by number, ID number, name, phone or date; open an intake (also by
scanning its receipt); 补正, 撤回 (with the return list printed), 送达, 补打."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui.a11y import enable_clear_button
from ui.checklist import ITEMS_COLUMN, ChecklistModel, ItemsColumnFitter
from ui.deadline import DeadlineWidget, station_time
from ui.followup import DeliveryDialog, SupplementDialog, WithdrawDialog
from ui.handover import print_delivery_proof
from ui.intake import EDITABLE_STAGES
from ui.ledger import LedgerModel, make_table
from ui.notices import NoticesWidget
from ui.printflow import DocumentPrinter, PrintOutcome, document_title
from ui.rating_detail import RatingDetailWidget
from ui.tasks import TaskError

if TYPE_CHECKING:
    from app.checklist import Checklist
    from app.views import LedgerRow, SubmissionView
    from ui.session import ClerkSession


class IntakeDetailWidget(QWidget):
    """One opened intake, read-only, with the actions its state allows."""

    edit_requested = Signal(str)  # continue a draft / notified intake in the workspace
    message_posted = Signal(str, str)
    changed = Signal(str)  # submission id changed state (refresh lists)

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.printer = DocumentPrinter(session, guard=self)
        self.view: SubmissionView | None = None
        self.checklist: Checklist | None = None
        self.documents: list[tuple[str, str, bool, Any]] = []
        self.dialog: Any = None
        self.title = QLabel(
            self.tr("未打开受理记录。扫描回执二维码，或在左侧查询后回车打开。"), self
        )
        self.title.setObjectName("bigNumber")
        self.title.setWordWrap(True)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("stateHeading")
        self.deadline = DeadlineWidget(self, session.ctx.clock.now)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.materials = ChecklistModel(self)
        self.materials_table = make_table(self.materials, self, self.tr("该受理的材料清单"))
        header = self.materials_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ITEMS_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        header.setResizeContentsPrecision(-1)  # every row of one intake's list (a few dozen)
        self.fitter = ItemsColumnFitter(self.materials_table)  # names whole, items if room
        self.notices = NoticesWidget(session, self)  # 短信通知 sent to the applicant
        self.rating = RatingDetailWidget(session, self)  # the applicant's 好差评
        self.edit_button = QPushButton(self.tr("继续办理(&E)"), self)
        self.supplement_button = QPushButton(self.tr("补正(&S)"), self)
        self.withdraw_button = QPushButton(self.tr("撤回(&W)"), self)
        self.deliver_button = QPushButton(self.tr("送达(&D)"), self)
        self.reprint_button = QPushButton(self.tr("补打(&P)"), self)
        self.edit_button.clicked.connect(self._on_edit_button_clicked)
        self.supplement_button.clicked.connect(self.open_supplement)
        self.withdraw_button.clicked.connect(self.open_withdraw)
        self.deliver_button.clicked.connect(self.open_delivery)
        self.reprint_button.clicked.connect(self._on_reprint_button_clicked)
        actions = QHBoxLayout()
        for b in (
            self.edit_button,
            self.supplement_button,
            self.withdraw_button,
            self.deliver_button,
            self.reprint_button,
        ):
            actions.addWidget(b)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.state_label)
        layout.addWidget(self.deadline)
        layout.addWidget(self.info)
        layout.addLayout(actions)
        layout.addWidget(self.notices)
        layout.addWidget(self.rating)
        layout.addWidget(self.materials_table, 1)
        self._update_actions()

    # -- loading

    def open(self, sid: str) -> None:
        s = self.session

        def fetch() -> tuple[SubmissionView, Checklist | None, list[Any]]:
            view = s.queries.get(sid, s.actor)  # a person reads the full record: audited
            checklist = s.intake.checklist(sid) if view.bundle_id else None
            return view, checklist, s.documents.documents(sid)

        s.runner.run_db(fetch, self._on_fetched, self._on_failed, guard=self)

    def reload(self) -> None:
        if self.view is not None:
            self.open(self.view.id)

    def _on_failed(self, err: TaskError) -> None:
        self.message_posted.emit(err.message, "error")

    def _on_fetched(self, result: tuple[SubmissionView, Checklist | None, list[Any]]) -> None:
        view, checklist, documents = result
        self.view, self.checklist, self.documents = view, checklist, documents
        e = html.escape
        self.title.setText(view.number or self.tr("（草稿，未编号）"))
        self.state_label.setText(view.label)
        lines = []
        a = view.applicant
        if a is not None:
            who = self.tr("{name}（{id}）").format(name=a.masked_name, id=a.masked_id)
            lines.append((self.tr("申请人"), who))
        lines.append((self.tr("一件事"), view.bundle_name or "—"))
        if checklist is not None:
            active = "、".join(i.item.name for i in checklist.items if i.state == "active")
            lines.append((self.tr("事项"), active or "—"))
            skipped = "、".join(i.item.name for i in checklist.items if i.state == "not_applicable")
            if skipped:
                lines.append(
                    (self.tr("无需办理"), self.tr("{items}（按情形判断）").format(items=skipped))
                )
        lines.append((self.tr("窗口人员"), view.clerk_name))
        lines.append((self.tr("创建时间"), station_time(view.created_at)))
        if view.received_at:
            lines.append((self.tr("收件时间"), station_time(view.received_at)))
        if view.tolerated_outstanding and checklist is not None:
            names = {m.id: m.name for m in checklist.materials}
            owed = "、".join(names.get(m, m) for m in view.tolerated_outstanding)
            due = view.tolerance_due.isoformat() if view.tolerance_due else "—"
            lines.append(
                (
                    self.tr("容缺待补"),
                    self.tr("{materials}（{due} 前）").format(materials=owed, due=due),
                )
            )
        if view.decisions and checklist is not None:
            labels = {
                "accepted": self.tr("已受理"),
                "rejected": self.tr("不予受理"),
                "completed": self.tr("已办结"),
            }
            items = {i.item.id: i.item.name for i in checklist.items}
            lines.append(
                (
                    self.tr("办理结果"),
                    "；".join(
                        f"{items.get(k, k)}：{labels.get(v, v)}" for k, v in view.decisions.items()
                    ),
                )
            )
        if documents:
            docs = "、".join(
                self.tr("{title}（补打）").format(title=document_title(kind))
                if reprint
                else document_title(kind)
                for kind, _sha, reprint, _at in documents
            )
            lines.append((self.tr("已出具文书"), docs))
        self.info.setText(
            "<table>"
            + "".join(
                f"<tr><td style='color:#6b7280;padding-right:10px'>{e(k)}</td><td>{e(v)}</td></tr>"
                for k, v in lines
            )
            + "</table>"
        )
        self.materials.set_lines(checklist.materials if checklist else ())
        deadline = (
            view.push_deadline if view.stage == "received" and view.digitised_at is None else None
        )
        self.deadline.set_deadline(deadline)
        names = {i.item.id: i.item.name for i in checklist.items} if checklist else {}
        self.notices.load(view.id, names)
        self.rating.load(view.id)
        self._update_actions()

    def _update_actions(self) -> None:
        v = self.view
        stage = v.stage if v else ""
        self.edit_button.setVisible(stage in EDITABLE_STAGES)
        self.supplement_button.setEnabled(bool(v and v.tolerated_outstanding))
        self.withdraw_button.setEnabled(
            stage in ("received", "digitised", "pushed", "notified") and not (v and v.decisions)
        )
        ready = self._items_ready()
        self.deliver_button.setEnabled(bool(ready))
        self.reprint_button.setEnabled(bool(self.documents))

    def _items_ready(self) -> list[tuple[str, str]]:
        if self.view is None or self.checklist is None:
            return []
        names = {i.item.id: i.item.name for i in self.checklist.items}
        return [
            (item, names.get(item, item))
            for item, d in self.view.decisions.items()
            if d in ("completed", "rejected")
        ]

    # -- actions

    def _on_edit_button_clicked(self) -> None:
        if self.view is not None:
            self.edit_requested.emit(self.view.id)

    def _after_action(self, text: str) -> None:
        if self.dialog is not None:
            self.dialog.done_ok()
            self.dialog = None
        self.message_posted.emit(text, "success")
        self.reload()
        if self.view is not None:
            self.changed.emit(self.view.id)

    def open_supplement(self) -> None:
        if self.view is None or self.checklist is None:
            return
        names = {m.id: m.name for m in self.checklist.materials}
        dialog = SupplementDialog(
            [(m, names.get(m, m)) for m in self.view.tolerated_outstanding], self
        )
        sid = self.view.id
        s = self.session

        def supplemented(_r: Any) -> None:
            # The applicant leaves with proof of what was handed in (补正材料收件回执).
            self._after_action(self.tr("已登记补正材料，正在打印补正材料收件回执……"))
            self.printer.print_documents(sid, ("supplement",), self._on_printed)

        def requested(materials: list[str]) -> None:
            s.runner.run_db(
                lambda: s.intake.supplement(s.actor, sid, materials),
                supplemented,
                lambda err: dialog.show_error(err.message),
                guard=self,
            )

        dialog.supplement_requested.connect(requested)
        self.dialog = dialog
        dialog.open()

    def open_withdraw(self) -> None:
        if self.view is None:
            return
        dialog = WithdrawDialog(self)
        sid = self.view.id
        s = self.session

        def withdrawn(_r: Any) -> None:
            self._after_action(self.tr("已撤回，正在打印材料退还清单……"))
            self.printer.print_documents(sid, ("return_list",), self._on_printed)

        def requested(reason: str) -> None:
            s.runner.run_db(
                lambda: s.intake.withdraw(s.actor, sid, reason),
                withdrawn,
                lambda err: dialog.show_error(err.message),
                guard=self,
            )

        dialog.withdraw_requested.connect(requested)
        self.dialog = dialog
        dialog.open()

    def open_delivery(self) -> None:
        if self.view is None:
            return
        address = self.view.delivery_address or (
            self.view.applicant.address if self.view.applicant else ""
        )
        dialog = DeliveryDialog(self._items_ready(), address, self)
        sid = self.view.id
        s = self.session

        def requested(method: str, items: list[str], tracking: str, addr: str) -> None:
            carrier, recipient = str(dialog.carrier.currentData()), dialog.recipient.text()
            s.runner.run_db(
                lambda: s.intake.deliver(
                    s.actor,
                    sid,
                    method=method,
                    items=items,
                    tracking_number=tracking,
                    address=addr,
                    carrier=carrier if method == "express" else "",
                    recipient=recipient,
                ),
                lambda _r: print_delivery_proof(s, sid, delivered, guard=self),
                lambda err: dialog.show_error(err.message),
                guard=self,
            )

        def delivered(_ok: bool, printed: str) -> None:  # the 送达凭证 went to the printer
            self._after_action(self.tr("已登记送达，送达凭证：{printed}").format(printed=printed))

        dialog.delivery_requested.connect(requested)
        self.dialog = dialog
        dialog.open()

    def printed_kinds(self) -> list[str]:
        return list(dict.fromkeys(kind for kind, _sha, _reprint, _at in self.documents))

    def _on_reprint_button_clicked(self) -> None:
        kinds = self.printed_kinds()
        if len(kinds) == 1:
            self.reprint(kinds[0])
            return
        menu = QMenu(self)
        for kind in kinds:
            action = menu.addAction(document_title(kind))
            action.triggered.connect(lambda _c=False, k=kind: self.reprint(k))
        menu.popup(self.reprint_button.mapToGlobal(self.reprint_button.rect().bottomLeft()))

    def reprint(self, kind: str) -> None:
        """补打: the document rebuilt and marked 补打, kept with the submission and printed."""
        if self.view is not None and kind == "delivery_proof":  # rebuilt from the delivery
            title = document_title(kind)
            print_delivery_proof(
                self.session,
                self.view.id,
                lambda ok, text: self.message_posted.emit(
                    self.tr("{title}：{message}").format(title=title, message=text),
                    "success" if ok else "error",
                ),
                guard=self,
            )
            return
        if self.view is not None:
            self.printer.print_documents(
                self.view.id,
                (kind,),  # type: ignore[arg-type]  # a kind read back from the store
                self._on_printed,
                reprint=True,
            )

    def _on_printed(self, outcomes: list[PrintOutcome]) -> None:
        for o in outcomes:
            if o.printed:
                self.message_posted.emit(
                    self.tr("{title}：{message}").format(title=o.title, message=o.message),
                    "success",
                )
            else:
                kept = self.tr("（文书已保存）") if o.saved else ""
                self.message_posted.emit(
                    self.tr("{title}未打印：{message}{kept}").format(
                        title=o.title, message=o.message, kept=kept
                    ),
                    "error",
                )
        self.reload()


class SearchWidget(QWidget):
    edit_requested = Signal(str)
    message_posted = Signal(str, str)

    def __init__(self, session: ClerkSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.query = QLineEdit(self)
        self.query.setAccessibleName(self.tr("查询受理记录"))
        self.query.setObjectName("searchQuery")
        self.query.setPlaceholderText(
            self.tr(
                "受理编号（或其后几位）/ 身份证号码 / 统一社会信用代码 / 姓名 / 手机号 / 日期（2024-12-02）"
            )
        )
        enable_clear_button(self.query)
        go = QPushButton(self.tr("查询"), self)
        go.clicked.connect(self.search)
        self.query.returnPressed.connect(self.search)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("sectionHint")
        self.model = LedgerModel(self, session.ctx.clock.now)
        self.table = make_table(self.model, self, self.tr("查询结果"))
        self.table.setObjectName("searchResults")
        self.table.activated.connect(self._on_table_activated)
        self.detail = IntakeDetailWidget(session, self)
        self.detail.edit_requested.connect(self.edit_requested)
        self.detail.message_posted.connect(self.message_posted)
        self.detail.changed.connect(lambda _sid: self.search(quiet=True))
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.query, 1)
        row.addWidget(go)
        left_layout.addLayout(row)
        left_layout.addWidget(self.count_label)
        left_layout.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(self.detail)
        split.setSizes([640, 560])
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    def focus_query(self) -> None:
        self.query.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.selectAll()

    def search(self, quiet: bool = False) -> None:
        text = self.query.text().strip()
        if not text:
            if not quiet:
                self.count_label.setText(self.tr("请输入查询条件。"))
            return
        s = self.session
        s.runner.run_db(
            lambda: s.queries.search(text), self._on_results, self._on_failed, guard=self
        )

    def _on_failed(self, err: TaskError) -> None:
        self.message_posted.emit(err.message, "error")

    def _on_results(self, rows: list[LedgerRow]) -> None:
        self.model.set_rows(rows)
        self.count_label.setText(
            self.tr("找到 {count} 条记录，回车打开所选记录。").format(count=len(rows))
            if rows
            else self.tr("没有找到符合条件的受理记录。")
        )
        if rows:
            self.table.setCurrentIndex(self.model.index(0, 0))
            self.table.setFocus()
            if len(rows) == 1:
                self.detail.open(rows[0].submission_id)

    def _on_table_activated(self, index: QModelIndex) -> None:
        row = self.model.row_at(index.row())
        if row is not None:
            self.detail.open(row.submission_id)

    def open_intake(self, sid: str) -> None:
        self.detail.open(sid)
