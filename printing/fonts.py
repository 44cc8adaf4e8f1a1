"""Fonts for the printed documents: find, register once, and pick a font per character.

reportlab embeds TrueType-outline fonts only (CFF fonts such as Noto CJK are refused), and no
single common font covers the rare name characters of CJK Extensions A/B (𠮷 U+20BB7, 䶮 U+4DAE,
𡒄 U+21484). So the documents use one primary CJK font and fall back per character to the next
font whose cmap has the glyph.

Search order: the project's ``resources/fonts`` (a deployment may ship fonts there), then the
usual system locations on Debian/UOS and Windows. The primary font is the first one that covers
the common characters the documents print; every other usable font is a fallback, parsed only
when a character needs it (parsing a CJK font costs ~70 ms).
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import SUBSETN, TTFont

from local_db.errors import DomainError

log = logging.getLogger("intake.printing.fonts")

RESOURCE_FONT_DIR = Path(__file__).resolve().parent.parent / "resources" / "fonts"
FONT_SUFFIXES = (".ttf", ".ttc", ".otf")

# Text every document prints; a font that lacks any of it cannot be the primary font.
PRIMARY_PROBE = "政务服务中心收件回执一次告知通知书容缺受理承诺申请人材料序号名称原件复印件份数页数签字盖章年月日0123456789ABCXYZ：（）"

_DEBIAN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
# Windows: 宋体 first (the customary face of official documents), then 雅黑/黑体; SimSun-ExtB
# and SimSun-ExtG cover the extension blocks.
_WINDOWS_FONT_FILES = (
    "simsun.ttc",
    "msyh.ttc",
    "simhei.ttf",
    "simsunb.ttf",
    "SimsunExtG.ttf",
)


_SET_IDS = itertools.count(1)


class FontError(DomainError):
    """No usable CJK font: the documents cannot be printed legibly."""


def font_missing_error(searched: Sequence[Path]) -> FontError:
    return FontError("print.font_missing", searched=[str(p) for p in searched])


@dataclass(frozen=True)
class FontCandidate:
    path: Path
    subfont_index: int = 0


@dataclass(frozen=True)
class FontRun:
    """A stretch of text drawn with one registered font."""

    font: str  # name registered with reportlab's pdfmetrics
    text: str


def _windows_font_dirs() -> list[Path]:
    dirs = [Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"]
    local = os.environ.get("LOCALAPPDATA")
    if local:
        dirs.append(Path(local) / "Microsoft" / "Windows" / "Fonts")
    return dirs


def system_font_paths(platform: str | None = None) -> list[Path]:
    paths = [Path(p) for p in _DEBIAN_FONTS]
    if (platform or sys.platform).startswith("win"):
        paths += [d / name for d in _windows_font_dirs() for name in _WINDOWS_FONT_FILES]
    return paths


def font_candidates(
    search_dirs: Iterable[Path] | None = None, system_paths: Iterable[Path] | None = None
) -> list[FontCandidate]:
    """Font files in search order: files in SEARCH_DIRS (sorted by name), then SYSTEM_PATHS."""
    dirs = [RESOURCE_FONT_DIR] if search_dirs is None else list(search_dirs)
    files: list[Path] = []
    for d in dirs:
        if d.is_dir():
            files += sorted(p for p in d.iterdir() if p.suffix.lower() in FONT_SUFFIXES)
    files += system_font_paths() if system_paths is None else list(system_paths)
    seen: set[Path] = set()
    out: list[FontCandidate] = []
    for p in files:
        if p in seen or not p.is_file():
            continue
        seen.add(p)
        out.append(FontCandidate(p))
    return out


class _TTFont(TTFont):
    """reportlab's TTFont with a ToUnicode CMap that is valid beyond the BMP.

    reportlab (5.1) writes ``<20BB7>`` for 𠮷: an odd-length hex string that readers reject, so
    the character cannot be searched or copied from the PDF. The spec wants UTF-16BE
    (``<D842DFB7>``); this rewrites the stream of any subset that holds such a character.
    """

    def addObjects(self, doc: Any) -> None:
        state = self.state.get(doc)
        subsets = [list(s) for s in state.subsets] if state is not None else []
        super().addObjects(doc)
        for n, subset in enumerate(subsets):
            if all(code <= 0xFFFF for code in subset):
                continue
            base = _subset_base_name(self, n)
            stream = doc.idToObject.get("toUnicodeCMap:" + base)
            if stream is not None:
                stream.content = _to_unicode_cmap(base, subset)


def _subset_base_name(font: TTFont, n: int) -> str:
    face = font.face
    return (b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX))).decode("pdfdoc")


def _utf16_hex(code: int) -> str:
    return chr(code).encode("utf-16-be").hex().upper()


def _to_unicode_cmap(fontname: str, subset: Sequence[int]) -> str:
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({fontname})",
        f"/Ordering ({fontname})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange",
    ]
    # bfchar blocks hold at most 100 entries each (PDF reference, CMap limits)
    pairs = [f"<{i:02X}> <{_utf16_hex(code)}>" for i, code in enumerate(subset)]
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines += chunk
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines)


@dataclass(frozen=True)
class _Loaded:
    name: str
    path: Path
    chars: dict[int, int]  # the font's cmap: code point -> glyph id


def _ignorable(ch: str) -> bool:
    # Combining marks and format characters (variation selectors, ZWJ) ride on the run before
    # them; printing them alone would draw a .notdef box.
    return unicodedata.category(ch) in ("Mn", "Cf", "Cc")


class FontSet:
    """The registered fonts, primary first; fallbacks are parsed on first need."""

    def __init__(self, candidates: Sequence[FontCandidate]) -> None:
        # Registered names are global in reportlab: an id per set keeps two sets apart.
        self._set_id = next(_SET_IDS)
        self._pending = list(candidates)
        self._loaded: list[_Loaded] = []
        self._lock = threading.RLock()
        self._cache: dict[str, str | None] = {}
        self.searched = tuple(c.path for c in candidates)
        self.primary = self._find_primary()

    # -- loading -------------------------------------------------------------------------------
    def _load_next(self) -> _Loaded | None:
        """Parse and register the next candidate; None when none is left."""
        while self._pending:
            cand = self._pending.pop(0)
            name = f"YJS{self._set_id}.{len(self._loaded)}-{_slug(cand.path.stem)}"
            try:
                font = _TTFont(name, str(cand.path), subfontIndex=cand.subfont_index)
            except Exception as exc:
                log.warning("font %s skipped: %s", cand.path, exc)
                continue
            pdfmetrics.registerFont(font)
            # Same face for bold/italic: the documents use size, not weight, for emphasis, and
            # platypus must not fail on <b>.
            pdfmetrics.registerFontFamily(
                name, normal=name, bold=name, italic=name, boldItalic=name
            )
            loaded = _Loaded(name, cand.path, font.face.charToGlyph)
            self._loaded.append(loaded)
            log.info("font registered: %s from %s", name, cand.path)
            return loaded
        return None

    def _find_primary(self) -> str:
        probe = {ord(c) for c in PRIMARY_PROBE}
        with self._lock:
            while True:
                loaded = self._load_next()
                if loaded is None:
                    raise font_missing_error(self.searched)
                if probe <= loaded.chars.keys():
                    # Put the primary first; fonts parsed before it stay as fallbacks.
                    self._loaded.remove(loaded)
                    self._loaded.insert(0, loaded)
                    return loaded.name

    @property
    def fonts(self) -> tuple[str, ...]:
        """Registered font names so far, primary first."""
        with self._lock:
            return tuple(f.name for f in self._loaded)

    def font_paths(self) -> dict[str, Path]:
        with self._lock:
            return {f.name: f.path for f in self._loaded}

    # -- lookup --------------------------------------------------------------------------------
    def font_for(self, ch: str) -> str | None:
        """The first font that has a glyph for CH, or None when none has."""
        hit = self._cache.get(ch, "")
        if hit != "":
            return hit
        code = ord(ch)
        with self._lock:
            found: str | None = None
            for f in self._loaded:
                if code in f.chars:
                    found = f.name
                    break
            while found is None:
                loaded = self._load_next()
                if loaded is None:
                    break
                if code in loaded.chars:
                    found = loaded.name
            self._cache[ch] = found
            return found

    def split_runs(self, text: str) -> list[FontRun]:
        """TEXT cut into runs by font. Uncovered characters stay in the primary font (a box)."""
        runs: list[FontRun] = []
        cur_font = self.primary
        cur: list[str] = []
        for ch in text:
            if _ignorable(ch):
                if self.font_for(ch) == cur_font:
                    cur.append(ch)
                continue
            font = self.font_for(ch) or self.primary
            if font != cur_font and cur:
                runs.append(FontRun(cur_font, "".join(cur)))
                cur = []
            cur_font = font
            cur.append(ch)
        if cur:
            runs.append(FontRun(cur_font, "".join(cur)))
        return runs

    def uncovered(self, text: str) -> list[str]:
        """Distinct characters of TEXT that no font can draw, in order of appearance."""
        out: list[str] = []
        for ch in text:
            if ch in out or _ignorable(ch) or ch in "\n\r\t":
                continue
            if self.font_for(ch) is None:
                out.append(ch)
        return out

    def markup(self, text: str) -> str:
        """TEXT as escaped platypus Paragraph markup with <font> tags for fallback runs."""
        parts: list[str] = []
        for run in self.split_runs(text):
            body = escape(run.text)
            parts.append(
                body if run.font == self.primary else f'<font name="{run.font}">{body}</font>'
            )
        return "".join(parts)


def _slug(stem: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in stem)


def load_font_set(candidates: Sequence[FontCandidate]) -> FontSet:
    """A font set over CANDIDATES; raises FontError when none of them is a usable CJK font."""
    return FontSet(candidates)


_default: FontSet | None = None
_default_lock = threading.Lock()


def default_font_set() -> FontSet:
    """The process-wide font set, found and registered on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = load_font_set(font_candidates())
        return _default


def split_runs(text: str) -> list[FontRun]:
    return default_font_set().split_runs(text)


def uncovered_chars(text: str) -> list[str]:
    return default_font_set().uncovered(text)


def markup(text: str) -> str:
    return default_font_set().markup(text)
