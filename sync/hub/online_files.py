"""Uploaded files of online applications, checked by content: a PDF that opens with at least one
page, or a JPEG / PNG image that decodes. Anything else is refused before anything is stored."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import warnings

# Imported here, not when a file arrives: a hub missing them must not start (rather than refuse
# every upload as damaged). Both are in the hub extra.
from PIL import Image
from pypdf import PdfReader

from sync.hub.errors import HubError

log = logging.getLogger("intake.hub.online")

# A damaged upload makes pypdf log warnings as it repairs: it is refused or accepted here, and the
# platform hears why; the hub's log is no place for the parser's notes.
logging.getLogger("pypdf").setLevel(logging.ERROR)
MAX_PIXELS = 60_000_000  # a 600-dpi A3 scan is ~70 % of this
MIMES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


def decode_base64(data: str, name: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HubError(
            422, "online.file_encoding", f"文件“{name}”不是有效的 base64 编码", file=name
        ) from exc


def kind_of(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def check_file(data: bytes, name: str) -> str:
    """The MIME type of DATA; HubError 422 when it is not a document that opens."""
    kind = kind_of(data)
    if kind is None:
        raise HubError(
            422,
            "online.file_type",
            f"文件“{name}”不是 PDF、JPEG 或 PNG 格式的材料，未予接收",
            file=name,
        )
    if not _opens(kind, data):
        raise HubError(
            422, "online.file_damaged", f"文件“{name}”已损坏，无法打开，未予接收", file=name
        )
    return MIMES[kind]


def _opens(kind: str, data: bytes) -> bool:
    try:
        if kind == "pdf":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader = PdfReader(io.BytesIO(data), strict=False)
                return len(reader.pages) > 0 and reader.pages[0].mediabox.width > 0
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:  # a small file claiming a vast image
                return False
            img.load()  # the whole image decodes, not only its header
            return img.width > 0 and img.height > 0
    except Exception as exc:  # every library error means: does not open
        log.info("uploaded %s does not open: %s", kind, exc.__class__.__name__)
        return False
