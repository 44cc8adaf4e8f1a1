"""一人一档 in the window: the consent toggle and offer line of the applicant panel, the dialog in
which the clerk accepts earlier applicant data and materials one by one, and the controller that
keeps both in step with the intake on screen (the service: app/reuse.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.consent import ConsentState
    from app.reuse import Reused, ReuseOffer

FIELD_NAMES = {
    "address": QT_TRANSLATE_NOOP("ReuseDialog", "住址"),
    "phone": QT_TRANSLATE_NOOP("ReuseDialog", "联系电话"),
}


def day_text(d: dt.date) -> str:
    """A day as the printed documents write it."""
    from printing.layout import fmt_date

    return fmt_date(d)


def origin_text(number: str, day: dt.date) -> str:
    text = QCoreApplication.translate("ReuseDialog", "复用自 {number}（{date}）")
    return text.format(number=number, date=day_text(day))


class ReuseBar(QWidget):
    """Under the applicant's fields: the consent box and what the earlier intakes offer."""

    consent_toggled = Signal(bool)
    offer_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.consent = QCheckBox(self.tr("同意复用（一人一档）(&G)"), self)
        self.consent.setObjectName("reuseConsent")
        self.consent.setToolTip(
            self.tr("申请人同意本次及今后办件复用其已提交的信息和材料；取消勾选即撤回同意")
        )
        self.consent.toggled.connect(self._on_consent_toggled)
        self.offer_button = QPushButton(self.tr("复用…"), self)
        self.offer_button.setObjectName("reuseOfferButton")
        self.offer_button.setAutoDefault(False)
        self.offer_button.clicked.connect(self.offer_requested)
        self.status = QLabel(self)
        self.status.setObjectName("fieldHint")
        self.status.setWordWrap(True)
        self.offer_button.setToolTip(self.tr("查看并选择可复用的早前办件信息和材料"))
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.consent, 1)
        top.addWidget(self.offer_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.status)
        self.clear()

    def clear(self) -> None:
        self.set_consent(False)
        self.set_offer(None)

    def set_consent(self, granted: bool) -> None:
        """Show the consent in force without taking it for the clerk's click."""
        self.consent.blockSignals(True)
        self.consent.setChecked(granted)
        self.consent.blockSignals(False)

    def set_offer(self, offer: ReuseOffer | None, consent: ConsentState | None = None) -> None:
        self.offer_button.setEnabled(offer is not None and not offer.empty)
        if offer is not None and not offer.empty:
            text = self.tr("早前办件可复用：申请人信息 {fields} 项，材料 {materials} 项").format(
                fields=len(offer.fields), materials=len(offer.materials)
            )
        elif consent is not None and consent.status == "withdrawn":
            text = self.tr("申请人已撤回复用同意：不再提供早前办件的信息和材料")
        else:
            text = ""
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _on_consent_toggled(self, checked: bool) -> None:
        self.consent_toggled.emit(checked)


