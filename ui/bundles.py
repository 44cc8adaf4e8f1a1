"""Pick the 一件事 (type to filter: Chinese name, alias or pinyin initials, `xsecs` → 新生儿出生)
and the items the applicant wants (all or part; non-optional ones are on by default).

The ticks show the items in effect, as the checklist derives them from the choice and the
answers (`show_item_states`): an item an answer switches off is shown unticked and says why,
while the applicant's wish is kept, so it comes back if the answer changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ui.a11y import enable_clear_button
from ui.style import px

if TYPE_CHECKING:
    from app.catalog import Bundle, Catalog
    from app.checklist import ItemLine

_ID = Qt.ItemDataRole.UserRole
_WANTED = Qt.ItemDataRole.UserRole + 1  # the applicant asked for it (whatever the answers say)
_LABEL = Qt.ItemDataRole.UserRole + 2  # the row's text without the state note


class BundlePickerWidget(QWidget):
    choice_changed = Signal(str, list)  # bundle id, chosen item ids
    choice_confirmed = Signal()  # Enter on the items: go on to the questions / checklist

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._catalog: Catalog | None = None
        self._jurisdiction: str | None = None
        self._bundle: Bundle | None = None
        self._loading = False
        self.filter = QLineEdit(self)
        self.filter.setAccessibleName(self.tr("查找一件事"))
        self.filter.setObjectName("bundleFilter")
        self.filter.setPlaceholderText(self.tr("输入名称、别名或拼音首字母，如 xsecs"))
        enable_clear_button(self.filter)
        self.bundle_list = QListWidget(self)
        self.bundle_list.setAccessibleName(self.tr("一件事列表"))
        self.bundle_list.setObjectName("bundleList")
        self.bundle_list.setMaximumHeight(px(150))
        self.bundle_list.setWordWrap(True)  # long names at a large font: wrap, never cut
        self.bundle_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.chosen_label = QLabel(self.tr("尚未选择一件事"), self)
        self.chosen_label.setObjectName("sectionHint")
        self.chosen_label.setWordWrap(True)
        self.items_list = QListWidget(self)
        self.items_list.setAccessibleName(self.tr("联办事项（空格勾选）"))
        self.items_list.setObjectName("itemList")
        self.items_list.setWordWrap(True)  # long item names: wrap, never scroll sideways
        self.items_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        hint = QLabel(self.tr("空格勾选/取消事项，回车继续"), self)
        hint.setObjectName("sectionHint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.filter)
        layout.addWidget(self.bundle_list)
        layout.addWidget(self.chosen_label)
        layout.addWidget(self.items_list, 1)
        layout.addWidget(hint)
        self.filter.textChanged.connect(self._on_filter_text_changed)
        self.filter.returnPressed.connect(self._on_filter_return_pressed)
        self.filter.installEventFilter(self)
        self.bundle_list.itemActivated.connect(self._on_bundle_list_item_activated)
        self.items_list.itemChanged.connect(self._on_items_list_item_changed)
        self.items_list.itemActivated.connect(lambda _item: self.choice_confirmed.emit())

    # -- data

    def set_catalog(self, catalog: Catalog, jurisdiction: str | None) -> None:
        self._catalog = catalog
        self._jurisdiction = jurisdiction
        self._refilter()

    @property
    def bundle(self) -> Bundle | None:
        return self._bundle

    def chosen_items(self) -> list[str]:
        """The items the applicant asked for (also those an answer has switched off)."""
        out = []
        for row in range(self.items_list.count()):
            item = self.items_list.item(row)
            if item.data(_WANTED):
                out.append(item.data(_ID))
        return out

    def ticked_items(self) -> list[str]:
        """The items shown ticked: those in effect."""
        return [
            self.items_list.item(r).data(_ID)
            for r in range(self.items_list.count())
            if self.items_list.item(r).checkState() == Qt.CheckState.Checked
        ]

    def show_item_states(self, lines: Sequence[ItemLine]) -> None:
        """Tick exactly the items in effect (the checklist's item lines); an item switched off
        by an answer is unticked, greyed and says why; one waiting for an answer says so."""
        states = {line.item.id: line for line in lines}
        loading, self._loading = self._loading, True
        try:
            for row in range(self.items_list.count()):
                item = self.items_list.item(row)
                line = states.get(item.data(_ID))
                label = item.data(_LABEL)
                flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
                if line is not None and line.state == "not_applicable":
                    why = line.reason or line.condition
                    item.setText(
                        self.tr("{label}\n— 按情形无需办理：{why}").format(label=label, why=why)
                    )
                    item.setFlags(flags & ~Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(Qt.CheckState.Unchecked)
                    item.setForeground(QBrush(QColor("#8a8f98")))
                    continue
                if line is not None and line.state == "undetermined":
                    item.setText(self.tr("{label}\n— 待回答情形后确定是否办理").format(label=label))
                else:
                    item.setText(label)
                item.setFlags(flags)
                item.setCheckState(
                    Qt.CheckState.Checked if item.data(_WANTED) else Qt.CheckState.Unchecked
                )
                item.setData(Qt.ItemDataRole.ForegroundRole, None)
        finally:
            self._loading = loading

    def visible_bundle_ids(self) -> list[str]:
        return [self.bundle_list.item(r).data(_ID) for r in range(self.bundle_list.count())]

    def clear(self) -> None:
        self._loading = True
        try:
            self._bundle = None
            self.filter.clear()
            self.items_list.clear()
            self.chosen_label.setText(self.tr("尚未选择一件事"))
            self._refilter()
        finally:
            self._loading = False

    def set_choice(self, bundle_id: str | None, items: list[str] | tuple[str, ...]) -> None:
        """Show a stored choice (a reopened draft) without reporting it as a change."""
        self._loading = True
        try:
            bundle = self._catalog.bundle(bundle_id) if (self._catalog and bundle_id) else None
            self._show_bundle(bundle, set(items) if bundle else set())
        finally:
            self._loading = False

    # -- filtering

    def _refilter(self) -> None:
        self.bundle_list.clear()
        if self._catalog is None:
            return
        # the same search as the command line's (Catalog.find)
        bundles = self._catalog.find(self.filter.text(), self._jurisdiction)
        kinds = {"personal": self.tr("个人"), "enterprise": self.tr("企业")}
        for b in bundles:
            count = len(b.items_in(self._jurisdiction))
            text = self.tr("{name}（{kind} · {count}项）").format(
                name=b.name, kind=kinds.get(b.kind, b.kind), count=count
            )
            item = QListWidgetItem(text, self.bundle_list)
            item.setData(_ID, b.id)
            if b.aliases:
                item.setToolTip(self.tr("又称：{aliases}").format(aliases="、".join(b.aliases)))
        if self.bundle_list.count():
            self.bundle_list.setCurrentRow(0)

    def _on_filter_text_changed(self, _text: str) -> None:
        self._refilter()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.filter and event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.bundle_list.count():
                step = 1 if key == Qt.Key.Key_Down else -1
                row = min(
                    max(0, self.bundle_list.currentRow() + step), self.bundle_list.count() - 1
                )
                self.bundle_list.setCurrentRow(row)
                return True
        return super().eventFilter(obj, event)

    def _on_filter_return_pressed(self) -> None:
        item = self.bundle_list.currentItem() or (
            self.bundle_list.item(0) if self.bundle_list.count() else None
        )
        if item is not None:
            self._pick(item.data(_ID))

    def _on_bundle_list_item_activated(self, item: QListWidgetItem) -> None:
        self._pick(item.data(_ID))

    # -- choosing

    def choose(self, bundle_id: str) -> None:
        """Pick a bundle as the clerk would (default items on) and report it."""
        self._pick(bundle_id)

    def _pick(self, bundle_id: str) -> None:
        if self._catalog is None:
            return
        bundle = self._catalog.bundle(bundle_id)
        if bundle is None:
            return
        if self._bundle is not None and self._bundle.id == bundle.id:
            self.items_list.setFocus()
            return
        defaults = {i.id for i in bundle.items_in(self._jurisdiction) if not i.optional}
        self._loading = True
        try:
            self._show_bundle(bundle, defaults)
        finally:
            self._loading = False
        self.choice_changed.emit(bundle.id, self.chosen_items())
        self.items_list.setFocus()
        if self.items_list.count():
            self.items_list.setCurrentRow(0)

    def _show_bundle(self, bundle: Bundle | None, checked: set[str]) -> None:
        self._bundle = bundle
        self.items_list.clear()
        if bundle is None:
            self.chosen_label.setText(self.tr("尚未选择一件事"))
            return
        lead = bundle.lead_department_in(self._jurisdiction)
        self.chosen_label.setText(
            self.tr("已选：{name}　牵头部门：{lead}").format(name=bundle.name, lead=lead)
        )
        for item in bundle.items_in(self._jurisdiction):
            label = self.tr("{name}　{department} · {limit}").format(
                name=item.name,
                department=item.department_in(self._jurisdiction),
                limit=item.time_limit_text,
            )
            if item.optional:
                label = self.tr("{label}（可选）").format(label=label)
            row = QListWidgetItem(label, self.items_list)
            row.setData(_ID, item.id)
            row.setData(_LABEL, label)
            row.setData(_WANTED, item.id in checked)
            row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            row.setCheckState(
                Qt.CheckState.Checked if item.id in checked else Qt.CheckState.Unchecked
            )
            tips = [t for t in (item.reason, item.notes) if t]
            if tips:
                row.setToolTip("\n".join(tips))

    def _on_items_list_item_changed(self, item: QListWidgetItem) -> None:
        if self._loading or self._bundle is None:
            return
        wanted = item.checkState() == Qt.CheckState.Checked
        if bool(item.data(_WANTED)) == wanted:
            return  # not a tick change (text, colour)
        item.setData(_WANTED, wanted)
        self.choice_changed.emit(self._bundle.id, self.chosen_items())

    def item_names(self) -> dict[str, str]:
        return {i.id: i.name for i in self._bundle.items} if self._bundle else {}
