"""The applicant panel: a person (from the ID card or typed) or an enterprise.

Numbers are checked as they are typed (GB 11643 for ID numbers, GB 32100 for USCCs) and the
problem is shown in plain Chinese under the field. Fields read from a card carry a
"已核验(读卡)" mark; editing such a field by hand clears the mark and its source becomes "typed".
The card's photo is shown beside the fields for the clerk to compare with the face in front of
them; it lives only in this widget (never saved with the applicant, never printed) and goes
with `clear()`. The 读卡 button (F2, a window shortcut) asks the window to read the card now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.capture.cardtypes import CARD_TYPE_NAMES, RESIDENT, check_document
from app.validators import check_mobile, check_resident_id, check_uscc, resident_id_conflicts
from app.views import ApplicantInput, ApplicantView
from ui.wedge import make_scan_target

PERSONAL_FIELDS = ("resident_id", "name", "gender", "birth_date", "address", "phone")
# The legal representative's ID number goes on the commitment letter (an enterprise signs by them).
ENTERPRISE_FIELDS = ("uscc", "name", "legal_representative", "resident_id", "address", "phone")
CARD_FIELDS = ("name", "resident_id", "gender", "birth_date", "address")
# Fields whose content is ASCII: a barcode scanner may type into them (ID numbers, the licence's
# credit code), so they take no input method.
_ASCII_FIELDS = ("resident_id", "uscc", "birth_date", "phone")


@dataclass
class _Row:
    label: QLabel
    editor: QLineEdit | QComboBox
    mark: QLabel
    problem: QLabel
    container: QWidget


def parse_date(text: str) -> dt.date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class ApplicantWidget(QWidget):
    edited = Signal()  # the clerk (or the card reader) changed something: save it
    edit_finished = Signal()  # a field lost focus: save now, no debounce
    read_card_requested = Signal()  # the 读卡 button: the window reads the card on the reader

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sources: dict[str, str] = {}
        self._derived: set[str] = set()  # birth date / gender filled from the number, not typed
        self._loading = False
        self._card_type = RESIDENT  # the document the number belongs to (set by a card read)
        self.personal = QRadioButton(self.tr("个人(&R)"), self)
        self.enterprise = QRadioButton(self.tr("企业(&Q)"), self)
        self.personal.setChecked(True)
        kinds = QButtonGroup(self)
        kinds.addButton(self.personal)
        kinds.addButton(self.enterprise)
        self.personal.toggled.connect(self._on_kind_toggled)
        kind_row = QHBoxLayout()
        kind_row.addWidget(QLabel(self.tr("申请人类型"), self))
        kind_row.addWidget(self.personal)
        kind_row.addWidget(self.enterprise)
        kind_row.addStretch(1)
        self.read_card_button = QPushButton(self.tr("读卡 F2"), self)
        self.read_card_button.setObjectName("readCardButton")
        self.read_card_button.setAutoDefault(False)
        self.read_card_button.setToolTip(self.tr("读取阅读器上的证件（F2）"))
        self.read_card_button.setAccessibleName(self.tr("读卡"))
        self.read_card_button.clicked.connect(self.read_card_requested)
        kind_row.addWidget(self.read_card_button)

        self.rows: dict[str, _Row] = {}
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow: label above
        labels = {
            "uscc": self.tr("统一社会信用代码"),
            "resident_id": self.tr("身份证号码(&I)"),
            "name": self.tr("姓名(&M)"),
            "gender": self.tr("性别"),
            "birth_date": self.tr("出生日期"),
            "legal_representative": self.tr("法定代表人"),
            "address": self.tr("住址"),
            "phone": self.tr("联系电话(&T)"),
        }
        for name in (
            "uscc",
            "resident_id",
            "name",
            "gender",
            "birth_date",
            "legal_representative",
            "address",
            "phone",
        ):
            self._add_row(name, labels[name])
        self.id_edit.setMaxLength(18)
        self.uscc_edit.setMaxLength(18)
        self.phone_edit.setMaxLength(16)
        self.edit("birth_date").setPlaceholderText(self.tr("YYYY-MM-DD，可由身份证号码带出"))
        self.id_edit.setPlaceholderText(self.tr("读卡或手工录入18位号码"))
        self.phone_edit.setPlaceholderText(self.tr("必填：办理进度和领取结果通过此电话通知"))
        self.uscc_edit.setPlaceholderText(self.tr("18位，可扫描营业执照二维码"))

        self.card_info = QLabel(self)
        self.card_info.setObjectName("fieldHint")
        self.card_info.setWordWrap(True)
        self.card_info.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.photo = QLabel(self)
        self.photo.setObjectName("cardPhoto")
        self.photo.setFixedSize(102, 126)
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setWordWrap(True)
        self.photo.setAccessibleName(self.tr("证件照片"))
        self.photo.setStyleSheet("border: 1px solid #c8ccd2; color: #6b7280;")
        self.photo.hide()
        fields_row = QHBoxLayout()
        fields_row.addLayout(self.form, 1)
        fields_row.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(kind_row)
        layout.addLayout(fields_row)
        layout.addWidget(self.card_info)
        from ui.reuse import ReuseBar  # 一人一档: consent toggle and what earlier intakes offer

        self.reuse_bar = ReuseBar(self)
        layout.addWidget(self.reuse_bar)
        layout.addStretch(1)
        self._on_kind_toggled(True)

    # -- construction

    def _add_row(self, name: str, label_text: str) -> None:
        container = QWidget(self)
        inner = QVBoxLayout(container)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.setSpacing(1)
        line = QHBoxLayout()
        editor: QLineEdit | QComboBox
        if name == "gender":
            editor = QComboBox(container)
            editor.addItem(self.tr("（未填）"), "")
            editor.addItem(self.tr("男"), "男")
            editor.addItem(self.tr("女"), "女")
            editor.activated.connect(lambda _i, n=name: self._on_field_edited(n))
        else:
            editor = QLineEdit(container)
            editor.textEdited.connect(lambda _t, n=name: self._on_field_edited(n))
            editor.editingFinished.connect(lambda n=name: self._on_field_editing_finished(n))
            if name in _ASCII_FIELDS:
                make_scan_target(editor)  # no input method: scans arrive raw in Chinese mode
        editor.setObjectName(f"applicant_{name}")
        editor.setAccessibleName(label_text.split("(&")[0])  # the form label names the row
        if name in ("resident_id", "uscc"):  # all 18 characters in view, at any font size
            editor.setMinimumWidth(editor.fontMetrics().horizontalAdvance("0" * 18 + "X") + 16)
        mark = QLabel(self.tr("已核验(读卡)"), container)
        mark.setObjectName("verifiedMark")
        mark.setToolTip(self.tr("此项由身份证读卡器读取；手工修改后标记取消"))
        mark.hide()
        line.addWidget(editor, 1)
        line.addWidget(mark)
        problem = QLabel(container)
        problem.setObjectName("fieldProblem")
        problem.setWordWrap(True)
        problem.hide()
        inner.addLayout(line)
        inner.addWidget(problem)
        label = QLabel(label_text, self)
        label.setBuddy(editor)
        self.form.addRow(label, container)
        self.rows[name] = _Row(label, editor, mark, problem, container)

    def edit(self, name: str) -> QLineEdit:
        editor = self.rows[name].editor
        assert isinstance(editor, QLineEdit)
        return editor

    @property
    def id_edit(self) -> QLineEdit:
        return self.edit("resident_id")

    @property
    def uscc_edit(self) -> QLineEdit:
        return self.edit("uscc")

    @property
    def name_edit(self) -> QLineEdit:
        return self.edit("name")

    @property
    def phone_edit(self) -> QLineEdit:
        return self.edit("phone")

    @property
    def gender_combo(self) -> QComboBox:
        editor = self.rows["gender"].editor
        assert isinstance(editor, QComboBox)
        return editor

    @property
    def kind(self) -> str:
        return "enterprise" if self.enterprise.isChecked() else "personal"

    # -- values

    def _text(self, name: str) -> str:
        if name == "gender":
            return str(self.gender_combo.currentData() or "")
        return self.edit(name).text().strip()

    def is_empty(self) -> bool:
        return not any(self._text(n) for n in self.rows)

    def value(self) -> ApplicantInput:
        """What was typed, as typed (numbers not yet checked)."""
        fields = PERSONAL_FIELDS if self.kind == "personal" else ENTERPRISE_FIELDS
        text = {n: (self._text(n) if n in fields else "") for n in self.rows}
        sources = {n: self._sources.get(n, "typed") for n in fields if text[n]}
        return ApplicantInput(
            kind=self.kind,  # type: ignore[arg-type]
            name=text["name"],
            resident_id=text["resident_id"],
            gender=text["gender"],
            birth_date=parse_date(text["birth_date"]),
            address=text["address"],
            phone=text["phone"],
            uscc=text["uscc"],
            legal_representative=text["legal_representative"],
            sources=sources,  # type: ignore[arg-type]
            document_type=self._card_type if self.kind == "personal" else RESIDENT,
        )

    def savable_value(self) -> ApplicantInput:
        """What is saved to the draft: everything as typed (the service keeps a number that
        does not check out yet, and refuses it only when the intake is finished)."""
        return self.value()

    def problems(self) -> dict[str, str]:
        """Field → Chinese problem, for every filled field that does not check out."""
        out: dict[str, str] = {}
        fields = PERSONAL_FIELDS if self.kind == "personal" else ENTERPRISE_FIELDS
        for name in fields:
            text = self._text(name)
            if not text:
                continue
            message = self._check(name, text)
            if message:
                out[name] = message
        return out

    def _check(self, name: str, text: str) -> str | None:
        if name == "resident_id":
            if self._card_type != RESIDENT and self.kind == "personal":
                return check_document(self._card_type, text).message
            check = check_resident_id(text)
            return None if check.valid else check.message
        if name == "uscc":
            check = check_uscc(text)
            return None if check.valid else check.message
        if name == "phone":
            check = check_mobile(text)
            return None if check.valid else check.message
        if name == "birth_date" and parse_date(text) is None:
            return self.tr("出生日期格式应为 YYYY-MM-DD，如 2024-01-31。")
        if name in ("birth_date", "gender") and self.kind == "personal":
            # typed beside the ID number, they must agree with it
            conflict = resident_id_conflicts(
                self._text("resident_id"),
                parse_date(self._text("birth_date")),
                self._text("gender"),
            ).get(name)
            return conflict.message if conflict else None
        return None

    def identity_problem(self) -> tuple[str, str] | None:
        """Why this applicant cannot be finished as entered: (field, Chinese message)."""
        problems = self.problems()
        key = "resident_id" if self.kind == "personal" else "uscc"
        if key in problems:
            label = self.tr("身份证号码") if key == "resident_id" else self.tr("统一社会信用代码")
            return key, self.tr("{label}有误：{problem}").format(label=label, problem=problems[key])
        if "phone" in problems:
            return "phone", self.tr("联系电话有误：{problem}").format(problem=problems["phone"])
        for key in ("birth_date", "gender"):
            if key in problems:
                return key, problems[key]
        return None

    def verified(self, name: str) -> bool:
        return self._sources.get(name) == "card" and not self.rows[name].mark.isHidden()

    # -- filling

    def clear(self) -> None:
        self._loading = True
        try:
            for row in self.rows.values():
                if isinstance(row.editor, QComboBox):
                    row.editor.setCurrentIndex(0)
                else:
                    row.editor.clear()
                row.mark.hide()
                row.problem.hide()
                row.editor.setProperty("invalid", False)
                self._restyle(row.editor)
            self._sources = {}
            self._derived = set()
            self.personal.setChecked(True)
            self.card_info.hide()
            self.reuse_bar.clear()
            self._set_card_type(RESIDENT)
            self.photo.clear()
            self.photo.hide()
        finally:
            self._loading = False

    def set_applicant(self, view: ApplicantView | None) -> None:
        """Show a stored applicant (a draft reopened) without saving it again."""
        self.clear()
        if view is None:
            return
        self._loading = True
        try:
            (self.enterprise if view.kind == "enterprise" else self.personal).setChecked(True)
            values = {
                "name": view.name,
                "resident_id": view.resident_id,
                "address": view.address,
                "phone": view.phone,
                "uscc": view.uscc,
                "legal_representative": view.legal_representative,
                "birth_date": view.birth_date.isoformat() if view.birth_date else "",
            }
            for name, text in values.items():
                self.edit(name).setText(text)
            self._set_gender(view.gender)
            self._set_card_type(view.document_type)
            self._sources = {k: str(v) for k, v in view.sources.items()}
            self.reuse_bar.set_consent(view.consent_reuse)
            for name, row in self.rows.items():
                row.mark.setVisible(self._sources.get(name) == "card")
            self._validate_all()
        finally:
            self._loading = False

    def fill_from_card(self, card: Any, today: dt.date | None = None) -> None:
        """An ID card was read (app.capture.idcard.IdCardData): its fields are verified."""
        today = today or dt.date.today()
        self._loading = True
        try:
            self.personal.setChecked(True)
            self.name_edit.setText(card.name)
            self.id_edit.setText(card.resident_id)
            self.edit("birth_date").setText(card.birth_date.isoformat())
            self.edit("address").setText(card.address)
            self._set_gender(card.gender)
            for name in CARD_FIELDS:
                self._sources[name] = "card"
                self.rows[name].mark.show()
            self._set_card_type(getattr(card, "card_type", RESIDENT))
            self._show_photo(card)
            info = self._card_info(card)
            if card.valid_to is not None and today > card.valid_to:
                info = self.tr("{info}\n注意：该证件已过有效期，请申请人提供有效证件。").format(
                    info=info
                )
                self.card_info.setStyleSheet("color: #b03a2e;")
            else:
                self.card_info.setStyleSheet("")
            self.card_info.setText(info)
            self.card_info.show()
            self._validate_all()
        finally:
            self._loading = False
        self.edited.emit()
        self.edit_finished.emit()

    def _card_info(self, card: Any) -> str:
        valid_to = card.valid_to.isoformat() if card.valid_to else self.tr("长期")
        card_type = getattr(card, "card_type", RESIDENT)
        if card_type == RESIDENT:
            return self.tr("读卡：{ethnicity}族 · 签发机关 {issuer} · 有效期至 {valid_to}").format(
                ethnicity=card.ethnicity, issuer=card.issuer, valid_to=valid_to
            )
        parts = [self.tr("读卡：{type}").format(type=CARD_TYPE_NAMES[card_type])]
        if card.name_en:
            parts.append(self.tr("英文姓名 {name}").format(name=card.name_en))
        if card.nationality_code:
            parts.append(self.tr("国籍 {nationality}").format(nationality=card.nationality))
        if card.pass_number:
            parts.append(self.tr("通行证号码 {number}").format(number=card.pass_number))
        if card.issue_count:
            parts.append(self.tr("签发次数 {count}").format(count=card.issue_count))
        parts.append(self.tr("有效期至 {valid_to}").format(valid_to=valid_to))
        return " · ".join(parts)

    def _set_card_type(self, card_type: str) -> None:
        self._card_type = card_type if card_type in CARD_TYPE_NAMES else RESIDENT
        self._on_kind_toggled(self.personal.isChecked())  # the number's label follows the type

    def _show_photo(self, card: Any) -> None:
        """The decoded card photo beside the fields, or why there is none."""
        photo = getattr(card, "photo", None)
        if photo is not None:
            image = QImage(
                photo.pixels, photo.width, photo.height, photo.width * 3,
                QImage.Format.Format_BGR888,
            ).copy()  # fmt: skip
            self.photo.setPixmap(QPixmap.fromImage(image))
            self.photo.setToolTip(self.tr("证件照片：请与申请人本人比对"))
        else:
            self.photo.setPixmap(QPixmap())
            self.photo.setText(self.tr("无证件照片"))
            self.photo.setToolTip(getattr(card, "photo_message", None) or "")
        self.photo.show()

    def has_photo(self) -> bool:
        pixmap = self.photo.pixmap()
        return self.photo.isVisible() and pixmap is not None and not pixmap.isNull()

    def set_uscc_from_licence(self, uscc: str) -> None:
        """A 营业执照 QR gave the code: switch to enterprise and mark it read, not typed."""
        self.enterprise.setChecked(True)
        self.uscc_edit.setText(uscc)
        self._sources["uscc"] = "licence_qr"
        self._validate_all()
        self.edited.emit()
        self.edit_finished.emit()

    def focus_field(self, name: str) -> None:
        if name in self.rows:
            editor = self.rows[name].editor
            editor.setFocus(Qt.FocusReason.OtherFocusReason)
            if isinstance(editor, QLineEdit):
                editor.selectAll()

    def _set_gender(self, gender: str) -> None:
        index = self.gender_combo.findData(gender)
        self.gender_combo.setCurrentIndex(max(0, index))

    # -- reactions

    def _on_kind_toggled(self, _checked: bool) -> None:
        fields = PERSONAL_FIELDS if self.kind == "personal" else ENTERPRISE_FIELDS
        for name, row in self.rows.items():
            visible = name in fields
            row.label.setVisible(visible)
            row.container.setVisible(visible)
        self.rows["name"].label.setText(
            self.tr("姓名(&M)") if self.kind == "personal" else self.tr("企业名称(&M)")
        )
        self.rows["address"].label.setText(
            self.tr("住址") if self.kind == "personal" else self.tr("住所")
        )
        self.rows["resident_id"].label.setText(
            (self.tr("身份证号码(&I)") if self._card_type == RESIDENT else self.tr("证件号码(&I)"))
            if self.kind == "personal"
            else self.tr("法定代表人身份证号(&I)")
        )
        if not self._loading:
            self._validate_all()
            self.edited.emit()

    def _on_field_edited(self, name: str) -> None:
        if self._sources.get(name) in ("card", "licence_qr", "reuse"):
            self._sources[name] = "typed"
            self.rows[name].mark.hide()
        if name == "resident_id":
            self._derive_from_id()
        elif name in ("birth_date", "gender"):
            self._derived.discard(name)  # the clerk's own entry from now on
        self._validate(name)
        if name in ("resident_id", "birth_date", "gender"):  # their agreement may change
            for other in {"birth_date", "gender"} - {name}:
                self._validate(other, finished=True)
        self.edited.emit()

    def _on_field_editing_finished(self, name: str) -> None:
        self._validate(name, finished=True)
        if not self._loading:
            self.edit_finished.emit()

    def _derive_from_id(self) -> None:
        """A valid typed ID number gives birth date and gender when those are still empty, or
        were given by an earlier number (a corrected number brings its own)."""
        check = check_resident_id(self.id_edit.text())
        if not check.valid:
            return
        if check.birth_date and (not self._text("birth_date") or "birth_date" in self._derived):
            self.edit("birth_date").setText(check.birth_date.isoformat())
            self._derived.add("birth_date")
        if check.gender and (not self._text("gender") or "gender" in self._derived):
            self._set_gender("男" if check.gender == "male" else "女")  # stored values, not labels
            self._derived.add("gender")

    def _validate_all(self) -> None:
        for name in self.rows:
            self._validate(name, finished=True)

    def _validate(self, name: str, finished: bool = False) -> None:
        row = self.rows[name]
        text = self._text(name)
        message = self._check(name, text) if text else None
        if (
            name == "resident_id"
            and message
            and not finished
            and len(text) < 18
            and self.id_edit.hasFocus()
        ):
            # Still typing: say how far along, quietly.
            row.problem.setObjectName("fieldHint")
            row.problem.setText(self.tr("已输入{count}位，共18位").format(count=len(text)))
            row.problem.show()
            invalid = False
        elif message:
            row.problem.setObjectName("fieldProblem")
            row.problem.setText(message)
            row.problem.show()
            invalid = True
        else:
            row.problem.hide()
            invalid = False
        self._restyle(row.problem)
        row.editor.setProperty("invalid", invalid)
        self._restyle(row.editor)

    @staticmethod
    def _restyle(widget: QWidget) -> None:
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)

    def problem_text(self, name: str) -> str:
        row = self.rows[name]
        return "" if row.problem.isHidden() else row.problem.text()
