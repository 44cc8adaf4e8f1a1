"""Rare name characters (CJK Ext A/B) are printed with a real glyph from an embedded font.

The check works on the PDF itself: for each rare character, find the embedded font subset and
code that the ToUnicode map says stand for it, open that subset's font program (FontFile2) with
fontTools and require the glyph drawn for that code to be the very outline of the character in
the source font. A box (.notdef), an empty glyph or another character's glyph all fail.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont as FTFont
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, StreamObject

from printing.documents import build_commitment, build_notice, build_receipt, build_return_list
from printing.fonts import (
    FontCandidate,
    FontError,
    default_font_set,
    font_candidates,
    load_font_set,
)
from tests.sample_docs import ENTERPRISE, PERSON, sample_document

# The failures these tests provoke are logged, as in production (tests/conftest.py).
pytestmark = [
    pytest.mark.expect_log(logging.WARNING, "intake.printing.fonts", r" skipped: "),
]

RARE = ("\U00020bb7", "\U00021484", "\u4dae")  # 𠮷 (Ext B), 𡒄 (Ext B), 䶮 (Ext A)
BUILDERS: dict[str, Callable[..., bytes]] = {
    "receipt": build_receipt,
    "notice": build_notice,
    "commitment": build_commitment,
    "return_list": build_return_list,
}
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
HANA_A = Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf")


def _to_unicode(font: DictionaryObject) -> dict[int, str]:
    stream = font["/ToUnicode"].get_object()
    assert isinstance(stream, StreamObject)
    data = stream.get_data().decode("latin-1")
    out: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", data, re.DOTALL):
        for code, uni in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(code, 16)] = bytes.fromhex(uni).decode("utf-16-be")
    return out


def embedded_glyphs(pdf: bytes) -> dict[str, tuple[FTFont, str]]:
    """Character -> (embedded font program, glyph name drawn for it), over every page's fonts."""
    found: dict[str, tuple[FTFont, str]] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page["/Resources"].get_object()
        assert isinstance(resources, DictionaryObject)
        font_dict = resources["/Font"].get_object()
        assert isinstance(font_dict, DictionaryObject)
        for ref in font_dict.values():
            font = ref.get_object()
            if "/FontDescriptor" not in font or "/ToUnicode" not in font:
                continue
            descriptor = font["/FontDescriptor"].get_object()
            program = descriptor["/FontFile2"].get_object().get_data()
            ft = FTFont(io.BytesIO(program))
            cmap = ft["cmap"].getcmap(1, 0).cmap  # reportlab subsets map code -> glyph here
            for code, text in _to_unicode(font).items():
                if text in RARE and code in cmap:
                    found[text] = (ft, cmap[code])
    return found


@functools.cache
def source_font(path: str) -> FTFont:
    return FTFont(path, lazy=True, fontNumber=0)


def outline(font: FTFont, glyph_name: str) -> list[tuple[int, int]]:
    glyf = font["glyf"]
    coords, _ends, _flags = glyf[glyph_name].getCoordinates(glyf)
    return [tuple(p) for p in coords]  # type: ignore[misc]


def rare_doc(kind: str, enterprise: bool = False):  # type: ignore[no-untyped-def]
    applicant = ENTERPRISE if enterprise else PERSON
    name = "吉𠮷䶮科技有限公司" if enterprise else "吉𠮷䶮"
    applicant = dataclasses.replace(
        applicant, name=name, legal_representative="王𡒄", agent_name="王𡒄"
    )
    return sample_document(kind, applicant=applicant)  # type: ignore[arg-type]


def test_split_runs_sends_rare_characters_to_a_font_that_has_them() -> None:
    fonts = default_font_set()
    text = "申请人：吉𠮷䶮，法定代表人王𡒄"
    runs = fonts.split_runs(text)
    assert "".join(r.text for r in runs) == text
    paths = fonts.font_paths()
    for run in runs:
        cmap = source_font(str(paths[run.font])).getBestCmap()
        assert all(ord(ch) in cmap for ch in run.text), run
        if any(ch in RARE for ch in run.text):
            assert run.font != fonts.primary
        else:
            assert run.font == fonts.primary


@pytest.mark.parametrize("paper", ["A4", "A5"])
@pytest.mark.parametrize("enterprise", [False, True], ids=["personal", "enterprise"])
@pytest.mark.parametrize("kind", list(BUILDERS))
def test_rare_characters_are_embedded_with_their_real_glyphs(
    kind: str, enterprise: bool, paper: str
) -> None:
    doc = rare_doc(kind, enterprise)
    pdf = BUILDERS[kind](doc, paper)

    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    assert doc.applicant.name in text
    assert "王𡒄" in text

    glyphs = embedded_glyphs(pdf)
    fonts = default_font_set()
    paths = fonts.font_paths()
    for ch in RARE:
        assert ch in glyphs, f"U+{ord(ch):04X} not drawn with any embedded font"
        embedded, glyph_name = glyphs[ch]
        assert glyph_name != ".notdef" and embedded.getGlyphID(glyph_name) != 0
        drawn = outline(embedded, glyph_name)
        assert drawn, f"U+{ord(ch):04X} is drawn with an empty glyph"
        source = source_font(str(paths[fonts.font_for(ch)]))  # type: ignore[index]
        assert drawn == outline(source, source.getBestCmap()[ord(ch)])


def test_no_font_at_all_raises_font_missing_naming_the_package(tmp_path: Path) -> None:
    with pytest.raises(FontError) as info:
        load_font_set(font_candidates([tmp_path], []))
    assert info.value.code == "print.font_missing"
    assert "fonts-wqy-microhei" in info.value.message


def test_a_font_without_basic_cjk_cannot_be_primary(tmp_path: Path) -> None:
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    with pytest.raises(FontError):
        load_font_set([FontCandidate(dejavu)])


def test_unreadable_fonts_are_skipped(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"not a font at all")
    fonts = load_font_set([FontCandidate(bad), FontCandidate(WQY)])
    assert fonts.font_paths()[fonts.primary] == WQY


def test_resource_directory_fonts_come_before_system_fonts(tmp_path: Path) -> None:
    (tmp_path / "shipped.ttf").symlink_to(HANA_A)
    (tmp_path / "readme.txt").write_text("not a font")
    found = font_candidates([tmp_path], [WQY])
    assert [c.path for c in found] == [tmp_path / "shipped.ttf", WQY]
    # The first font that covers the common characters becomes the primary one.
    fonts = load_font_set(found)
    assert fonts.font_paths()[fonts.primary] == tmp_path / "shipped.ttf"


def test_uncovered_reports_characters_no_font_has() -> None:
    fonts = default_font_set()
    assert fonts.uncovered("吉𠮷䶮王𡒄") == []
    assert fonts.uncovered("张\ue000\ue000") == ["\ue000"]


def test_markup_escapes_text_and_tags_fallback_runs() -> None:
    fonts = default_font_set()
    hana = fonts.font_for("𠮷")
    assert fonts.markup("A<B>&吉𠮷") == f'A&lt;B&gt;&amp;吉<font name="{hana}">𠮷</font>'
