"""ID card readers used through the vendor's library (ctypes), behind `IdCardReader`.

Most counter readers are USB devices driven by the vendor's SDK rather than the raw GA 467
serial protocol. Two API families cover the common models:

- "sdt" (`sdtapi.dll` / `libsdtapi.so`; 神思 SS628, 精伦 iDR210, 新中新 and other readers
  shipped with the 公安部-style SDT interface): `SDT_OpenPort(port)`, `SDT_StartFindIDCard`,
  `SDT_SelectIDCard`, `SDT_ReadBaseMsg` returning the same 256-byte text block and 1024-byte
  WLT photo as GA 467 (so `parse_card_block` reads it), status 0x90 on success;
- "cvr" (`termb.dll` / `libtermb.so`; 华视 CVR-100 series): `CVR_InitComm(port)`,
  `CVR_Authenticate()`, `CVR_Read_Content(4)` (or `CVR_Read_FPContent()` for foreigners' cards)
  and per-field getters `GetPeopleName(char*, int*)` …, 1 on success; text in GB 18030.

Every vendor call runs on one worker thread (the libraries are not thread-safe) and is bounded
by `timeout`: a reader that hangs inside the library gives `idcard.timeout`, not a frozen window.
Nothing personal is logged, only entry points and status codes.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import logging
import os
import struct
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Self

from app.capture.cardtypes import (
    ETHNICITIES,
    PHOTO_LENGTH,
    RESIDENT,
    TYPE_MARKERS,
    DecodedPhoto,
    IdCardData,
    bad_text,
    card_from_fields,
    parse_card_block,
)
from app.capture.idcard import device_error
from app.capture.photo import PhotoDecoder, load_photo_decoder, with_photo
from app.errors import DeviceError

log = logging.getLogger("intake.capture.idcard")

FAMILIES = ("sdt", "cvr")
FAMILY_NAMES = {"sdt": "SDT 接口（sdtapi）", "cvr": "CVR 接口（termb）"}
DEFAULT_PORT = 1001  # the first USB port in both families (1-16 are serial ports COM1-COM16)


def sdk_error(code: str, **details: Any) -> DeviceError:
    return DeviceError(code, **details)


def _load(path: str) -> Any:
    loader = ctypes.WinDLL if os.name == "nt" else ctypes.CDLL  # type: ignore[attr-defined]
    return loader(path)


class _VendorReader:
    """What both families share: the library, the worker thread, the bounded calls."""

    family = ""
    supports_polling = True  # both families have a cheap "is a card there" call

    def __init__(
        self,
        library_path: str | os.PathLike[str],
        port: int = DEFAULT_PORT,
        *,
        timeout: float = 3.0,
        poll_interval: float = 0.1,
        photo_decoder: PhotoDecoder | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.library_path = os.fspath(library_path)
        self.port = port
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.photo_decoder = photo_decoder
        self._clock = clock
        self._sleep = sleep
        self._lib: Any = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._opened = False
        self._card_found = False

    # -- library

    def _symbol(self, name: str, *, optional: bool = False) -> Any:
        if self._lib is None:
            try:
                self._lib = _load(self.library_path)
            except OSError:
                log.warning("idcard sdk library not loadable (%s)", self.family)
                raise sdk_error("idcard.sdk_library", path=self.library_path, symbol="") from None
        try:
            fn = getattr(self._lib, name)
        except AttributeError:
            if optional:
                return None
            log.warning("idcard sdk library lacks %s", name)
            raise sdk_error("idcard.sdk_library", path=self.library_path, symbol=name) from None
        fn.restype = ctypes.c_int
        return fn

    def _call(self, name: str, *args: Any, optional: bool = False) -> int | None:
        """Call NAME on the worker thread; None when an optional entry point is missing."""
        fn = self._symbol(name, optional=optional)
        if fn is None:
            return None
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, "idcard-sdk")
        future = self._pool.submit(fn, *args)
        try:
            rc = int(future.result(timeout=self.timeout))
        except concurrent.futures.TimeoutError:
            log.warning("idcard sdk %s did not return within %.1f s", name, self.timeout)
            self._abandon()
            raise device_error("idcard.timeout") from None
        log.debug("idcard sdk %s -> %#x", name, rc)
        return rc

    def _abandon(self) -> None:
        """A call hangs inside the library: leave its thread and start over on the next open."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._opened = False
        self._card_found = False

    # -- IdCardReader

    @property
    def is_open(self) -> bool:
        return self._opened

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        if self._opened:
            return
        self._open()
        self._opened = True
        log.info("idcard sdk reader opened (%s)", self.family)

    def close(self) -> None:
        opened, self._opened = self._opened, False
        self._card_found = False
        if opened:
            try:
                self._close()
            except DeviceError as exc:  # closing a vanished reader: nothing left to release
                log.warning("idcard sdk close: %s", exc.code)
            log.info("idcard sdk reader closed")
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def wait_for_card(self, timeout: float) -> bool:
        """Ask for a card until one is there (True) or TIMEOUT seconds pass (False)."""
        self._require_open()
        deadline = self._clock() + max(timeout, 0.0)
        self._card_found = False
        while True:
            if self._find():
                self._card_found = True
                return True
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            self._sleep(min(self.poll_interval, remaining))

    def read(self) -> IdCardData:
        self._require_open()
        found, self._card_found = self._card_found, False
        if not found and not self._find():
            raise device_error("idcard.no_card")
        card = self._read()
        log.info("idcard read ok (%s)", self.family)
        return card

    def _require_open(self) -> None:
        if not self._opened:
            raise device_error("idcard.not_open")

    # -- per family

    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _find(self) -> bool:
        raise NotImplementedError

    def _read(self) -> IdCardData:
        raise NotImplementedError


