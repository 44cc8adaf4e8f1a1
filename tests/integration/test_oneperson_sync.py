"""一人一档 over sync: an intake that reused a page by reference reaches the real hub on
loopback with its events and its page, and the page's bytes are sent once (with the first
intake), not again for the intake that reused it."""

import datetime as dt
import random

import pytest
from sqlalchemy import delete, select

from app.clock import FixedClock
from app.views import ApplicantInput
from local_db.models import SyncItem
from sync.engine import SyncEngine
from sync.hub.models import HubManifestPage, HubPageHolder
from sync.keystore import MemoryTokenStore
from tests.expected_logs import SYNC_PAUSED
from tests.integration.test_sync_e2e import FAST
from tests.sync_doubles import NEWBORN_ANSWERS, assert_mirrored, intake_with_pages, station

pytestmark = [
    pytest.mark.integration,
    SYNC_PAUSED,
]
T0 = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)


def reuse_after_push(tmp_path, catalog, hub, before_second=None):
    """A first intake pushed with its pages; 20 days on a second intake for the same person
    reuses its household register by reference and is pushed in turn. BEFORE_SECOND(origin,
    engine) runs in between. Returns (ctx, second intake, reused material ids, {material: sha}
    of the first, shas the second push read from the page store, the second drain's report)."""
    clock = FixedClock(T0)
    ctx, clerk = station(tmp_path / "XX01", "XX01", clock, catalog)
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    first = intake_with_pages(ctx, clerk, random.Random(3))
    ctx.reuse.consent(clerk, ctx.queries.get(first).number, grant=True)
    clock.set(T0 + dt.timedelta(minutes=12))  # the worker's next turn
    eng.run_until_idle(max_seconds=30)
    assert ctx.queries.get(first).pushed_at is not None  # its pages are at the hub
    origin = {p.material_id: p.sha256 for p in ctx.queries.get(first).pages}
    if before_second is not None:
        before_second(origin, eng)

    clock.set(T0 + dt.timedelta(days=20))
    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(
        clerk, sid, ApplicantInput(name="张三", resident_id="11010519491231002X")
    )
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, NEWBORN_ANSWERS)
    offer = ctx.reuse.offer(sid)
    reused = [m.line_id for m in offer.materials]
    assert "household_register" in reused
    ctx.reuse.accept(clerk, sid, [f.field for f in offer.fields], reused)
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(
        clerk,
        sid,
        {m.id: "collected" for m in lines if m.produced_by is None and m.state == "missing"},
    )
    ctx.intake.finish(clerk, sid)
    for m in ctx.intake.checklist(sid).materials:
        if m.needs_pages and m.id not in reused:
            ctx.pages.attach_page(clerk, sid, m.id, random.randbytes(3000), "image/jpeg")

    read: list[str] = []
    real_get = ctx.attachments.get

    def counting_get(sha, *a, **kw):
        read.append(sha)
        return real_get(sha, *a, **kw)

    ctx.attachments.get = counting_get  # what the page push reads is what it sends
    clock.set(clock.now() + dt.timedelta(minutes=12))
    report = eng.run_until_idle(max_seconds=30)
    ctx.attachments.get = real_get
    return ctx, sid, reused, origin, set(read), report


def manifest_pages(hub, sid) -> set[str]:
    with hub.store.sessions() as s:
        return set(
            s.scalars(select(HubManifestPage.sha256).where(HubManifestPage.submission_id == sid))
        )


def test_reused_pages_reach_the_hub_once(tmp_path, catalog, hub):
    ctx, sid, reused, origin, sent, _ = reuse_after_push(tmp_path, catalog, hub)
    assert ctx.queries.get(sid).pushed_at is not None
    assert_mirrored(ctx, hub.store, hub.blobs.read)  # every event and page at the hub, same bytes
    reused_shas = {origin[m] for m in reused}
    assert reused_shas <= manifest_pages(hub, sid)  # the hub lists the reused pages
    assert not reused_shas & sent  # and was not sent their bytes a second time
    assert sent  # the new intake's own pages were sent


def test_a_reused_page_the_hub_no_longer_holds_is_sent_again_without_a_failure(
    tmp_path, catalog, hub
):
    # the hub lost its record of the page (restored from an older backup, say): the one-request
    # push left the bytes out, the hub asks for them, they go, and the events follow
    counted: list[str] = []

    def forget(origin, eng):
        with hub.store.sessions() as s, s.begin():
            s.execute(
                delete(HubPageHolder).where(HubPageHolder.sha256 == origin["household_register"])
            )
        real = eng.work.outbox.record_failure

        def spy(failure, *a, **kw):
            counted.append(f"{failure.kind}:{failure.code}")
            return real(failure, *a, **kw)

        eng.work.outbox.record_failure = spy

    ctx, sid, _, origin, sent, report = reuse_after_push(tmp_path, catalog, hub, forget)
    assert ctx.queries.get(sid).pushed_at is not None
    assert_mirrored(ctx, hub.store, hub.blobs.read)
    assert origin["household_register"] in sent  # asked for, so sent
    # the batch is redone at once (sync.interrupted, retry in 0 s), nothing counted on an item
    assert report.events_parked == 0 and set(report.failures) <= {"sync.interrupted"}
    assert counted == []  # no event or page was counted as failing on the way
    with ctx.sessions() as s:
        assert s.scalars(select(SyncItem).where(SyncItem.kind == "event")).all() == []
