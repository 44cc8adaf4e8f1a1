import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clock import STATION_TZ
from app.context import build_context
from app.demo import generate
from app.reports import FIGURES, Period, Reports

pytestmark = pytest.mark.integration
NOW = dt.datetime(2024, 12, 20, 9, 0, tzinfo=dt.timezone.utc)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(1, 10_000), count=st.integers(20, 150), days=st.integers(1, 20),
       kind=st.sampled_from(["day", "week", "month"]))
def test_every_figure_equals_the_intakes_behind_it(seed, count, days, kind):
    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(Path(tmp) / "r.sqlite3")
        try:
            _st, admin = ctx.staff.setup_station(
                code="XX01", name="城关镇便民服务中心", centre_name="新乡县政务服务中心", jurisdiction="xinxiang",
                admin_username="admin", admin_display_name="管理员", admin_password="admin1234",
            )
            sup = ctx.staff.create_account(admin, username="zhang", display_name="张静", role="supervisor",
                                           password="super1234")
            generate(ctx.sessions, ctx.catalogs.current, count, days=days, seed=seed, now=NOW)
            reports = Reports(ctx.sessions, lambda: ctx.catalogs.current)
            period = Period.of(kind, NOW.astimezone(STATION_TZ).date() - dt.timedelta(days=seed % days))
            rec = reports.reconcile(sup, period, NOW)
            for figure in FIGURES:
                assert rec.counts[figure] == len(reports.intakes_for(sup, figure, period, NOW)), figure
            # breakdowns add up to the intakes of the period
            total = sum(n for _, _, n in rec.by_bundle)
            assert total == sum(n for _, n in rec.by_clerk) == sum(n for _, n in rec.by_hour)
            # sanity of the state figures against each other
            c = rec.counts
            assert c["digitised"] <= c["received"] and c["pushed"] <= c["received"]
            assert c["awaiting_supplement"] <= c["tolerated"]
            for m in rec.metrics:
                assert m.denominator == 0 or 0 <= m.value <= 100
        finally:
            ctx.close()


def test_period_bounds():
    d = dt.date(2024, 12, 18)  # a Wednesday
    assert Period.of("week", d) == Period("week", dt.date(2024, 12, 16), dt.date(2024, 12, 22))
    assert Period.of("month", d) == Period("month", dt.date(2024, 12, 1), dt.date(2024, 12, 31))
    assert Period.of("month", dt.date(2024, 2, 10)).end == dt.date(2024, 2, 29)
