"""The card photo: a 1024-byte WLT image only the vendor's decoder library can read.

`load_photo_decoder(path)` loads the configured decoder (`libwlt.so` / `WltRS.dll`, setting
`devices/wlt_lib`); readers call `with_photo` in their own thread so the window gets the card with
its photo decoded (`IdCardData.photo`, top-down BGR pixels). The photo is personal data: it is
never logged, never stored and never printed; the applicant panel shows it and drops it with the
applicant.
"""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from app.capture.cardtypes import (
    PHOTO_HEIGHT,
    PHOTO_LENGTH,
    PHOTO_WIDTH,
    DecodedPhoto,
    IdCardData,
)
from app.errors import DeviceError

log = logging.getLogger("intake.capture.idcard")


def device_error(code: str, **details: Any) -> DeviceError:
    return DeviceError(code, **details)


@runtime_checkable
class PhotoDecoder(Protocol):
    def decode(self, wlt: bytes) -> DecodedPhoto: ...


class CtypesWltDecoder:
    """Calls a vendor WLT library: `int fn(char *wlt, char *out, int flag)`, 1 on success.

    That is the shape of the common `libwlt.so` `unpack` export (out = 102×126×3 bytes).
    Vendors differ: the function name and flag are configurable, and the result must be checked
    against the vendor's documentation before use.
    """

    def __init__(self, library_path: str, function: str = "unpack", flag: int = 0) -> None:
        try:
            lib = ctypes.CDLL(library_path)
            self._fn = getattr(lib, function)
        except (OSError, AttributeError):
            raise device_error("idcard.photo_decoder", path=library_path) from None
        self._fn.restype = ctypes.c_int
        self._flag = flag

    def decode(self, wlt: bytes) -> DecodedPhoto:
        if len(wlt) != PHOTO_LENGTH:
            raise device_error("idcard.photo_decode_failed")
        src = ctypes.create_string_buffer(wlt, PHOTO_LENGTH)
        out = ctypes.create_string_buffer(PHOTO_WIDTH * PHOTO_HEIGHT * 3)
        if self._fn(src, out, ctypes.c_int(self._flag)) != 1:
            raise device_error("idcard.photo_decode_failed")
        return DecodedPhoto(PHOTO_WIDTH, PHOTO_HEIGHT, out.raw)


def with_photo(card: IdCardData, decoder: PhotoDecoder | None) -> IdCardData:
    """CARD with its WLT photo decoded, when a decoder is configured and the photo decodes.

    A failed decode is not a failed read: the clerk still gets the fields and compares the face
    with the printed card (photo_message says why there is no photo).
    """
    if decoder is None or len(card.photo_wlt) != PHOTO_LENGTH:
        return card
    try:
        photo = decoder.decode(card.photo_wlt)
    except DeviceError as exc:
        log.warning("idcard photo not decoded: %s", exc.code)
        return replace(card, photo_error=exc.message)
    return replace(card, photo=photo, photo_available=True)


def load_photo_decoder(
    library_path: str | os.PathLike[str] | None, function: str = "unpack"
) -> PhotoDecoder | None:
    """The vendor decoder when a path is configured, else None (photo not shown)."""
    if not library_path:
        return None
    return CtypesWltDecoder(os.fspath(library_path), function)
