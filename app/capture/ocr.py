"""Optional OCR of a photographed second-generation ID card (front side), offline.

Only when `rapidocr` (3.x, with `onnxruntime`) is installed; `ocr_available()` says so without
importing it. The engine returns text boxes; `parse_id_card` turns them into the card's fields
(name, ID number, address, birth date, gender), each meant to be confirmed by the clerk: they
come from a photo, not from the card's chip. An ID number is filled only when it passes
GB 11643 (`check_resident_id`); a number that does not is reported, never filled.

No Qt here. Nothing read off a card is logged (names and numbers are personal data).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.errors import CaptureError
from app.validators import check_resident_id

log = logging.getLogger("intake.capture.ocr")

ID_FIELDS = ("name", "resident_id", "gender", "birth_date", "address")

Box = tuple[tuple[float, float], ...]  # the text box's corners, image pixels (any order)


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: Box = ()  # empty: the lines are already in reading order
    score: float = 1.0


class OcrEngine(Protocol):
    def __call__(self, image: Any) -> list[OcrLine]: ...


@dataclass(frozen=True)
class IdCardReading:
    """Fields read from a card photo; every one has source "ocr" and needs the clerk's check."""

    name: str = ""
    resident_id: str = ""
    gender: str = ""  # 男 / 女 / ""
    birth_date: dt.date | None = None
    address: str = ""
    rejected_id: str = ""  # an 18-character number that did not pass GB 11643 (not filled)
    rejected_reason: str = ""  # check_resident_id's Chinese message for it
    notes: tuple[str, ...] = field(default_factory=tuple)  # Chinese, for the clerk

    @property
    def fields(self) -> dict[str, str]:
        """Filled fields as text (birth date ISO), in panel order."""
        values = {
            "name": self.name,
            "resident_id": self.resident_id,
            "gender": self.gender,
            "birth_date": self.birth_date.isoformat() if self.birth_date else "",
            "address": self.address,
        }
        return {k: v for k, v in values.items() if v}

    @property
    def sources(self) -> dict[str, str]:
        return {k: "ocr" for k in self.fields}

    @property
    def empty(self) -> bool:
        return not self.fields


# ---------------------------------------------------------------------------------------------
# engine


def ocr_available() -> bool:
    """True when rapidocr and onnxruntime can be imported (checked without importing them)."""
    try:
        return (
            importlib.util.find_spec("rapidocr") is not None
            and importlib.util.find_spec("onnxruntime") is not None
        )
    except (ImportError, ValueError):
        return False


class RapidOcrEngine:
    """rapidocr 3.x with its bundled default models (no download at run time). The model loads
    on first use (~2 s) and is kept; calls are serialised (one session, shared)."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError:
                raise CaptureError("ocr.unavailable") from None
            try:
                self._engine = RapidOCR()
            except Exception as exc:
                log.warning("ocr engine failed to load: %s", type(exc).__name__)
                raise CaptureError("ocr.unavailable", variant=2) from None
        return self._engine

    def __call__(self, image: Any) -> list[OcrLine]:
        with self._lock:
            engine = self._load()
            try:
                result = engine(image)
            except Exception as exc:
                log.warning("ocr failed: %s", type(exc).__name__)
                raise CaptureError("ocr.failed") from None
        texts = getattr(result, "txts", None) or ()
        boxes = getattr(result, "boxes", None)
        scores = getattr(result, "scores", None) or ()
        lines = []
        for n, text in enumerate(texts):
            box: Box = ()
            if boxes is not None and n < len(boxes):
                box = tuple((float(x), float(y)) for x, y in boxes[n])
            score = float(scores[n]) if n < len(scores) else 1.0
            lines.append(OcrLine(str(text), box, score))
        return lines


_default_engine: RapidOcrEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> RapidOcrEngine:
    global _default_engine
    with _default_lock:
        if _default_engine is None:
            _default_engine = RapidOcrEngine()
        return _default_engine


def read_id_card(image: Any, engine: OcrEngine | None = None) -> IdCardReading:
    """OCR a photo (BGR array) of an ID card's front and parse it into fields."""
    from app.capture.page_image import check_image

    img = check_image(image)
    lines = (engine or default_engine())(img)
    reading = parse_id_card(lines)
    log.info("id card ocr: %d line(s), fields %s", len(lines), sorted(reading.fields))
    return reading


# ---------------------------------------------------------------------------------------------
# parsing


_LABELS = ("公民身份号码", "姓名", "性别", "民族", "出生", "住址")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９ＸｘＯｏＩｌ｜", "0123456789XxOoIl|")
# Characters OCR confuses with digits inside a number (letter O for zero and the like).
_DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "I": "1",
        "l": "1",
        "|": "1",
        "Z": "2",
        "S": "5",
        "B": "8",
        "x": "X",
    }
)
_ID_CANDIDATE = re.compile(r"[0-9OoDIl|ZSBXx]{15,18}")
_DATE = re.compile(r"(\d{4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})")
_NOISE = re.compile(r"[\s:：,，、]")  # keeps "·" (买买提·艾力)


