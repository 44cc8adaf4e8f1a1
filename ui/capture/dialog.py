"""The capture dialog: document camera (高拍仪), file import and the scanner's folder, for the
materials of one intake.

Keys: Space / Enter / F8 take a page; PgDn / PgUp the next / previous material; Ctrl+O import
files; Alt+A auto-capture when the page lies still; Alt+D processing mode; Esc close (with a
reminder when a material has fewer pages than it should). On the page strip: R / L rotate,
Ctrl+← / Ctrl+→ move, Delete remove, T retake.

Threads: frames are read and pages detected on the runner's pool (`ui.capture.preview`); a
taken page is flattened, cleaned and compressed by `app.capture.pages.process_page` on the pool;
storing it (`IntakePages.attach_page`) runs on the database thread. Pages are stored in the
order they were taken, whatever order their processing finishes in. A page is stored as soon as
it is processed: a camera that goes away, or a bad file, never takes stored pages with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.capture.pages import (
    PageActions,
    PageStripWidget,
    ThumbnailLoader,
    first_outstanding,
    needs_pages,
)
from ui.capture.preview import CameraFeed, Detected, PreviewWidget, ShownFrame
from ui.checklist import state_label
from ui.i18n import file_dialog
from ui.messages import MessageBarWidget

if TYPE_CHECKING:
    from PySide6.QtWidgets import QFileDialog

    from app.capture.page_image import PageSignature, ProcessedPage
    from app.checklist import MaterialLine
    from app.views import PageView, SubmissionView
    from ui.capture.devices import CaptureDevices
    from ui.session import ClerkSession
    from ui.tasks import TaskError

log = logging.getLogger("intake.ui.capture")

HOT_FOLDER_POLL_MS = 1000


def process_frame(frame: Any, mode: str) -> list[ProcessedPage]:
    """On the pool: one camera still through the whole page pipeline."""
    from app.capture.pages import process_page

    return [process_page(frame, mode, source="camera")]  # type: ignore[arg-type]


def process_file(path: str, mode: str, source: str | None = None) -> list[ProcessedPage]:
    """On the pool: every page of an image or PDF file through the same pipeline. All or
    nothing: a file that fails part-way adds no page (the clerk re-scans the whole file)."""
    from app.capture.imports import iter_pages_from_bytes, read_file, sniff
    from app.capture.pages import process_page

    data = read_file(path)
    if source is None:
        source = "scan" if sniff(data[:1024]) in ("pdf", "tiff") else "camera"
    return [
        process_page(image, mode, source=source)  # type: ignore[arg-type]
        for image in iter_pages_from_bytes(data)
    ]


class _Previous(NamedTuple):
    """The page just before a newly stored one (its signature None if unreadable)."""

    page_id: str
    position: int
    signature: PageSignature | None


class CaptureDialog(QDialog):
    pages_changed = Signal(object)  # SubmissionView after pages were added, moved, turned, removed
    intake_requested = Signal(str)  # intake number from a receipt code: open that intake
    uscc_accepted = Signal(str)  # USCC from a 营业执照 QR, for the enterprise applicant
    id_card_read = Signal(object)  # app.capture.ocr.IdCardReading, for the applicant panel
    collected_requested = Signal(str)  # material id: its pages are in, the clerk marks it 已收

    def __init__(
        self,
        session: ClerkSession,
        devices: CaptureDevices,
        sid: str,
        lines: Sequence[MaterialLine],
        pages: Sequence[PageView],
        material_id: str | None = None,
        *,
        retake: str | None = None,
        number: str | None = None,
        applicant_editable: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.devices = devices
        self.sid = sid
        self.number = number
        self.lines = tuple(lines)
        self.pages: tuple[PageView, ...] = tuple(pages)
        self.applicant_editable = applicant_editable
        self._retake = retake
        self._touched: set[str] = set()
        self._codes_seen: set[tuple[str, str]] = set()
        self._close_warned = False
        self._next_seq = 0  # capture order
        self._attach_seq = 0  # next capture to store
        self._results: dict[int, tuple[str, str | None, str, list[ProcessedPage] | TaskError]] = {}
        self._in_flight: dict[str, int] = {}  # material → captures taken, not yet stored
        self._signatures: dict[str, PageSignature] = {}  # page id → what is on it
        self._offered_collected: set[str] = set()
        self._attaching = False
        self._hot_polling = False
        self._ocr_running = False
        self.file_dialog: QFileDialog | None = None  # the import's file dialog while it is open
        self.setWindowTitle(
            self.tr("材料采集 — {number}").format(number=number) if number else self.tr("材料采集")
        )
        self.resize(1180, 760)

        self._build_widgets()
        self._build_layout()
        self._build_helpers()
        self._connect()
        self._explain_buttons()
        self._fill_materials(material_id)
        self.status_label.setText(
            self.tr("正在打开高拍仪“{name}”……").format(name=devices.camera_label)
        )

    def _build_widgets(self) -> None:
        # widgets referenced later are attributes; the labels only serve the layout
        self.material_label = QLabel(self.tr("材料(&M)"), self)
        self.material_combo = QComboBox(self)
        self.material_combo.setObjectName("captureMaterial")
        self.next_button = QPushButton(self.tr("下一项待采集 PgDn"), self)
        self.mode_combo = QComboBox(self)
        for text, mode in (
            (self.tr("自动"), "auto"),
            (self.tr("彩色"), "color"),
            (self.tr("灰度"), "grey"),
            (self.tr("黑白文字"), "bw"),
        ):
            self.mode_combo.addItem(text, mode)
        self.mode_label = QLabel(self.tr("处理模式(&D)"), self)
        self.mode_label.setBuddy(self.mode_combo)
        self.auto_check = QCheckBox(self.tr("页面静止时自动拍摄(&A)"), self)
        self.auto_check.setChecked(True)
        self.preview = PreviewWidget(self)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("sectionHint")
        self.findings_label = QLabel(self)
        self.findings_label.setObjectName("captureFindings")
        self.findings_label.setWordWrap(True)
        self.findings_label.setStyleSheet("color: #7a4b00; font-weight: bold;")
        self.findings_label.hide()
        self.messages = MessageBarWidget(self)
        self.expected_label = QLabel(self)
        self.expected_label.setWordWrap(True)
        self.strip = PageStripWidget(QSize(96, 128), self)
        self.capture_button = QPushButton(self.tr("拍摄（空格 / 回车）"), self)
        self.capture_button.setObjectName("finishButton")
        self.import_button = QPushButton(self.tr("导入文件… Ctrl+O"), self)
        self.hot_check = QCheckBox(self.tr("监视扫描文件夹"), self)
        self.ocr_button = QPushButton(self.tr("识别身份证(&O)"), self)
        self.close_button = QPushButton(self.tr("完成 Esc"), self)
        for button in (
            self.next_button,
            self.capture_button,
            self.import_button,
            self.ocr_button,
            self.close_button,
        ):
            button.setAutoDefault(False)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space / Enter always take a page

        self.material_label.setBuddy(self.material_combo)

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.material_label)
        top.addWidget(self.material_combo, 1)
        top.addWidget(self.next_button)
        top.addSpacing(12)
        top.addWidget(self.mode_label)
        top.addWidget(self.mode_combo)
        top.addWidget(self.auto_check)
        side = QVBoxLayout()
        pages_title = QLabel(self.tr("本材料已采集的页面"), self)
        pages_title.setObjectName("sectionHint")
        side.addWidget(pages_title)
        side.addWidget(self.expected_label)
        side.addWidget(self.strip, 1)
        middle = QHBoxLayout()
        middle.addWidget(self.preview, 3)
        side_box = QWidget(self)
        side_box.setLayout(side)
        middle.addWidget(side_box, 2)
        bottom = QHBoxLayout()
        bottom.addWidget(self.capture_button)
        bottom.addWidget(self.import_button)
        bottom.addWidget(self.hot_check)
        bottom.addWidget(self.ocr_button)
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.messages)
        layout.addLayout(middle, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.findings_label)
        layout.addLayout(bottom)

    def _build_helpers(self) -> None:
        self.feed = CameraFeed(self.session.runner, self.devices.camera_factory, self)
        self.thumbs = ThumbnailLoader(self.session, self.strip.thumb, self)
        self.page_actions = PageActions(
            self.session, self.sid, self._apply_view, self._on_task_failed, self
        )
        self.hot_timer = QTimer(self)
        self.hot_timer.setInterval(HOT_FOLDER_POLL_MS)
        self.hot_timer.timeout.connect(self.poll_hot_folder)

    def _connect(self) -> None:
        self.feed.frame_shown.connect(self._on_feed_frame_shown)
        self.feed.detected.connect(self._on_feed_detected)
        self.feed.opened.connect(self._on_feed_opened)
        self.feed.failed.connect(self._on_feed_failed)
        self.material_combo.currentIndexChanged.connect(self._on_material_combo_changed)
        self.next_button.clicked.connect(lambda: self.next_material(1))
        self.capture_button.clicked.connect(self.capture)
        self.import_button.clicked.connect(self.choose_files)
        self.hot_check.toggled.connect(self._on_hot_check_toggled)
        self.ocr_button.clicked.connect(self.read_id_card)
        self.close_button.clicked.connect(self.request_close)
        self.strip.rotate_requested.connect(self._on_strip_rotate_requested)
        self.strip.move_requested.connect(self._on_strip_move_requested)
        self.strip.remove_requested.connect(self._on_strip_remove_requested)
        self.strip.retake_requested.connect(self._on_strip_retake_requested)
        for keys, slot in (
            ("Space", self.capture),
            ("Return", self.capture),
            ("Enter", self.capture),
            ("F8", self.capture),
            ("PgDown", lambda: self.next_material(1)),
            ("PgUp", lambda: self.next_material(-1)),
            ("Ctrl+O", self.choose_files),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

    def _explain_buttons(self) -> None:
        """Hot folder and OCR: enabled only when they can work, the tooltip says why not."""
        hot = self.devices.hot_folder
        self.hot_check.setEnabled(hot is not None)
        self.hot_check.setToolTip(
            self.tr("扫描仪新存入该文件夹的文件将导入当前材料：{path}").format(path=hot.path)
            if hot is not None
            else self.tr("未设置扫描仪输出文件夹（设备 → 设备设置）")
        )
        if not self.devices.ocr_available:
            self.ocr_button.setEnabled(False)
            self.ocr_button.setToolTip(
                self.tr("本机未安装离线文字识别组件（rapidocr），无法识别身份证照片，请手工录入。")
            )
        elif not self.applicant_editable:
            self.ocr_button.setEnabled(False)
            self.ocr_button.setToolTip(self.tr("只能在受理录入时识别身份证并填入申请人。"))
        else:
            self.ocr_button.setToolTip(
                self.tr("识别高拍仪下身份证正面的文字，填入申请人（须与证件核对）")
            )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Open the camera (on the pool); the preview starts when it is open."""
        self.feed.start()

    @property
    def busy(self) -> bool:
        return self._attach_seq < self._next_seq or self._attaching

    def suspend(self) -> None:
        """The window locks: nothing on screen, no frames read."""
        self.feed.pause()
        self.hide()

    def resume(self) -> None:
        self.show()
        self.feed.resume()

    def reject(self) -> None:  # Esc
        self.request_close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.isVisible():
            event.ignore()
            self.request_close()
            return
        super().closeEvent(event)

    def request_close(self) -> None:
        if self.busy:
            self.messages.show_message(
                self.tr("正在处理已拍摄的页面，请稍候再关闭。"), "warning", timeout_ms=4000
            )
            return
        warnings = self.page_count_warnings()
        if warnings and not self._close_warned:
            self._close_warned = True
            self.messages.show_message(
                self.tr("{warnings}\n确认无误可再按 Esc 关闭。").format(
                    warnings="\n".join(warnings)
                ),
                "warning",
                action=(self.tr("仍然关闭"), self.close_now),
            )
            return
        self.close_now()

    def close_now(self) -> None:
        self.feed.stop()
        self.hot_timer.stop()
        self.done(QDialog.DialogCode.Accepted)

    def page_count_warnings(self) -> list[str]:
        """Materials worked on here that have fewer pages than the catalog says they have."""
        from app.capture.pages import expected_pages_warning

        out = []
        for line in self.lines:
            if line.id not in self._touched:
                continue
            count = sum(1 for p in self.pages if p.material_id == line.id)
            finding = expected_pages_warning(line.material.pages, count)
            if finding is not None:
                out.append(
                    self.tr("{material}：{problem}").format(
                        material=line.name, problem=finding.message
                    )
                )
        return out

    # ------------------------------------------------------------------ materials

    @property
    def material_id(self) -> str | None:
        data = self.material_combo.currentData()
        return str(data) if data else None

    def _line(self, material_id: str | None) -> MaterialLine | None:
        return next((l for l in self.lines if l.id == material_id), None)

    def _material_text(self, n: int, line: MaterialLine) -> str:
        count = sum(1 for p in self.pages if p.material_id == line.id)
        text = self.tr("{n}. {name}（{state} · 已采集{count}页）").format(
            n=n, name=line.name, state=state_label(line.state), count=count
        )
        if needs_pages(line) and not count:
            text = self.tr("{text} ★待采集").format(text=text)
        return text

    def _fill_materials(self, material_id: str | None) -> None:
        self.material_combo.blockSignals(True)
        self.material_combo.clear()
        for n, line in enumerate(self.lines, start=1):
            self.material_combo.addItem(self._material_text(n, line), line.id)
        self.material_combo.blockSignals(False)
        target = material_id or first_outstanding(self.lines, self.pages)
        index = self.material_combo.findData(target) if target else 0
        self.material_combo.setCurrentIndex(max(0, index))
        self._show_material()

    def _refresh_material_texts(self) -> None:
        for n, line in enumerate(self.lines, start=1):
            row = self.material_combo.findData(line.id)
            if row >= 0:
                self.material_combo.setItemText(row, self._material_text(n, line))

    def select_material(self, material_id: str) -> None:
        index = self.material_combo.findData(material_id)
        if index >= 0:
            self.material_combo.setCurrentIndex(index)

    def next_material(self, step: int = 1) -> None:
        if step > 0:
            target = first_outstanding(self.lines, self.pages, after=self.material_id)
            if target is not None and target != self.material_id:
                self.select_material(target)
                return
        count = self.material_combo.count()
        if count:
            self.material_combo.setCurrentIndex((self.material_combo.currentIndex() + step) % count)

    def _on_material_combo_changed(self, _index: int) -> None:
        self._retake = None
        self.findings_label.hide()
        self.feed.reset_stillness()  # a new page is coming
        self._show_material()

    def _show_material(self) -> None:
        material = self.material_id
        pages = tuple(p for p in self.pages if p.material_id == material)
        self.strip.set_pages(pages)
        self.thumbs.load(pages, self.strip.set_thumbnail)
        line = self._line(material)
        if line is not None:
            self.expected_label.setText(
                self.tr("{name}：应有{expected}页，已采集{count}页").format(
                    name=line.name, expected=line.material.pages, count=len(pages)
                )
            )
        if self._retake is not None:
            self.strip.select(self._retake)

    # ------------------------------------------------------------------ camera

    def _on_feed_opened(self, name: str) -> None:
        self.status_label.setText(
            self.tr("高拍仪“{name}”已就绪：放好材料后按空格或回车拍摄。").format(name=name)
        )
        if self.messages.level == "error":
            self.messages.dismiss()

    def _on_feed_failed(self, err: TaskError) -> None:
        self.preview.set_placeholder(err.message)
        count = len(self.pages)
        self.status_label.setText(
            self.tr("高拍仪不可用。已采集的{count}页已保存，可导入文件继续。").format(count=count)
        )
        self.messages.show_message(
            self.tr("{problem}已采集的页面均已保存。").format(problem=err.message),
            "error",
            action=(self.tr("重新连接"), self.feed.start),
        )

    def _on_feed_frame_shown(self, shown: ShownFrame) -> None:
        self.preview.set_frame(shown)

    def _on_feed_detected(self, detected: Detected) -> None:
        self.preview.set_overlay(detected.overlay, detected.touches_edge)
        if not detected.overlay:
            text = self.tr("未检测到页面：请将材料平放在拍摄区域内。")
        elif detected.touches_edge:
            text = self.tr("页面边缘超出拍摄区域，请调整材料位置。")
        elif self.auto_check.isChecked() and self.has_expected_pages():
            text = self.tr(
                "本材料应有{n}页，已采集齐全，不再自动拍摄。加拍按空格，下一项材料按 PgDn。"
            ).format(n=self._expected_pages())
        else:
            frames = self.feed.still_frames_needed
            text = self.tr("已检测到页面 · 静止 {n}/{m}").format(
                n=min(detected.still_frames, frames), m=frames
            )
        self.status_label.setText(text)
        if detected.codes:
            self._offer_codes(detected.codes)
        if detected.capture_now and self.auto_check.isChecked() and not self.has_expected_pages():
            self.capture()

    def _expected_pages(self) -> int:
        line = self._line(self.material_id)
        return line.material.pages if line is not None else 0

    def has_expected_pages(self) -> bool:
        """The current material has (or is processing) as many pages as the catalog says it
        has: auto-capture stops there (a retake still replaces a page)."""
        material = self.material_id
        expected = self._expected_pages()
        if material is None or not expected or self._retake is not None:
            return False
        taken = sum(1 for p in self.pages if p.material_id == material)
        return taken + self._in_flight.get(material, 0) >= expected

    # ------------------------------------------------------------------ taking pages

    @property
    def mode(self) -> str:
        return str(self.mode_combo.currentData())

    def capture(self) -> None:
        """Take the newest camera frame as a page of the current material."""
        material = self.material_id
        if material is None:
            return
        shown = self.feed.latest
        if shown is None or not self.feed.running:
            self.messages.show_message(
                self.tr("高拍仪没有画面，无法拍摄。可导入扫描文件。"), "warning", timeout_ms=5000
            )
            return
        frame, mode = shown.frame, self.mode
        self.status_label.setText(self.tr("正在处理拍摄的页面……"))
        self._submit(material, lambda: process_frame(frame, mode), self.tr("拍摄"))

    def choose_files(self) -> None:
        dialog = file_dialog(
            self, self.tr("导入材料文件"), multiple=True, name_filter=self._file_filter()
        )
        self.file_dialog = dialog
        dialog.filesSelected.connect(lambda files: self.import_files(list(files)))
        dialog.open()

    def _file_filter(self) -> str:
        return self.tr("图像或PDF (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.pdf);;所有文件 (*)")

    def import_files(self, paths: Sequence[str | Path], source: str | None = None) -> None:
        """Each file's pages go to the current material, through the same processing."""
        material = self.material_id
        if material is None:
            return
        mode = self.mode
        for path in paths:
            name = Path(path).name
            self.status_label.setText(self.tr("正在导入 {file}……").format(file=name))
            self._submit(material, partial(process_file, str(path), mode, source), name)

    def _submit(self, material: str, work: Callable[[], list[ProcessedPage]], origin: str) -> None:
        seq = self._next_seq
        self._next_seq += 1
        retake, self._retake = self._retake, None
        self._touched.add(material)
        if retake is None:
            self._in_flight[material] = self._in_flight.get(material, 0) + 1

        def done(pages: list[ProcessedPage]) -> None:
            self._results[seq] = (material, retake, origin, pages)
            self._drain()

        def failed(err: TaskError) -> None:
            self._results[seq] = (material, retake, origin, err)
            self._drain()

        self.session.runner.run_pool(work, done, failed, guard=self)

    def _drain(self) -> None:
        """Store processed captures in the order they were taken, one database job at a time."""
        while not self._attaching and self._attach_seq in self._results:
            material, retake, origin, outcome = self._results.pop(self._attach_seq)
            self._attach_seq += 1
            if retake is None:
                self._in_flight[material] = max(0, self._in_flight.get(material, 0) - 1)
            if not isinstance(outcome, list):
                self.messages.show_message(
                    self.tr("{source}：{problem}").format(source=origin, problem=outcome.message),
                    "error",
                )
                self.status_label.setText(self.tr("未添加页面（已采集的页面不受影响）。"))
                continue
            if not outcome:
                self.messages.show_message(
                    self.tr("{source}：文件中没有页面。").format(source=origin), "warning"
                )
                continue
            self._attaching = True
            self._store(material, retake, outcome)

    def _store(self, material: str, retake: str | None, processed: list[ProcessedPage]) -> None:
        s, sid = self.session, self.sid
        blobs = [(p.data, p.media_type) for p in processed]
        known = dict(self._signatures)

        def work() -> tuple[SubmissionView, list[PageView], _Previous | None]:
            from app.capture.pages import signature_from_bytes
            from local_db.errors import DomainError

            stored = [s.pages.attach_page(s.actor, sid, material, d, m) for d, m in blobs]
            if retake is not None:
                order = [p.id for p in s.queries.get(sid).pages_for(material)]
                if retake in order:
                    try:
                        s.pages.remove_page(s.actor, sid, retake)
                        s.pages.move_page(s.actor, sid, stored[0].id, order.index(retake) + 1)
                    except DomainError:
                        pass  # the old page went meanwhile: the new one stays at the end
            view = s.queries.get(sid)
            # the page before the first new one, to tell a sheet taken twice
            pages = list(view.pages_for(material))
            at = next((i for i, p in enumerate(pages) if p.id == stored[0].id), 0)
            previous = None
            if at > 0:
                before = pages[at - 1]
                signature = known.get(before.id)
                if signature is None:  # taken before this dialog opened: read it back
                    signature = signature_from_bytes(s.pages.page_bytes(before))
                previous = _Previous(before.id, at, signature)
            return view, stored, previous

        def done(result: tuple[SubmissionView, list[PageView], _Previous | None]) -> None:
            self._attaching = False
            view, stored, previous = result
            self._after_store(material, processed, stored, retake, previous, view)
            self._apply_view(view)
            self._drain()

        def failed(err: TaskError) -> None:
            self._attaching = False
            self.messages.show_message(err.message, "error")
            self._drain()

        self.session.runner.run_db(work, done, failed, guard=self)

    def _after_store(
        self,
        material: str,
        processed: list[ProcessedPage],
        stored: list[PageView],
        retake: str | None,
        previous: _Previous | None = None,
        submission: SubmissionView | None = None,
    ) -> None:
        from app.capture.pages import duplicate_warning

        notes = []
        codes: list[Any] = []
        positions = (
            {p.id: n for n, p in enumerate(submission.pages_for(material), start=1)}
            if submission is not None
            else {}
        )
        before = previous
        for page, view in zip(processed, stored):
            codes += page.codes
            position = positions.get(view.id, view.position)
            findings = list(page.findings)
            if before is not None:
                same = duplicate_warning(before.signature, page.signature, before.position)
                if same is not None:
                    findings.append(same)
            if page.signature is not None:
                self._signatures[view.id] = page.signature
            before = _Previous(view.id, position, page.signature)
            if findings:
                text = "；".join(f.message for f in findings)
                self.strip.set_note(view.id, text)
                notes.append(self.tr("第{n}页：{problems}").format(n=position, problems=text))
        if notes:
            self.findings_label.setText(
                self.tr("质量提示（请在申请人离开前处理，可选中该页按 T 重拍）：\n{notes}").format(
                    notes="\n".join(notes)
                )
            )
            self.findings_label.show()
        else:
            self.findings_label.hide()
        line = self._line(material)
        name = line.name if line else material
        if retake is not None:
            text = self.tr("已重拍并替换：{material}").format(material=name)
        else:
            text = self.tr("已保存 {count} 页到：{material}").format(
                count=len(stored), material=name
            )
        self.status_label.setText(text)
        if submission is not None and line is not None:
            self._offer_collected(line, len(submission.pages_for(material)))
        if codes:
            self._offer_codes(codes)

    def _offer_collected(self, line: MaterialLine, count: int) -> None:
        """The material's pages are all in while it is still 缺: offer to mark it 已收 (once)."""
        expected = line.material.pages
        if (
            not self.applicant_editable  # only the intake being entered takes marks
            or line.state != "missing"
            or line.id in self._offered_collected
            or count < expected
        ):
            return
        self._offered_collected.add(line.id)
        self.messages.show_message(
            self.tr("“{material}”的{n}页已采集齐全。").format(material=line.name, n=expected),
            "success",
            action=(self.tr("标为已收"), partial(self._mark_collected, line.id)),
        )

    def _mark_collected(self, material_id: str) -> None:
        self.collected_requested.emit(material_id)
        self.lines = tuple(
            replace(l, state="collected") if l.id == material_id else l for l in self.lines
        )
        self._refresh_material_texts()
        name = next((l.name for l in self.lines if l.id == material_id), material_id)
        self.status_label.setText(self.tr("已标为已收：{material}").format(material=name))

    def _apply_view(self, view: SubmissionView) -> None:
        self.pages = view.pages
        self._refresh_material_texts()
        self._show_material()
        self.pages_changed.emit(view)

    def _on_task_failed(self, err: TaskError) -> None:
        self.messages.show_message(err.message, "error")

    # ------------------------------------------------------------------ page actions

    def _on_strip_rotate_requested(self, page_id: str, degrees: int) -> None:
        self.page_actions.rotate(page_id, degrees)

    def _on_strip_move_requested(self, page_id: str, position: int) -> None:
        self.page_actions.move(page_id, position)

    def _on_strip_remove_requested(self, page_id: str) -> None:
        if self.material_id:
            self._touched.add(self.material_id)
        self.page_actions.remove(page_id)

    def _on_strip_retake_requested(self, page_id: str) -> None:
        self.retake(page_id)

    def retake(self, page_id: str) -> None:
        """The next page taken (or imported) replaces PAGE_ID at its place."""
        self._retake = page_id
        self.strip.select(page_id)
        self.messages.show_message(
            self.tr("重拍：放好该页后按空格拍摄，新页面将替换所选页面。"), "info", timeout_ms=6000
        )

    # ------------------------------------------------------------------ scanner folder

    def _on_hot_check_toggled(self, on: bool) -> None:
        hot = self.devices.hot_folder
        if hot is None:
            return
        if not on:
            self.hot_timer.stop()
            return

        def prime() -> None:
            # Files already in the folder may belong to another applicant: only new ones count.
            for _ in range(hot.stable_polls):
                hot.poll()

        def primed(_r: Any) -> None:
            if self.hot_check.isChecked():
                self.hot_timer.start()
                self.status_label.setText(
                    self.tr("正在监视扫描文件夹：新扫描的文件将导入当前材料。")
                )

        self.session.runner.run_pool(prime, primed, self._on_task_failed, guard=self)

    def poll_hot_folder(self) -> None:
        hot = self.devices.hot_folder
        if hot is None or self._hot_polling:
            return
        self._hot_polling = True

        def found(paths: list[Path]) -> None:
            self._hot_polling = False
            if paths:
                self.import_files(paths, source="scan")

        def failed(err: TaskError) -> None:
            self._hot_polling = False
            self._on_task_failed(err)

        self.session.runner.run_pool(hot.poll, found, failed, guard=self)

    # ------------------------------------------------------------------ codes

    def _offer_codes(self, codes: Sequence[Any]) -> None:
        """Receipt → offer to open it; licence → offer its USCC; anything else is shown as read.
        The most useful offer is shown last (the bar holds one message)."""
        rank = {"receipt": 3, "licence": 2, "licence_opaque": 1}
        fresh = []
        for code in codes:
            key = (code.symbology, code.payload)
            if key in self._codes_seen:
                continue
            self._codes_seen.add(key)
            fresh.append(code)
        for code in sorted(fresh, key=lambda c: rank.get(c.kind, 0)):
            meaning = code.meaning
            if meaning.kind == "receipt" and meaning.intake_number:
                if meaning.intake_number == self.number:
                    continue  # this intake's own receipt
                number = meaning.intake_number
                self.messages.show_message(
                    self.tr("识别到受理回执 {number}。").format(number=number),
                    "info",
                    action=(self.tr("打开该受理记录"), partial(self._open_intake, number)),
                )
            elif meaning.kind == "licence" and meaning.uscc:
                uscc = meaning.uscc
                if self.applicant_editable:
                    self.messages.show_message(
                        self.tr("识别到营业执照二维码：统一社会信用代码 {uscc}。").format(
                            uscc=uscc
                        ),
                        "info",
                        action=(self.tr("填入申请人"), partial(self.uscc_accepted.emit, uscc)),
                    )
                else:
                    self.messages.show_message(
                        self.tr("营业执照二维码：统一社会信用代码 {uscc}").format(uscc=uscc), "info"
                    )
            elif meaning.kind == "licence_opaque":
                self.messages.show_message(
                    self.tr(
                        "营业执照二维码未含可读的统一社会信用代码，请手工录入。二维码内容：{payload}"
                    ).format(payload=meaning.display),
                    "warning",
                )
            else:
                self.messages.show_message(
                    self.tr("识别到条码（{kind}）：{payload}").format(
                        kind=meaning.label, payload=meaning.display
                    ),
                    "info",
                )

    def _open_intake(self, number: str) -> None:
        if self.busy:
            self.messages.show_message(self.tr("正在处理页面，请稍候再打开。"), "warning")
            return
        self.close_now()
        self.intake_requested.emit(number)

    # ------------------------------------------------------------------ ID card OCR

    def read_id_card(self) -> None:
        """OCR the ID card under the camera (or, with no camera, from a photo file)."""
        if not self.ocr_button.isEnabled() or self._ocr_running:
            return
        shown = self.feed.latest if self.feed.running else None
        if shown is None:
            dialog = file_dialog(self, self.tr("选择身份证照片"), name_filter=self._file_filter())
            self.file_dialog = dialog
            dialog.fileSelected.connect(self.read_id_card_file)
            dialog.open()
            return
        frame = shown.frame
        self._run_ocr(lambda: frame)

    def read_id_card_file(self, path: str) -> None:
        def first_page() -> Any:
            from app.capture.imports import iter_pages

            return next(iter(iter_pages(path)))

        self._run_ocr(first_page)

    def _run_ocr(self, image: Callable[[], Any]) -> None:
        engine = self.devices.ocr_engine
        self._ocr_running = True
        self.status_label.setText(self.tr("正在识别身份证……"))

        def work() -> Any:
            from app.capture.ocr import read_id_card

            return read_id_card(image(), engine)

        def failed(err: TaskError) -> None:
            self._ocr_running = False
            self._on_task_failed(err)

        self.session.runner.run_pool(work, self._on_ocr_done, failed, guard=self)

    def _on_ocr_done(self, reading: Any) -> None:
        self._ocr_running = False
        if reading.empty:
            self.messages.show_message(
                self.tr("未能从照片中识别出身份证信息，请将身份证正面放平后重试，或手工录入。"),
                "warning",
            )
            for note in reading.notes:
                self.messages.show_message(note, "warning")
            return
        self.id_card_read.emit(reading)
        notes = "".join(reading.notes)
        self.messages.show_message(
            self.tr("已识别身份证并填入申请人，标为“待核对”，请逐项与证件核对。{notes}").format(
                notes=notes
            ),
            "warning" if reading.notes else "success",
        )
        self.status_label.setText(self.tr("身份证识别完成。"))
