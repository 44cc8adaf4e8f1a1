"""Online-channel test material: the platform's token, documents made by libraries the hub does
not use to write them (reportlab, Pillow), and an application body as the platform sends it."""

from __future__ import annotations

import base64
import io
from typing import Any

PLATFORM_TOKEN = "platform-test-token-0123456789abcdef"
COUNTY = "410721"


def pdf_bytes(text: str = "birth certificate") -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    return buf.getvalue()


def jpeg_bytes(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def application(ref: str, files: list[tuple[str, str, bytes]] | None = None, **over: Any) -> dict:
    """A 新生儿出生 application; FILES: (material id, file name, bytes)."""
    body = {
        "platform_ref": ref,
        "county": COUNTY,
        "bundle": "newborn_birth",
        "items": None,
        "answers": {
            "parents_married": True,
            "applied_by_agent": False,
            "parents_local_insured": True,
        },
        "applicant": {
            "name": "李小明",
            "resident_id": "11010519491231002X",
            "phone": "13812345678",
            "address": "人民路1号",
        },
        "files": [
            {"material_id": m, "name": n, "data": b64(d)}
            for m, n, d in (files if files is not None else [])
        ],
    }
    body.update(over)
    return body