def _clean(text: str) -> str:
    return _NOISE.sub("", text.translate(_FULL_WIDTH))


def _rows(lines: Sequence[OcrLine]) -> list[str]:
    """Group boxes into text rows (top to bottom, left to right within a row); lines without
    boxes are taken as rows in the order given."""
    if not lines or any(not line.box for line in lines):
        return [_clean(line.text) for line in lines if _clean(line.text)]
    items = []
    for line in lines:
        ys = [p[1] for p in line.box]
        xs = [p[0] for p in line.box]
        items.append((min(ys), max(ys), min(xs), _clean(line.text)))
    items.sort(key=lambda i: (i[0] + i[1]) / 2)
    rows: list[list[tuple[float, float, float, str]]] = []
    for item in items:
        top, bottom = item[0], item[1]
        centre = (top + bottom) / 2
        if rows:
            last = rows[-1]
            r_top = min(i[0] for i in last)
            r_bottom = max(i[1] for i in last)
            if r_top <= centre <= r_bottom:  # same row: the box's middle lies inside the row
                last.append(item)
                continue
        rows.append([item])
    return ["".join(i[3] for i in sorted(row, key=lambda i: i[2])) for row in rows if row]


def _starts_with_label(row: str) -> str | None:
    for label in _LABELS:
        if row.startswith(label):
            return label
    return None


def _after(row: str, label: str) -> str:
    return row[row.find(label) + len(label) :]


def _find_id(rows: Iterable[str]) -> tuple[str, str, str]:
    """(valid number, rejected number, reason): the first candidate that passes GB 11643."""
    rejected, reason = "", ""
    for row in rows:
        for m in _ID_CANDIDATE.finditer(row):
            raw = m.group(0)
            if len(raw) != 18:
                continue
            candidate = raw.translate(_DIGIT_LOOKALIKES).upper()
            check = check_resident_id(candidate)
            if check.valid and check.normalized:
                return check.normalized, "", ""
            if not rejected:
                rejected, reason = candidate, check.message or ""
    return "", rejected, reason


def parse_id_card(lines: Sequence[OcrLine] | Sequence[str]) -> IdCardReading:
    """Fields from the OCR lines of an ID card's front.

    Tolerates a label and its value in one box ("姓名张秀英") or two ("姓名", "张秀英"), the
    address over several rows, and 民族 sharing a row with 性别.
    """
    items = [OcrLine(line) if isinstance(line, str) else line for line in lines]
    rows = _rows(items)
    name = gender = address = ""
    birth: dt.date | None = None
    notes: list[str] = []
    resident_id, rejected, reason = _find_id(rows)
    for n, row in enumerate(rows):
        label = _starts_with_label(row)
        if label == "姓名" and not name:
            rest = _after(row, "姓名")
            if not rest and n + 1 < len(rows) and not _starts_with_label(rows[n + 1]):
                rest = rows[n + 1]
            name = rest[:20]
        if "性别" in row and not gender:
            rest = _after(row, "性别")
            if not rest and n + 1 < len(rows):
                rest = rows[n + 1]
            if rest[:1] in ("男", "女"):
                gender = rest[:1]
        if "出生" in row and birth is None:
            rest = _after(row, "出生")
            if not _DATE.search(rest) and n + 1 < len(rows):
                rest = rows[n + 1]
            m = _DATE.search(rest)
            if m:
                try:
                    birth = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    birth = None
        if label == "住址" and not address:
            parts = [_after(row, "住址")]
            for following in rows[n + 1 :]:
                if _starts_with_label(following) or _ID_CANDIDATE.search(following):
                    break
                parts.append(following)
            address = "".join(parts)
    if resident_id:
        check = check_resident_id(resident_id)
        id_gender = {"male": "男", "female": "女"}.get(check.gender or "", "")
        if check.birth_date and birth and birth != check.birth_date:
            notes.append("照片上的出生日期与身份证号码不一致，已按号码填写，请核对。")
            birth = check.birth_date
        if id_gender and gender and gender != id_gender:
            notes.append("照片上的性别与身份证号码不一致，已按号码填写，请核对。")
            gender = id_gender
        birth = birth or check.birth_date
        gender = gender or id_gender
    elif rejected:
        notes.append(f"识别到的身份证号码未通过校验，未填入：{reason}")
    return IdCardReading(
        name=name,
        resident_id=resident_id,
        gender=gender,
        birth_date=birth,
        address=address,
        rejected_id=rejected,
        rejected_reason=reason,
        notes=tuple(notes),
    )


__all__ = [
    "ID_FIELDS",
    "IdCardReading",
    "OcrEngine",
    "OcrLine",
    "RapidOcrEngine",
    "default_engine",
    "ocr_available",
    "parse_id_card",
    "read_id_card",
]