# ------------------------------------------------------------------------------------------
# SDT family

SDT_OK = 0x90
SDT_FOUND = 0x9F
SDT_NO_CARD = 0x80
# Status codes documented by the SDT interface → this product's error codes.
_SDT_ERRORS = {
    0x01: "idcard.port_unavailable",  # port cannot be opened / not open / bad port number
    0x02: "idcard.timeout",  # the reader did not answer
    0x03: "idcard.garbage",  # data transmission error
    0x05: "idcard.port_unavailable",  # the SAM port is not available
    0x10: "idcard.checksum",
    0x11: "idcard.checksum",
    0x21: "idcard.bad_command",
    0x31: "idcard.removed",  # card authentication failed
    0x32: "idcard.removed",
    0x33: "idcard.removed",
    0x41: "idcard.removed",  # reading the card failed
    0x81: "idcard.removed",  # selecting the card failed
    0x60: "idcard.sam_failed",
    0x66: "idcard.sam_failed",
}


class SdtReader(_VendorReader):
    """SDT_* API: the same text block and WLT photo as GA 467, through the vendor library."""

    family = "sdt"

    def _status(self, rc: int) -> DeviceError:
        code = _SDT_ERRORS.get(rc)
        if code == "idcard.port_unavailable":
            return device_error(code, port=str(self.port))
        return device_error(code) if code else device_error("idcard.status", sw3=rc)

    def _open(self) -> None:
        rc = self._call("SDT_OpenPort", ctypes.c_int(self.port))
        if rc != SDT_OK:
            raise device_error("idcard.port_unavailable", port=str(self.port))

    def _close(self) -> None:
        self._call("SDT_ClosePort", ctypes.c_int(self.port))

    def _find(self) -> bool:
        mana = ctypes.create_string_buffer(8)
        rc = self._call("SDT_StartFindIDCard", ctypes.c_int(self.port), mana, ctypes.c_int(0))
        if rc == SDT_FOUND:
            return True
        if rc == SDT_NO_CARD:
            return False
        raise self._status(int(rc or 0))

    def _read(self) -> IdCardData:
        port = ctypes.c_int(self.port)
        mana = ctypes.create_string_buffer(8)
        rc = self._call("SDT_SelectIDCard", port, mana, ctypes.c_int(0))
        if rc != SDT_OK:
            raise self._status(int(rc or 0))
        text = ctypes.create_string_buffer(256)
        photo = ctypes.create_string_buffer(PHOTO_LENGTH)
        text_len = ctypes.c_uint(0)
        photo_len = ctypes.c_uint(0)
        rc = self._call(
            "SDT_ReadBaseMsg",
            port, text, ctypes.byref(text_len), photo, ctypes.byref(photo_len), ctypes.c_int(0),
        )  # fmt: skip
        if rc != SDT_OK:
            raise self._status(int(rc or 0))
        if text_len.value > 256 or photo_len.value > PHOTO_LENGTH:
            raise device_error("idcard.garbage")
        card = parse_card_block(text.raw[: text_len.value], photo.raw[: photo_len.value])
        return with_photo(card, self.photo_decoder)


