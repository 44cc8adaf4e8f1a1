"""Tell a keyboard-wedge barcode scanner from a person typing.

A USB/Bluetooth barcode scanner in keyboard mode "types" what it reads, followed by Enter. The
window must catch those bursts (a receipt's intake number → open the intake; a licence QR → fill
the USCC) without stealing what the clerk types into a field.

How the two differ (measured on typical devices and in typing studies):
- scanners send a character every 1–20 ms (USB HID at 1–8 ms polling; Bluetooth ones up to
  ~30 ms with occasional jitter to ~45 ms) and end with Enter just as fast;
- people type at 80–250 ms per keystroke; fast typists produce single short gaps (rollover,
  20–60 ms) but not six or more in a row, and not with Enter at the same pace.

So a scan is: at least `min_length` characters, every gap ≤ `max_gap_ms` (50 ms default: above
a jittery Bluetooth scanner, below all but rollover), the mean gap ≤ `max_mean_gap_ms` (30 ms:
rollover bursts average far more), ending with a terminator key within `max_gap_ms`.

To let typing through untouched, characters are held while they arrive fast and released as
soon as the burst proves human: a gap longer than `max_gap_ms` (the caller calls `tick` at
`deadline_ms()`; a clerk never notices 50 ms), a non-character key, or Enter after too few
characters. Released text is delivered before the current key, preserving order.

Under a Chinese input method the keys of a scan reach the window as composition events: the
letters as the preedit, full-width forms and Chinese punctuation as commits. `fold_ime_text`
gives back the ASCII the scanner sent (ui.wedge feeds it to the same detector).

Pure logic, fed (key_text, timestamp_ms): no Qt, no clock of its own.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

TERMINATORS = ("\r", "\n")


@dataclass(frozen=True)
class WedgeResult:
    scan: str | None = None  # a complete scanned string (without the terminator)
    release: str = ""  # held characters that turned out to be typing: deliver them now, in order
    consume: bool = True  # False: also deliver the current key event as usual (after `release`)


class WedgeDetector:
    """Feed every key press that has text (and Enter); modifier-only presses (Shift, Ctrl) must
    not be fed — a scanner presses Shift for capitals, which carries no text."""

    def __init__(
        self,
        *,
        min_length: int = 6,
        max_gap_ms: float = 50.0,
        max_mean_gap_ms: float = 30.0,
        terminators: tuple[str, ...] = TERMINATORS,
    ) -> None:
        if min_length < 1 or max_gap_ms <= 0 or max_mean_gap_ms <= 0:
            raise ValueError("thresholds must be positive")
        self.min_length = min_length
        self.max_gap_ms = max_gap_ms
        self.max_mean_gap_ms = max_mean_gap_ms
        self.terminators = terminators
        self._buffer: list[str] = []
        self._first_ms = 0.0
        self._last_ms = 0.0
        self._last_scan_ms: float | None = None

    @property
    def pending(self) -> str:
        """Characters currently held back."""
        return "".join(self._buffer)

    def deadline_ms(self) -> float | None:
        """When the held characters must be released if nothing else arrives (call `tick`)."""
        return self._last_ms + self.max_gap_ms if self._buffer else None

    def reset(self) -> str:
        """Drop the burst state; returns held characters (the caller delivers them)."""
        held = self.pending
        self._buffer.clear()
        self._last_scan_ms = None
        return held

    def _flush(self) -> str:
        held = self.pending
        self._buffer.clear()
        return held

    def tick(self, now_ms: float) -> WedgeResult:
        """Release the held characters once the burst has gone quiet for longer than a scanner
        would."""
        if self._buffer and now_ms - self._last_ms > self.max_gap_ms:
            return WedgeResult(release=self._flush(), consume=False)
        return WedgeResult(consume=False)

    def feed(self, key_text: str, timestamp_ms: float) -> WedgeResult:
        """Process one key press. See `WedgeResult` for what the caller does next."""
        now = float(timestamp_ms)
        if key_text in self.terminators:
            return self._on_terminator(now)
        if len(key_text) != 1 or not key_text.isprintable():
            # arrows, Tab, F-keys, pasted text: the burst (if any) is over and was typing
            self._last_scan_ms = None
            return WedgeResult(release=self._flush(), consume=False)
        self._last_scan_ms = None
        if self._buffer and now - self._last_ms <= self.max_gap_ms:
            self._buffer.append(key_text)
            self._last_ms = now
            return WedgeResult()
        released = self._flush()  # a slow key: whatever was held was typing
        self._buffer = [key_text]
        self._first_ms = self._last_ms = now
        return WedgeResult(release=released)

    def _on_terminator(self, now: float) -> WedgeResult:
        # Some scanners send CR LF: swallow the second terminator of a scan's pair.
        if (
            not self._buffer
            and self._last_scan_ms is not None
            and now - self._last_scan_ms <= self.max_gap_ms
        ):
            self._last_scan_ms = None
            return WedgeResult()
        n = len(self._buffer)
        if n >= self.min_length and now - self._last_ms <= self.max_gap_ms:
            mean_gap = (now - self._first_ms) / n  # n characters + terminator = n gaps
            if mean_gap <= self.max_mean_gap_ms:
                scanned = self._flush()
                self._last_scan_ms = now
                return WedgeResult(scan=scanned)
        self._last_scan_ms = None
        return WedgeResult(release=self._flush(), consume=False)


# What a Chinese input method in Chinese mode turns a scanner's ASCII into (搜狗, fcitx, 微软拼音):
# full-width forms (ＡＢ０１：｜), folded back by NFKC, and Chinese punctuation, mapped here.
# "、" comes from "/" in most layouts (URLs are full of slashes, never backslashes).
_IME_MULTI = (("……", "^"), ("——", "_"))
_IME_PUNCTUATION = str.maketrans(
    {
        "。": ".",
        "、": "/",
        "·": "`",
        "￥": "$",
        "¥": "$",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "《": "<",
        "》": ">",
        "【": "[",
        "】": "]",
        "「": "[",
        "」": "]",
    }
)


def fold_ime_text(text: str) -> str | None:
    """The ASCII a scanner sent, from what an input method composed or committed; None when the
    text holds anything else (Chinese characters: the input method converted the keys)."""
    for composed, ascii_text in _IME_MULTI:
        text = text.replace(composed, ascii_text)
    folded = unicodedata.normalize("NFKC", text).translate(_IME_PUNCTUATION)
    if not folded.isascii() or not folded.isprintable():
        return None
    return folded