class ReuseDialog(QDialog):
    """What the earlier intake offers, each accepted by its own box (none ticked at first)."""

    def __init__(self, offer: ReuseOffer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("一人一档：复用早前办件"))
        self.field_boxes: dict[str, QCheckBox] = {}
        self.material_boxes: dict[str, QCheckBox] = {}
        layout = QVBoxLayout(self)
        if offer.fields:
            layout.addWidget(QLabel(self.tr("申请人信息"), self))
        for f in offer.fields:
            box = QCheckBox(
                self.tr("{field}：{value}（{origin}）").format(
                    field=self.tr(FIELD_NAMES[f.field]) if f.field in FIELD_NAMES else f.field,
                    value=f.value,
                    origin=origin_text(f.origin.number, f.origin.date),
                ),
                self,
            )
            self.field_boxes[f.field] = box
            layout.addWidget(box)
        if offer.materials:
            layout.addWidget(
                QLabel(self.tr("已采集的材料（页面随本件一并推送，不重复上传）"), self)
            )
        for m in offer.materials:
            box = QCheckBox(
                self.tr("{name}：{pages}页，采集于 {captured}（{origin}）").format(
                    name=m.name,
                    pages=m.pages,
                    captured=day_text(m.captured_on),
                    origin=origin_text(m.origin.number, m.origin.date),
                ),
                self,
            )
            self.material_boxes[m.line_id] = box
            layout.addWidget(box)
        for t in offer.too_old:
            old = QLabel(
                self.tr("{name}：采集于 {captured}，已超过 {days} 天的复用期限，请重新收取").format(
                    name=t.name, captured=day_text(t.captured_on), days=t.max_age_days
                ),
                self,
            )
            old.setObjectName("fieldHint")
            old.setEnabled(False)
            layout.addWidget(old)
        buttons = QDialogButtonBox(self)
        self.accept_button = buttons.addButton(
            self.tr("复用所选"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.addButton(self.tr("取消"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen(self) -> tuple[list[str], list[str]]:
        return (
            [k for k, b in self.field_boxes.items() if b.isChecked()],
            [k for k, b in self.material_boxes.items() if b.isChecked()],
        )


def material_origins(reused: Mapping[tuple[str, str], Reused]) -> dict[str, str]:
    """Checklist line id -> "复用自 <number>（<date>）", as the receipt prints it."""
    return {
        r.key: origin_text(r.origin.number, r.origin.date)
        for r in reused.values()
        if r.kind == "material"
    }


class ReuseController(QObject):
    """Keeps the bar, the checklist's origins and the dialog in step with the intake on screen
    (SCREEN: ui.intake.IntakeWidget); every service call runs on the database thread."""

    def __init__(self, screen: Any) -> None:
        super().__init__(screen)
        self.screen = screen
        self.bar: ReuseBar = screen.applicant.reuse_bar
        self.dialog: ReuseDialog | None = None
        self.bar.consent_toggled.connect(self._on_bar_consent_toggled)
        self.bar.offer_requested.connect(self.open_offer)

    @property
    def _service(self) -> Any:
        return self.screen.session.ctx.reuse

    def refresh(self) -> None:
        sid = self.screen.submission_id
        if sid is None:
            self.bar.clear()
            self.screen.materials.set_origins({})
            return
        service = self._service

        def fetch() -> tuple[ConsentState, ReuseOffer, dict[str, str]]:
            return (
                service.consent_of(sid),
                service.offer(sid),
                material_origins(service.reused(sid)),
            )

        def shown(result: tuple[ConsentState, ReuseOffer, dict[str, str]]) -> None:
            if sid != self.screen.submission_id:
                return  # another intake is on screen by now
            consent, offer, origins = result
            self.bar.set_consent(consent.granted)
            self.bar.set_offer(offer, consent)
            self.screen.materials.set_origins(origins)

        self.screen.session.runner.run_db(fetch, shown, self.screen._on_task_failed, guard=self)

    def _on_bar_consent_toggled(self, granted: bool) -> None:
        s = self.screen.session
        self.screen.flush()  # the ID number typed last is saved first (same database thread)

        def failed(err: Any) -> None:
            self.bar.set_consent(not granted)
            self.screen._post(err.message, "error", "reuse")

        def done(_state: Any) -> None:
            self.screen._resolve("reuse")
            self.refresh()

        self.screen._with_sid(
            lambda sid: self._service.consent_for(s.actor, sid, granted), done, failed
        )

    def open_offer(self) -> None:
        sid = self.screen.submission_id
        if sid is None:
            return
        self.screen.flush()
        service = self._service

        def show(offer: ReuseOffer) -> None:
            if sid != self.screen.submission_id or offer.empty:
                self.bar.set_offer(offer)
                return
            self.dialog = ReuseDialog(offer, self.screen)
            self.dialog.accepted.connect(lambda: self._take(sid))
            self.dialog.open()

        self.screen.session.runner.run_db(
            lambda: service.offer(sid), show, self.screen._on_task_failed, guard=self
        )

    def _take(self, sid: str) -> None:
        assert self.dialog is not None
        fields, materials = self.dialog.chosen()
        if not fields and not materials:
            return
        self.take(sid, fields, materials)

    def take(self, sid: str, fields: Sequence[str], materials: Sequence[str]) -> None:
        s = self.screen.session

        def failed(err: Any) -> None:
            self.screen._post(err.message, "error", "reuse")
            self.refresh()

        def done(_taken: Any) -> None:
            self.screen._resolve("reuse")
            self.screen.load(sid)  # the applicant, the checklist and the pages as they are now

        s.runner.run_db(
            lambda: self._service.accept(s.actor, sid, fields, materials),
            done,
            failed,
            guard=self,
        )