# ------------------------------------------------------------------------------------------
# CVR family

_GENDER_CODES = {"男": "1", "女": "2", "未知": "0", "未说明": "9", "M": "1", "F": "2"}
_ETHNICITY_CODES = {label: code for code, label in ETHNICITIES.items()}
# GetXxx getter → field of `card_from_fields`. The last group exists only in SDK versions that
# read 港澳台居民居住证 / foreigners' cards; a library without them reads resident cards.
_CVR_GETTERS = (
    ("GetPeopleName", "name"),
    ("GetPeopleSex", "gender"),
    ("GetPeopleNation", "ethnicity"),
    ("GetPeopleBirthday", "birth_date"),
    ("GetPeopleAddress", "address"),
    ("GetPeopleIDCode", "resident_id"),
    ("GetDepartment", "issuer"),
    ("GetStartDate", "valid_from"),
    ("GetEndDate", "valid_to"),
)
_CVR_OPTIONAL = (
    ("GetNationCode", "nation_code"),
    ("GetPeopleChineseName", "name_cn"),
    ("GetPassCheckID", "pass_number"),
    ("GetIssuesNum", "issue_count"),
    ("GetPeopleCertVersion", "card_version"),
)
_BMP_MAX = 40960


class CvrReader(_VendorReader):
    """CVR_* API with per-field getters; the SDK decodes the photo itself (GetBMPData)."""

    family = "cvr"

    def __init__(self, *args: Any, encoding: str = "gb18030", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.encoding = encoding

    def _open(self) -> None:
        rc = self._call("CVR_InitComm", ctypes.c_int(self.port))
        if rc != 1:
            raise device_error("idcard.port_unavailable", port=str(self.port))

    def _close(self) -> None:
        self._call("CVR_CloseComm")

    def _find(self) -> bool:
        rc = self._call("CVR_Authenticate")
        if rc == 1:
            return True
        if rc in (2, 3):  # 2: no card found, 3: selecting failed (card not settled yet)
            return False
        raise device_error("idcard.status", sw3=int(rc or 0))

    def _read(self) -> IdCardData:
        rc = self._call("CVR_Read_FPContent", optional=True)
        if rc is None:
            rc = self._call("CVR_Read_Content", ctypes.c_int(4))
        if rc != 1:
            raise device_error("idcard.removed", sw3=int(rc or 0))
        cert = self._text("GetCertType", optional=True) or ""
        card_type = TYPE_MARKERS.get(cert.strip().upper()[:1], RESIDENT)
        raw = {f: self._text(g) or "" for g, f in _CVR_GETTERS}
        raw.update({f: self._text(g, optional=True) or "" for g, f in _CVR_OPTIONAL})
        card = card_from_fields(card_type, _cvr_fields(card_type, raw))
        photo = self._bmp_photo()
        if photo is not None:
            return replace(card, photo=photo, photo_available=True)
        return card

    def _text(self, getter: str, *, optional: bool = False) -> str | None:
        buf = ctypes.create_string_buffer(256)
        length = ctypes.c_int(256)
        rc = self._call(getter, buf, ctypes.byref(length), optional=optional)
        if rc is None or rc != 1:
            return None
        data = buf.raw[: max(0, min(length.value, 256))].split(b"\x00", 1)[0]
        try:
            return data.decode(self.encoding).strip()
        except UnicodeDecodeError:
            raise bad_text(getter, "undecodable") from None

    def _bmp_photo(self) -> DecodedPhoto | None:
        buf = ctypes.create_string_buffer(_BMP_MAX)
        length = ctypes.c_int(_BMP_MAX)
        rc = self._call("GetBMPData", buf, ctypes.byref(length), optional=True)
        if rc != 1:
            return None
        try:
            return decode_bmp(buf.raw[: max(0, min(length.value, _BMP_MAX))])
        except ValueError:
            log.warning("idcard sdk photo is not a 24-bit BMP")
            return None


def _cvr_fields(card_type: str, raw: dict[str, str]) -> dict[str, str]:
    """Getter texts → the text-block field values (codes, not labels)."""
    f = dict(raw)
    f["gender"] = _GENDER_CODES.get(raw["gender"], raw["gender"])
    if card_type == RESIDENT:
        f["ethnicity"] = raw["nation_code"] or _ETHNICITY_CODES.get(
            raw["ethnicity"].removesuffix("族"), raw["ethnicity"]
        )
    else:
        f["ethnicity"] = ""
    if card_type in ("foreign_2017", "foreign_2023"):
        # GetPeopleName gives the English name on a foreigner's card, the Chinese one apart.
        f["name_en"], f["name"] = raw["name"], raw["name_cn"]
        f["nationality_code"] = raw["nation_code"] or raw["ethnicity"]
    return f


def decode_bmp(data: bytes) -> DecodedPhoto:
    """An uncompressed 24-bit BMP → top-down BGR pixels; anything else raises ValueError."""
    if len(data) < 54 or data[:2] != b"BM":
        raise ValueError("not a BMP")
    offset = struct.unpack_from("<I", data, 10)[0]
    width, height = struct.unpack_from("<ii", data, 18)
    bits, compression = struct.unpack_from("<HI", data, 28)
    if bits != 24 or compression != 0 or width <= 0 or height == 0:
        raise ValueError("not an uncompressed 24-bit BMP")
    stride = (width * 3 + 3) & ~3
    rows = abs(height)
    if offset + stride * rows > len(data):
        raise ValueError("BMP truncated")
    lines = [data[offset + r * stride : offset + r * stride + width * 3] for r in range(rows)]
    if height > 0:  # stored bottom up
        lines.reverse()
    return DecodedPhoto(width, rows, b"".join(lines))


# ------------------------------------------------------------------------------------------


def make_sdk_reader(
    family: str,
    library_path: str | os.PathLike[str],
    port: int = DEFAULT_PORT,
    *,
    wlt_library: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> SdtReader | CvrReader:
    """The reader for FAMILY ("sdt" or "cvr"); WLT_LIBRARY decodes the SDT family's photos."""
    decoder = load_photo_decoder(wlt_library)
    if family == "sdt":
        return SdtReader(library_path, port, photo_decoder=decoder, **kwargs)
    if family == "cvr":
        return CvrReader(library_path, port, photo_decoder=decoder, **kwargs)
    raise sdk_error("idcard.sdk_family", family=family)


def configured_reader(
    *,
    port: str | None = None,
    sdk_family: str | None = None,
    sdk_lib: str | None = None,
    sdk_port: int = DEFAULT_PORT,
    wlt_lib: str | None = None,
) -> Any:
    """The station's reader from its settings: a vendor SDK reader when a family and library
    are set, else a GA 467 reader on PORT, else None (manual entry). Nothing is opened here; a
    missing library is reported by the reader's first poll (the status bar names it). A photo
    decoder that does not load leaves the reader without photos rather than without a reader."""
    from app.capture.idcard import Ga467Reader

    try:
        decoder = load_photo_decoder(wlt_lib)
    except DeviceError as exc:
        log.warning("idcard photo decoder not loaded: %s", exc.code)
        decoder = None
    if sdk_family and sdk_lib:
        if sdk_family == "sdt":
            return SdtReader(sdk_lib, sdk_port, photo_decoder=decoder)
        if sdk_family == "cvr":
            return CvrReader(sdk_lib, sdk_port, photo_decoder=decoder)
        log.warning("idcard sdk family not supported")
        return None
    if port:
        return Ga467Reader(port, photo_decoder=decoder)
    return None
