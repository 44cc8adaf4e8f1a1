"""Every event type a station writes has a Chinese name for the screens that list events."""

from __future__ import annotations

from sync.protocol import EVENT_TYPES
from ui.event_labels import EVENT_LABELS, event_label


def test_every_event_type_has_a_chinese_label() -> None:
    assert set(EVENT_TYPES) <= set(EVENT_LABELS)
    for etype in EVENT_TYPES:
        label = event_label(etype)
        assert label != etype and not label.isascii(), etype


def test_labels_are_distinct() -> None:
    labels = [event_label(t) for t in EVENT_LABELS]
    assert len(set(labels)) == len(labels)


def test_an_unknown_type_is_still_shown() -> None:
    assert event_label("future_thing") == "其他记录（future_thing）"
