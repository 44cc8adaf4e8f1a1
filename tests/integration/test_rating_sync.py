"""好差评 through the real hub on loopback: a rating, a 未评价 and a closed follow-up reach the hub
once each (the hub stores events by id), even when they come again by the USB route; the hub's
projection keeps level and reason codes, never the applicant's words."""

import json
import random

import pytest
from sqlalchemy import select

from app.cli import main
from sync.engine import SyncEngine
from sync.hub.importer import import_file
from sync.hub.models import HubEvent, HubRating
from sync.keystore import MemoryTokenStore
from tests.sync_doubles import intake_with_pages, station

from .test_sync_e2e import FAST

pytestmark = pytest.mark.integration


def test_ratings_arrive_at_the_hub_once(tmp_path, clock, catalog, hub, capsys):
    ctx, clerk = station(tmp_path / "XX01", "XX01", clock, catalog)
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    rng = random.Random(3)
    good, bad, declined = (intake_with_pages(ctx, clerk, rng) for _ in range(3))
    ctx.ratings.rate(clerk, good, "satisfied")
    rating = ctx.ratings.rate(clerk, bad, "very_dissatisfied", ["attitude", "other"], "张三说很慢")
    ctx.ratings.decline(clerk, declined)
    usb = eng.export(tmp_path / "XX01.intake-export")  # the same events by the USB route too
    eng.run_until_idle(max_seconds=30)
    again = import_file(hub.store, hub.blobs, usb.path)
    assert again["events"]["stored"] == 0 and again["events"]["duplicate"] == usb.events
    ctx.ratings.close_followup(None, rating.id, "已约谈")
    eng.run_until_idle(max_seconds=30)

    with hub.store.sessions() as s:
        types = s.scalars(
            select(HubEvent.type).where(
                HubEvent.type.in_(("rated", "rating_declined", "rating_followed_up"))
            )
        ).all()
        rows = {r.submission_id: r for r in s.scalars(select(HubRating))}
    assert sorted(types) == ["rated", "rated", "rating_declined", "rating_followed_up"]
    assert set(rows) == {good, bad, declined}
    assert rows[good].level == "satisfied" and rows[good].followup_closed_at is None
    assert rows[bad].level == "very_dissatisfied" and rows[bad].reasons == "attitude,other"
    assert rows[bad].followup_closed_at is not None
    assert rows[declined].level is None
    assert rows[bad].clerk_id == clerk.id and rows[bad].number == ctx.queries.get(bad).number
    with hub.store.sessions() as s:
        sealed = s.scalars(select(HubEvent.payload).where(HubEvent.type == "rated")).all()
    assert all("张三" not in p for p in sealed)

    db = f"sqlite:///{tmp_path}/hub.sqlite3"
    assert main(["hub", "ratings", "--db", db, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == [
        {
            "station": "XX01",
            "levels": {
                "very_satisfied": 0,
                "satisfied": 1,
                "basic": 0,
                "dissatisfied": 0,
                "very_dissatisfied": 1,
            },
            "declined": 1,
            "open_followups": 0,
        }
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"level": ["satisfied"]},
        {"level": {"x": 1}},
        {"level": "great"},
        {"level": "dissatisfied", "reasons": [{"a": 1}]},
        {"level": "dissatisfied", "reasons": "slow"},
        {"level": "dissatisfied", "reasons": ["rude"]},
    ],
)
def test_a_rating_the_hub_does_not_understand_is_stored_not_projected(hub, payload):
    """A newer or broken station's rating event: kept as an event, left out of hub_ratings,
    never a server error."""
    from sync.hub.ratings import project_rating

    ev = {
        "id": "0" * 8 + "-0000-4000-8000-" + "0" * 12,
        "submission_id": "1" * 8 + "-0000-4000-8000-" + "1" * 12,
        "type": "rated",
        "payload": payload,
        "at": "2024-12-02T01:30:00.000000Z",
    }
    with hub.store.sessions() as s:
        project_rating(s, 1, ev)
        assert s.scalars(select(HubRating)).all() == []
