"""A sheet taken twice: the page signature tells the same sheet under another camera angle,
light and noise from a different sheet of the same layout (synthetic camera frames)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from app.capture.page_image import ProcessedPage
from app.capture.pages import (
    duplicate_warning,
    page_difference,
    page_signature,
    process_page,
    signature_from_bytes,
)
from tests import synthetic as syn


@functools.cache
def taken(kind: str, seed: int) -> ProcessedPage:
    return process_page(syn.make_scene(kind, (1920, 1080), payload=None, seed=seed).frame)


@pytest.mark.parametrize("again", ["perspective", "rotated", "hard"])
def test_same_sheet_under_another_angle_is_flagged(again: str) -> None:
    first, second = taken("plain", 1), taken(again, 1)
    finding = duplicate_warning(first.signature, second.signature, 1)
    assert finding is not None
    assert finding.code == "quality.duplicate"
    assert finding.message.startswith("与第1页几乎相同")


@pytest.mark.parametrize("seeds", [(1, 2), (2, 3), (1, 3)])
def test_different_sheets_of_one_layout_are_not_flagged(seeds: tuple[int, int]) -> None:
    a, b = (taken("hard", s) for s in seeds)  # the hardest light and angle for both
    assert duplicate_warning(a.signature, b.signature, 1) is None


def test_a_card_is_never_the_same_page_as_an_a4_sheet() -> None:
    sheet = np.full((1188, 840), 255, np.uint8)  # portrait A4 proportions
    card = np.full((540, 856), 255, np.uint8)  # ID-1 card, landscape
    assert page_difference(page_signature(sheet), page_signature(card)) == math.inf
    assert page_difference(page_signature(sheet), page_signature(sheet.copy())) == 0.0


def test_signature_read_back_from_the_stored_page_matches_the_one_taken() -> None:
    page = taken("perspective", 1)
    back = signature_from_bytes(page.data)
    assert back is not None
    assert page_difference(back, page.signature) < 0.03
    assert signature_from_bytes(b"not an image at all") is None
