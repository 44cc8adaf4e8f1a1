"""zxing-cpp as the primary barcode decoder, zbar (pyzbar) as the fallback, on the frame corpus of
tests/code_frames.py (1080p: clean, damaged, skewed, rotated; payloads written by hand)."""

from __future__ import annotations

import logging
import sys

import cv2
import numpy as np
import pytest

from app.capture.codes import decode_codes
from tests.code_frames import CodeFrame, code_frames

ZBAR_VARIANTS = {"fast", "original", "downscaled", "binarised"}


@pytest.fixture(scope="module")
def frames() -> list[CodeFrame]:
    return code_frames()


def _by_name(frames: list[CodeFrame], name: str) -> CodeFrame:
    return next(f for f in frames if f.name == name)


def test_every_corpus_frame_decodes_to_its_hand_written_payload(frames: list[CodeFrame]) -> None:
    misses = []
    for f in frames:
        got = [(c.payload, c.symbology) for c in decode_codes(f.frame)]
        if got != [(f.payload, f.symbology)]:
            misses.append((f.name, got))
    assert misses == []


def test_zxing_cpp_is_the_decoder_that_finds_the_codes(frames: list[CodeFrame]) -> None:
    for name in ("qr-licence", "qr-chinese", "code128-receipt", "qr-tilt-30", "qr-rot-45"):
        [code] = decode_codes(_by_name(frames, name).frame)
        assert code.variant == "zxing", name


def test_zxing_reads_an_occluded_qr_that_zbar_misses(frames: list[CodeFrame]) -> None:
    from pyzbar import pyzbar

    f = _by_name(frames, "qr-occluded")
    grey = cv2.cvtColor(f.frame, cv2.COLOR_BGR2GRAY)
    assert pyzbar.decode(grey) == []  # the independent reference decoder cannot read it
    [code] = decode_codes(f.frame)
    assert (code.payload, code.variant) == (f.payload, "zxing")


def test_clean_codes_agree_with_pyzbar_as_an_independent_reader(frames: list[CodeFrame]) -> None:
    from pyzbar import pyzbar

    for f in frames:
        if f.category != "clean":
            continue
        reference = [d.data.decode("utf-8") for d in pyzbar.decode(f.frame)]
        assert reference == [f.payload], f.name
        assert [c.payload for c in decode_codes(f.frame)] == reference, f.name


def test_without_zxing_cpp_zbar_decodes_the_same_codes(
    frames: list[CodeFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "zxingcpp", None)  # `import zxingcpp` now fails
    for name in ("qr-licence", "qr-chinese", "code128-receipt", "qr-tilt-30", "qr-rot-45"):
        f = _by_name(frames, name)
        [code] = decode_codes(f.frame)
        assert code.payload == f.payload, name
        assert code.variant in ZBAR_VARIANTS, name


def test_when_zxing_finds_nothing_zbar_still_gets_its_turn(
    frames: list[CodeFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    import zxingcpp

    monkeypatch.setattr(zxingcpp, "read_barcodes", lambda *a, **k: [])
    f = _by_name(frames, "qr-receipt")
    [code] = decode_codes(f.frame)
    assert (code.payload, code.variant) == (f.payload, "fast")


@pytest.mark.expect_log(logging.WARNING, "intake.capture.codes", r"^zxing-cpp decoding failed")
def test_a_failing_zxing_library_falls_back_to_zbar(monkeypatch: pytest.MonkeyPatch) -> None:
    import zxingcpp

    from tests import synthetic as syn

    def broken(*_a: object, **_k: object) -> list[object]:
        raise RuntimeError("corrupt wheel")

    monkeypatch.setattr(zxingcpp, "read_barcodes", broken)
    qr = np.pad(syn.render_qr(syn.LICENCE_URL, 5), 60, constant_values=255)
    [code] = decode_codes(qr)
    assert code.payload == syn.LICENCE_URL
    assert code.variant in ZBAR_VARIANTS
