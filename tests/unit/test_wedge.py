"""Keyboard-wedge scanner detection on scripted key timings."""

from __future__ import annotations

import pytest

from app.capture.wedge import WedgeDetector, WedgeResult, fold_ime_text


def _type(
    det: WedgeDetector, text: str, start: float, gaps: list[float] | float
) -> tuple[list[WedgeResult], float]:
    """Feed TEXT then Enter; gaps (ms) between consecutive keys, Enter included."""
    steps = gaps if isinstance(gaps, list) else [gaps] * len(text)
    assert len(steps) == len(text)
    results = []
    t = start
    for i, ch in enumerate(text):
        if i:
            t += steps[i - 1]
        results.append(det.feed(ch, t))
    t += steps[-1]
    results.append(det.feed("\r", t))
    return results, t


def _delivered(results: list[WedgeResult]) -> str:
    """What the focused field receives, given the caller follows the contract."""
    return "".join(r.release for r in results)


def test_scanner_burst_is_a_scan_and_nothing_reaches_the_field() -> None:
    det = WedgeDetector()
    results, _ = _type(det, "XX01-241202-0073-6", 1000.0, 8.0)
    assert results[-1].scan == "XX01-241202-0073-6"
    assert results[-1].consume
    assert all(r.consume and r.release == "" and r.scan is None for r in results[:-1])
    assert det.pending == ""


def test_human_typing_passes_through_in_order_with_its_enter() -> None:
    det = WedgeDetector()
    results = []
    t = 0.0
    for ch in "zhang123":
        results.append(det.feed(ch, t))
        t += 160.0
    results.append(det.feed("\r", t))
    assert all(r.scan is None for r in results)
    assert _delivered(results) == "zhang123"
    assert results[-1].consume is False  # the clerk's Enter goes to the field too


def test_short_fast_burst_is_typing() -> None:
    det = WedgeDetector()
    results, _ = _type(det, "ab", 0.0, 10.0)
    assert results[-1].scan is None
    assert results[-1].release == "ab" and results[-1].consume is False


def test_tick_releases_held_characters_after_the_gap() -> None:
    det = WedgeDetector(max_gap_ms=50)
    assert det.feed("a", 100.0) == WedgeResult()
    assert det.pending == "a"
    assert det.deadline_ms() == 150.0
    assert det.tick(140.0).release == ""  # still within a scanner's pace
    released = det.tick(151.0)
    assert released.release == "a" and released.scan is None
    assert det.pending == "" and det.deadline_ms() is None


def test_jittery_bluetooth_scanner_is_still_a_scan() -> None:
    det = WedgeDetector()
    text = "91350100M000100Y43"
    gaps = [10.0 if i % 2 else 45.0 for i in range(len(text))]  # mean 27.5 ms, peaks 45 ms
    results, _ = _type(det, text, 0.0, gaps)
    assert results[-1].scan == text


def test_rollover_typing_is_not_a_scan_even_with_short_gaps() -> None:
    det = WedgeDetector()
    results, _ = _type(det, "asdfgh", 0.0, 40.0)  # every gap under 50 ms, mean 40 ms > 30 ms
    assert results[-1].scan is None
    assert _delivered(results) == "asdfgh"
    assert results[-1].consume is False


def test_one_slow_gap_splits_the_burst_into_typing() -> None:
    det = WedgeDetector()
    results, _ = _type(det, "ABCDEFGH", 0.0, [8, 8, 8, 120, 8, 8, 8, 8])
    assert results[-1].scan is None
    assert _delivered(results) == "ABCDEFGH"


def test_cr_lf_after_a_scan_does_not_leak_an_extra_enter() -> None:
    det = WedgeDetector()
    results, t = _type(det, "ABCDEFGH", 0.0, 5.0)
    assert results[-1].scan == "ABCDEFGH"
    lf = det.feed("\n", t + 3)
    assert lf.consume and lf.release == "" and lf.scan is None
    later = det.feed("\r", t + 2000)  # a real Enter much later goes through
    assert later.consume is False


def test_non_character_key_ends_a_burst_and_is_delivered() -> None:
    det = WedgeDetector()
    det.feed("a", 0.0)
    det.feed("b", 10.0)
    result = det.feed("", 20.0)  # e.g. an arrow key
    assert result.release == "ab" and result.consume is False
    assert det.pending == ""


def test_typing_then_a_scan_keeps_the_two_apart() -> None:
    det = WedgeDetector()
    first = det.feed("q", 0.0)
    assert first.release == ""
    released = det.tick(60.0)
    assert released.release == "q"
    results, _ = _type(det, "12345678", 500.0, 6.0)
    assert results[-1].scan == "12345678"


def test_thresholds_are_configurable() -> None:
    det = WedgeDetector(min_length=4, max_gap_ms=80, max_mean_gap_ms=60)
    results, _ = _type(det, "ABCD", 0.0, 55.0)
    assert results[-1].scan == "ABCD"
    strict = WedgeDetector()
    results, _ = _type(strict, "ABCD", 0.0, 55.0)
    assert results[-1].scan is None


def test_reset_returns_held_characters() -> None:
    det = WedgeDetector()
    det.feed("x", 0.0)
    det.feed("y", 5.0)
    assert det.reset() == "xy"
    assert det.pending == ""


@pytest.mark.parametrize("kwargs", [{"min_length": 0}, {"max_gap_ms": 0}, {"max_mean_gap_ms": -1}])
def test_bad_thresholds_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        WedgeDetector(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("composed", "sent"),
    [
        ("ＸＸ０１－２４１２０２－００７３－６", "XX01-241202-0073-6"),  # full-width forms
        ("ｓｈｏｕ", "shou"),
        ("ＹＪＳ１｜Ｒ｜", "YJS1|R|"),
        ("ｈｔｔｐｓ：、、ｗｗｗ。ｇｓｘｔ。ｇｏｖ。ｃｎ", "https://www.gsxt.gov.cn"),  # 、 from /
        ("？ｔ＝", "?t="),
        ("《》【】￥……——", "<>[]$^_"),
        ("plain", "plain"),
    ],
)
def test_input_method_text_folds_back_to_what_the_scanner_sent(composed: str, sent: str) -> None:
    assert fold_ime_text(composed) == sent


@pytest.mark.parametrize("converted", ["收", "张三", "ｓｈｏｕ收", "a\tb"])
def test_converted_or_control_text_is_not_scanner_text(converted: str) -> None:
    assert fold_ime_text(converted) is None
