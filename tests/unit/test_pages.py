"""Page pipeline: detection, warp, deskew, enhancement, encoding, quality findings, the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.capture import pages
from app.capture.codes import decode_codes
from app.capture.page_clean import assess_quality, choose_mode, encode, enhance
from app.capture.page_geometry import (
    deskew,
    detect_page,
    estimate_skew,
    order_corners,
    page_size,
    warp_page,
)
from app.capture.page_image import check_image
from app.capture.pages import expected_pages_warning, process_page
from app.cli.capture import main as cli_main
from app.errors import CaptureError
from tests import synthetic as syn
from tests.expected_logs import OPENCV_FAILED

# The failures these tests provoke are logged, as in production (tests/conftest.py).
pytestmark = OPENCV_FAILED

# Corner tolerance: 8 px on a 1080p frame (0.8 % of the page diagonal there); on larger frames
# 1 % of the page diagonal.
TOL_1080P_PX = 8.0
TOL_DIAGONAL = 0.01


def _diagonal(corners: np.ndarray) -> float:
    return float(np.hypot(*(corners[2] - corners[0])))


@pytest.mark.parametrize("kind", ["plain", "perspective", "rotated", "uneven", "noisy", "hard"])
def test_detected_corners_match_truth_on_1080p(kind: str) -> None:
    scene = syn.make_scene(kind, (1920, 1080))
    found = detect_page(scene.frame)
    assert found.found
    assert found.corners is not None and found.corners.shape == (4, 2)
    assert syn.corner_error(found.corners, scene.corners) <= TOL_1080P_PX
    assert not found.touches_edge


@pytest.mark.parametrize("kind", ["perspective", "hard"])
def test_detected_corners_match_truth_on_12mp_still(kind: str) -> None:
    scene = syn.make_scene(kind, (4000, 3000))
    found = detect_page(scene.frame)
    assert found.found and found.corners is not None
    assert syn.corner_error(found.corners, scene.corners) <= TOL_DIAGONAL * _diagonal(scene.corners)


@pytest.mark.parametrize("desk_level", [30, 120, 200])
def test_page_is_found_on_dark_mid_and_light_desks(desk_level: int) -> None:
    corners = syn.quad_in_frame((1920, 1080), rotation_deg=-8.0, tilt=0.1)
    desk = syn.desk_background((1920, 1080), level=desk_level)
    frame = syn.add_noise(
        syn.uneven_light(syn.place_page(syn.make_page(110), corners, (1920, 1080), desk), 0.3), 5
    )
    found = detect_page(frame)
    assert found.found and found.corners is not None
    assert syn.corner_error(found.corners, corners) <= TOL_1080P_PX


def test_corners_are_ordered_tl_tr_br_bl() -> None:
    truth = syn.quad_in_frame((1920, 1080), rotation_deg=25.0, fill=0.7)
    shuffled = truth[[2, 0, 3, 1]]
    assert np.allclose(order_corners(shuffled), truth)


def test_empty_desk_has_no_page() -> None:
    desk = syn.add_noise(syn.desk_background((1920, 1080)), 6.0)
    result = detect_page(desk)
    assert not result.found
    assert result.corners is None


def test_cut_off_page_is_flagged_as_touching_the_frame() -> None:
    scene = syn.make_scene("cut_off", (1920, 1080))
    result = detect_page(scene.frame)
    assert result.found and result.touches_edge
    assert not detect_page(syn.make_scene("plain").frame).touches_edge


def test_page_size_snaps_a_series_pages_to_a4_at_dpi() -> None:
    corners = syn.quad_in_frame((1920, 1080), tilt=0.1)
    assert page_size(corners, dpi=200) == (1654, 2339)
    landscape = np.array([[0, 0], [600, 0], [600, 420], [0, 420]], np.float32)
    assert page_size(landscape, dpi=150) == (1754, 1240)
    card = np.array([[0, 0], [856, 0], [856, 540], [0, 540]], np.float32)  # an ID card, 10 px/mm
    assert page_size(card, dpi=200) == (856, 540)


def test_warp_maps_the_photographed_page_back_onto_the_page() -> None:
    page = syn.make_page(150, qr_payload=syn.LICENCE_URL)
    corners = syn.quad_in_frame((3000, 2250), rotation_deg=-9.0, tilt=0.1)
    frame = syn.place_page(page, corners, (3000, 2250))
    h, w = page.shape[:2]
    flat = warp_page(frame, corners, size=(w, h))
    diff = np.abs(
        cv2.GaussianBlur(cv2.cvtColor(flat, cv2.COLOR_BGR2GRAY), (0, 0), 2).astype(np.int16)
        - cv2.GaussianBlur(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY), (0, 0), 2).astype(np.int16)
    )
    assert float(diff.mean()) < 6.0
    # shifting the corners by 1 % of the width visibly misregisters: the check above is sharp
    shifted = warp_page(frame, corners + np.array([w * 0.01, 0]), size=(w, h))
    diff_shifted = np.abs(
        cv2.GaussianBlur(cv2.cvtColor(shifted, cv2.COLOR_BGR2GRAY), (0, 0), 2).astype(np.int16)
        - cv2.GaussianBlur(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY), (0, 0), 2).astype(np.int16)
    )
    assert float(diff_shifted.mean()) > 1.5 * float(diff.mean())


def test_warp_refuses_degenerate_corners() -> None:
    frame = syn.make_scene("plain").frame
    with pytest.raises(CaptureError) as err:
        warp_page(frame, np.zeros((4, 2), np.float32))
    assert err.value.code == "capture.bad_corners"


def _rotated(page: np.ndarray, angle: float) -> np.ndarray:
    h, w = page.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(page, m, (w, h), borderValue=(238, 242, 244))


@pytest.mark.parametrize("angle", [-4.0, -1.2, 2.5])
def test_skew_is_measured_and_removed(angle: float) -> None:
    skewed = _rotated(syn.make_page(150), angle)
    # rotating the image by +a (counter-clockwise) makes lines climb to the right: skew = -a
    assert estimate_skew(skewed) == pytest.approx(-angle, abs=0.2)
    straight, removed = deskew(skewed)
    assert removed == pytest.approx(-angle, abs=0.2)
    assert abs(estimate_skew(straight)) <= 0.15


def test_blank_page_is_not_rotated() -> None:
    blank = syn.blank_page(150)
    out, angle = deskew(blank)
    assert angle == 0.0
    assert out is blank


def test_process_page_deskews_a_skewed_scan() -> None:
    skewed = _rotated(syn.make_page(150), 3.0)
    result = process_page(skewed, "bw", source="scan", decode="off")
    assert result.skew_deg == pytest.approx(-3.0, abs=0.25)
    flat = cv2.imdecode(np.frombuffer(result.data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert flat is not None
    assert abs(estimate_skew(flat)) <= 0.2


def test_bw_flattens_uneven_light_to_black_text_on_white() -> None:
    page = syn.uneven_light(syn.make_page(200), strength=0.6)
    bw = enhance(page, "bw")
    assert set(np.unique(bw)) <= {0, 255}
    h, w = bw.shape
    # the blank strip between the title and the first text line: bright side and shadow side
    margin = int(w * 0.09)
    top_left = bw[5 : margin - 5, 5 : margin - 5]
    bottom_right = bw[h - margin + 5 : h - 5, w - margin + 5 : w - 5]
    assert np.mean(top_left == 255) > 0.99
    assert np.mean(bottom_right == 255) > 0.99
    # text in the darkest part stays black: the lower right text area holds ink
    text_area = bw[int(h * 0.7) : int(h * 0.85), int(w * 0.55) : w - margin]
    assert 0.02 < np.mean(text_area == 0) < 0.5
    # a plain global threshold would have blackened that shadowed paper
    grey = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    _, naive = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    assert np.mean(naive[h - margin + 5 : h - 5, w - margin + 5 : w - 5] == 255) < 0.5


def test_colour_mode_keeps_a_red_seal_red_and_paper_white() -> None:
    page = syn.uneven_light(syn.make_page(150, seal=True), strength=0.4)
    out = enhance(page, "color")
    h, w = out.shape[:2]
    b, g, r = (int(v) for v in out[int(h * 0.8), int(w * 0.7)])  # the seal's filled centre
    assert r > g + 80 and r > b + 80
    assert out[int(w * 0.03), int(w * 0.03)].min() >= 245  # paper near the bright corner
    assert out[h - int(w * 0.03), w - int(w * 0.03)].min() >= 245  # and in the shadow


def test_grey_mode_is_single_channel_with_white_paper() -> None:
    out = enhance(syn.uneven_light(syn.make_page(150)), "grey")
    assert out.ndim == 2
    assert np.percentile(out, 50) == 255
    assert out.min() < 60


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(CaptureError) as err:
        enhance(syn.make_page(100), "sepia")  # type: ignore[arg-type]
    assert err.value.code == "capture.bad_mode"


def test_auto_mode_picks_colour_for_seal_grey_for_photo_bw_for_text() -> None:
    assert choose_mode(syn.make_page(120, seal=True)) == "color"
    assert choose_mode(syn.make_page(120)) == "bw"
    photo_page = syn.make_page(120, qr_payload=None)
    h, w = photo_page.shape[:2]
    ramp = np.tile(np.linspace(60, 200, w // 2, dtype=np.float32), (h // 3, 1))
    photo = cv2.GaussianBlur(
        ramp + syn.add_noise(np.zeros_like(ramp), 20).astype(np.float32), (0, 0), 3
    )
    photo_page[h // 3 : h // 3 + h // 3, w // 4 : w // 4 + w // 2] = np.clip(photo, 0, 255).astype(
        np.uint8
    )[:, :, None]
    assert choose_mode(photo_page) == "grey"


def test_bw_encoding_is_lossless_one_bit_png() -> None:
    bw = enhance(syn.make_page(150), "bw")
    data = encode(bw, "bw")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[24] == 1  # IHDR bit depth
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert back is not None
    assert np.array_equal(back, bw)


@pytest.mark.parametrize("mode", ["color", "grey", "bw"])
def test_encoded_page_keeps_the_qr_decodable(mode: str) -> None:
    page = syn.make_page(200, qr_payload=syn.LICENCE_URL)
    data = encode(enhance(page, mode), mode)  # type: ignore[arg-type]
    assert data[:3] == (b"\x89PN" if mode == "bw" else b"\xff\xd8\xff")
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert back is not None
    assert [c.payload for c in decode_codes(back)] == [syn.LICENCE_URL]


def test_bw_is_much_smaller_than_grey_for_a_text_page() -> None:
    page = syn.make_page(200)
    bw = encode(enhance(page, "bw"), "bw")
    grey = encode(enhance(page, "grey"), "grey")
    assert len(bw) * 3 < len(grey)


# ---------------------------------------------------------------------------------------------
# quality findings


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("blurred", "quality.blur"),
        ("dark", "quality.dark"),
        ("blank", "quality.blank"),
        ("cut_off", "quality.cut_off"),
    ],
)
@pytest.mark.parametrize("size", [(1920, 1080), (4000, 3000)])
def test_each_quality_finding_fires_on_its_bad_image_only(
    kind: str, code: str, size: tuple[int, int]
) -> None:
    frame = syn.make_scene(kind, size).frame
    findings = assess_quality(frame)
    assert [f.code for f in findings] == [code]
    assert all(f.message for f in findings)


@pytest.mark.parametrize("kind", ["plain", "hard", "seal"])
@pytest.mark.parametrize("size", [(1920, 1080), (4000, 3000)])
def test_good_frames_have_no_findings(kind: str, size: tuple[int, int]) -> None:
    assert assess_quality(syn.make_scene(kind, size).frame) == []


def test_mild_blur_passes_and_strong_blur_is_flagged() -> None:
    frame = syn.make_scene("plain").frame
    assert assess_quality(syn.blurred(frame, 0.8)) == []
    assert [f.code for f in assess_quality(syn.blurred(frame, 2.5))] == ["quality.blur"]


def test_missing_outline_is_not_a_finding_for_a_scan() -> None:
    scan = syn.make_page(150)  # a flatbed scan: the whole image is the page
    assert [f.code for f in assess_quality(scan, source="camera")] == ["quality.cut_off"]
    assert assess_quality(scan, source="scan") == []


def test_expected_pages_warning() -> None:
    warning = expected_pages_warning(3, 2)
    assert warning is not None
    assert warning.code == "quality.too_few_pages"
    assert "3" in warning.message and "2" in warning.message
    assert expected_pages_warning(2, 2) is None
    assert expected_pages_warning(2, 3) is None
    assert expected_pages_warning(None, 1) is None


# ---------------------------------------------------------------------------------------------
# whole pipeline and guards


def test_process_page_returns_corners_findings_bytes_and_the_licence_code() -> None:
    scene = syn.make_scene("hard", (3264, 2448))
    result = process_page(scene.frame)
    assert result.detection.found
    assert syn.corner_error(result.corners, scene.corners) <= TOL_DIAGONAL * _diagonal(
        scene.corners
    )
    assert result.findings == []
    assert result.mode == "bw" and result.media_type == "image/png"
    assert (result.width, result.height) == (1654, 2339)
    assert result.size == len(result.data) > 1000
    licences = [c for c in result.codes if c.kind == "licence"]
    assert [c.payload for c in licences] == [syn.LICENCE_URL]
    assert licences[0].meaning.uscc == syn.VALID_USCC


def test_qr_on_a_1080p_preview_frame_survives_correction() -> None:
    scene = syn.make_scene("perspective", (1920, 1080), qr_mm=45)
    result = process_page(scene.frame, "grey")
    assert [c.payload for c in result.codes] == [syn.LICENCE_URL]


@pytest.mark.parametrize("mode", ["auto", "color", "grey", "bw"])
def test_single_channel_scan_goes_through_every_mode(mode: str) -> None:
    grey_scan = cv2.cvtColor(syn.make_page(200), cv2.COLOR_BGR2GRAY)
    result = process_page(grey_scan, mode, source="scan")  # type: ignore[arg-type]
    assert result.mode == ("bw" if mode == "auto" else mode)
    assert result.findings == []
    assert [c.payload for c in result.codes] == [syn.LICENCE_URL]
    assert cv2.imdecode(np.frombuffer(result.data, np.uint8), cv2.IMREAD_UNCHANGED) is not None


def test_given_corners_skip_detection() -> None:
    scene = syn.make_scene("rotated")
    result = process_page(scene.frame, "bw", corners=scene.corners[[1, 2, 3, 0]], decode="off")
    assert np.allclose(result.corners, scene.corners)
    assert result.detection.score == 1.0


def test_no_page_found_keeps_whole_frame_with_cut_off_finding() -> None:
    frame = syn.add_noise(syn.desk_background((1280, 720)), 4.0)
    result = process_page(frame, "grey", decode="off")
    assert not result.detection.found
    assert np.allclose(result.corners, [[0, 0], [1280, 0], [1280, 720], [0, 720]])
    assert "quality.cut_off" in [f.code for f in result.findings]


def test_huge_array_is_refused_before_processing() -> None:
    huge = np.broadcast_to(np.uint8(200), (12_000, 9_000, 3))  # 108 MP, no memory behind it
    with pytest.raises(CaptureError) as err:
        process_page(huge)
    assert err.value.code == "capture.too_large"
    with pytest.raises(CaptureError) as err:
        process_page(syn.make_page(100), max_pixels=10_000)
    assert err.value.code == "capture.too_large"


@pytest.mark.parametrize(
    "bad", ["not an image", np.zeros((0, 0, 3), np.uint8), np.zeros((10, 10), np.float32)]
)
def test_non_images_are_refused(bad: object) -> None:
    with pytest.raises(CaptureError) as err:
        process_page(bad)  # type: ignore[arg-type]
    assert err.value.code == "capture.not_image"


def test_alpha_is_composited_on_white() -> None:
    rgba = np.zeros((20, 20, 4), np.uint8)  # fully transparent black
    assert check_image(rgba).min() == 255


def test_opencv_errors_become_capture_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise cv2.error("simulated failure")

    monkeypatch.setattr(pages.cv2, "Canny", broken)
    with pytest.raises(CaptureError) as err:
        detect_page(syn.make_scene("plain").frame)
    assert err.value.code == "capture.failed"
    with pytest.raises(CaptureError) as err:
        process_page(syn.make_scene("plain").frame)
    assert err.value.code == "capture.failed"


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_processes_an_image_and_reports_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = syn.make_scene("hard", (3264, 2448))
    src = tmp_path / "licence.jpg"
    cv2.imwrite(str(src), scene.frame)
    out_dir = tmp_path / "out"
    code = cli_main(["capture", "process", str(src), "--out", str(out_dir), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    [page] = report["pages"]
    written = Path(page["file"])
    assert written.parent == out_dir and written.stat().st_size == page["bytes"]
    assert page["findings"] == []
    assert len(page["corners"]) == 4
    assert page["codes"][0]["kind"] == "licence"
    assert page["codes"][0]["uscc"] == syn.VALID_USCC


def test_cli_text_output_names_findings_and_codes(tmp_path: Path) -> None:
    src = tmp_path / "dark.png"
    cv2.imwrite(str(src), syn.make_scene("dark", (1920, 1080), qr_mm=45).frame)
    out = io.StringIO()
    import argparse

    from app.cli.capture import run_process

    args = argparse.Namespace(
        path=str(src), out=str(tmp_path / "o"), mode="auto", source="auto", dpi=200, json=False
    )
    assert run_process(args, out) == 0
    text = out.getvalue()
    assert "quality.dark" in text and "图像过暗" in text
    assert "licence" in text and syn.VALID_USCC in text


def test_cli_treats_a_pdf_as_scans_and_writes_every_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    ok, png = cv2.imencode(".png", syn.make_page(150))
    assert ok
    src = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(src), pagesize=A4)
    for _ in range(2):
        pdf.drawImage(ImageReader(io.BytesIO(png.tobytes())), 0, 0, width=A4[0], height=A4[1])
        pdf.showPage()
    pdf.save()
    code = cli_main(["capture", "process", str(src), "--out", str(tmp_path / "o"), "--json"])
    assert code == 0
    pages_out = json.loads(capsys.readouterr().out)["pages"]
    assert [p["page"] for p in pages_out] == [1, 2]
    assert all(p["source"] == "scan" and p["findings"] == [] for p in pages_out)
    assert all(Path(p["file"]).is_file() for p in pages_out)


def test_cli_reports_capture_errors_as_json_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is not a photo", "utf-8")
    code = cli_main(["capture", "process", str(fake), "--out", str(tmp_path / "o")])
    assert code == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "capture.not_image"
