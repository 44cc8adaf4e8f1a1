"""The supervisor's figure 线上申请2小时内审核: this station's reviews answered within two hours of
arrival at the hub over all it answered; waiting ones are pending, not missed."""

import datetime as dt

from app.reports import Period
from local_db.engine import write_tx
from local_db.models import OnlineApplication

ARRIVED = dt.datetime(2024, 12, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 on 2 December at the station


def row(n, status, *, after=None, by="XX01", arrived=ARRIVED):
    return OnlineApplication(
        id=f"00000000-0000-0000-0000-{n:012d}",
        platform_ref=f"ZW-{n}",
        bundle_id="newborn_birth",
        data="{}",
        received_at=arrived,
        status=status,
        claimed_by=by,
        answered_at=arrived + after if after is not None else None,
        updated_at=arrived,
    )


def test_online_reviews_within_two_hours(ctx, staff):
    with write_tx(ctx.sessions) as s:
        s.add_all(
            [
                row(1, "answered", after=dt.timedelta(hours=1, minutes=59)),
                row(2, "answered", after=dt.timedelta(hours=2)),  # exactly two hours: in time
                row(3, "answered", after=dt.timedelta(hours=2, minutes=1)),  # late
                row(4, "answered", after=dt.timedelta(minutes=5), by="XX02"),  # another window
                row(5, "claimed"),  # still in review: pending
                row(6, "open", by=None),  # nobody's yet: not this station's
                row(
                    7,
                    "answered",
                    after=dt.timedelta(minutes=1),
                    arrived=ARRIVED + dt.timedelta(days=1),
                ),  # another day
            ]
        )
    rec = ctx.reports.reconcile(
        staff["supervisor"], Period.of("day", dt.date(2024, 12, 2)), ARRIVED
    )
    (m,) = [m for m in rec.metrics if m.name == "online_review_within_2h"]
    assert m.label == "线上申请2小时内审核"
    assert (m.numerator, m.denominator, m.pending) == (2, 3, 1)
    assert m.value == 66.7 and m.met is False
