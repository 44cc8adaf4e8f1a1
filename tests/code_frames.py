"""1080p camera frames holding one barcode each, clean, damaged, skewed and rotated: the shared
corpus of tests/unit/test_code_decoders.py and bench/bench_capture.py.

Every frame carries a payload written here by hand and encoded by reportlab's encoders (not by
the decoders under test); a frame "decodes" when the decoder returns exactly that payload.
Deterministic: the same frames on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tests import synthetic as syn

FRAME = (1920, 1080)

RECEIPT_NUMBER = "XX01-241202-0073-6"  # a valid intake number (check character included)
PAYLOADS = {
    "licence": syn.LICENCE_URL,
    "receipt": "YJS1|R|XX01-241202-0073-6|s=ab12",
    "chinese": "统一社会信用代码91350100M000100Y43 某某县市场监督管理局",
}


@dataclass(frozen=True)
class CodeFrame:
    category: str  # clean, damaged, skewed, rotated
    name: str
    frame: np.ndarray  # BGR, 1920×1080
    payload: str
    symbology: str  # QRCODE or CODE128


def _card(code: np.ndarray, margin: int = 40) -> np.ndarray:
    """The code printed on a white card (BGR), as a receipt or licence would carry it."""
    grey = np.pad(code, margin, constant_values=255)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def _place(
    card: np.ndarray, *, height: float, rotation: float = 0.0, tilt: float = 0.0, seed: int = 1
) -> np.ndarray:
    h, w = card.shape[:2]
    corners = syn.quad_in_frame(
        FRAME, fill=height, aspect=w / h, rotation_deg=rotation, tilt=tilt, shift=(0.1, 0.0)
    )
    return syn.place_page(card, corners, FRAME, syn.desk_background(FRAME, seed=seed))


def _occluded(code: np.ndarray, share: float) -> np.ndarray:
    """A thumb over the data area (away from the three finder patterns): a dark blot covering
    `share` of the symbol; level M error correction restores up to 15 % of the codewords."""
    out = code.copy()
    h, w = out.shape
    side = int(np.sqrt(share) * min(h, w))
    out[int(h * 0.55) : int(h * 0.55) + side, int(w * 0.55) : int(w * 0.55) + side] = 0
    return out


def code_frames() -> list[CodeFrame]:
    frames: list[CodeFrame] = []

    def qr(name: str, category: str, frame: np.ndarray, key: str) -> None:
        frames.append(CodeFrame(category, name, frame, PAYLOADS[key], "QRCODE"))

    qr_img = {k: syn.render_qr(v.encode("utf-8"), 4) for k, v in PAYLOADS.items()}
    bar = syn.render_code128(RECEIPT_NUMBER, 3)

    for key in PAYLOADS:
        qr(f"qr-{key}", "clean", _place(_card(qr_img[key]), height=0.35), key)
    frames.append(
        CodeFrame(
            "clean", "code128-receipt", _place(_card(bar), height=0.2), RECEIPT_NUMBER, "CODE128"
        )
    )

    licence = qr_img["licence"]
    qr("qr-occluded", "damaged", _place(_card(_occluded(licence, 0.06)), height=0.35), "licence")
    qr("qr-blurred", "damaged", syn.blurred(_place(_card(licence), height=0.35), 2.2), "licence")
    qr(
        "qr-blurred-hard",
        "damaged",
        syn.blurred(_place(_card(licence), height=0.35), 3.2),
        "licence",
    )
    noisy = syn.add_noise(syn.uneven_light(_place(_card(licence), height=0.3)), 10.0, seed=3)
    qr("qr-noisy-uneven", "damaged", noisy, "licence")
    frames.append(
        CodeFrame(
            "damaged",
            "code128-blurred",
            syn.blurred(_place(_card(bar), height=0.2), 1.6),
            RECEIPT_NUMBER,
            "CODE128",
        )
    )

    qr("qr-tilt-15", "skewed", _place(_card(licence), height=0.35, tilt=0.15), "licence")
    qr("qr-tilt-30", "skewed", _place(_card(licence), height=0.4, tilt=0.3), "licence")
    qr("qr-tilt-45", "skewed", _place(_card(licence), height=0.45, tilt=0.45), "licence")
    qr(
        "qr-tilt-rot",
        "skewed",
        _place(_card(licence), height=0.4, tilt=0.2, rotation=12),
        "licence",
    )

    for angle in (17, 45, 90, 160):
        qr(
            f"qr-rot-{angle}",
            "rotated",
            _place(_card(licence), height=0.35, rotation=angle),
            "licence",
        )
    frames.append(
        CodeFrame(
            "rotated",
            "code128-rot-90",
            _place(_card(bar), height=0.2, rotation=90),
            RECEIPT_NUMBER,
            "CODE128",
        )
    )
    return frames
