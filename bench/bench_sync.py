"""Sync benchmark: prints ONE JSON object.

- drain: 10 000 queued submissions (received and digitised, 2 captured pages each, 20-60 KB per
  page like a compressed 150-dpi A4 scan), never synced, drained by the real engine to the real
  hub (a separate process on loopback, SQLite) until every one is marked pushed: submissions/s
  (target >= 200/s, DESIGN §12);
- wire: a drain of 2 000 more such submissions through a counting relay: bytes on the wire (both
  directions, HTTP headers included) against payload bytes (page bytes + each event's JSON, the
  "pushed" events the drain adds included) (target <= 1.05); event batches travel gzip-compressed;
- resume: a queue with large pages is uploaded through a relay that cuts the connection once in
  the middle of a page; after resuming, the bytes sent beyond a clean run of the same queue.

The queue is built by cloning a few intakes made through IntakeService (real events, pages via
attach_page) with fresh ids, numbers, sequence numbers and page bytes.
Usage: python bench/bench_sync.py [--count 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text

from app.clock import FixedClock, local_day
from app.numbering import format_intake_number
from local_db.models import (
    Answer,
    Applicant,
    Attachment,
    Counter,
    Event,
    MaterialMark,
    Submission,
    SubmissionItem,
)
from sync.engine import SyncEngine
from sync.hub.store import HubStore
from sync.jobs.shared import SyncConfig
from sync.keystore import MemoryTokenStore
from sync.protocol import canonical, ts
from tests.sync_doubles import NEWBORN_ANSWERS, FaultProxy, small_catalog, station

T0 = dt.datetime(2024, 12, 2, 1, 30, tzinfo=dt.UTC)


def template_intake(ctx: Any, clerk: Any, rng: random.Random, pages: int) -> str:
    """A received intake whose paper is captured: exempt what may be exempt, PAGES pages."""
    from app.views import ApplicantInput

    sid = ctx.intake.start(clerk)
    ctx.intake.set_applicant(
        clerk,
        sid,
        ApplicantInput(
            name="张三",
            resident_id="11010519491231002X",
            phone="13812345678",
            address="人民路1号",
            sources={},
        ),
    )
    ctx.intake.choose(clerk, sid, "新生儿出生")
    ctx.intake.answer_many(clerk, sid, NEWBORN_ANSWERS)
    lines = ctx.intake.checklist(sid).materials
    ctx.intake.mark_many(
        clerk,
        sid,
        {m.id: "exempt" if m.exemptable else "collected" for m in lines if m.produced_by is None},
    )
    ctx.intake.finish(clerk, sid)
    paper = [m for m in ctx.intake.checklist(sid).materials if m.needs_pages]
    for n in range(pages):
        m = paper[min(n, len(paper) - 1)]
        ctx.pages.attach_page(
            clerk, sid, m.id, rng.randbytes(rng.randint(20_000, 60_000)), "image/jpeg"
        )
    return sid


def build_queue(
    base: Path, count: int, seed: int = 1, big_pages: int = 0
) -> tuple[Path, Path, dict[str, int]]:
    """A station store with COUNT queued submissions; returns (db, catalog, sizes)."""
    rng = random.Random(seed)
    catalog = small_catalog(base / "catalog")
    clock = FixedClock(T0)
    ctx, clerk = station(base / "st", "XX01", clock, catalog)
    templates = [template_intake(ctx, clerk, rng, 2) for _ in range(min(20, count))]
    with ctx.sessions() as s:
        rows: dict[str, dict[str, Any]] = {}
        for sid in templates:
            sub = s.get(Submission, sid)
            rows[sid] = {
                "sub": {c.key: getattr(sub, c.key) for c in Submission.__table__.columns},
                "app": {
                    c.key: getattr(a, c.key)
                    for a in [s.get(Applicant, sub.applicant_id)]
                    for c in Applicant.__table__.columns
                },
                "items": [
                    {c.key: getattr(r, c.key) for c in SubmissionItem.__table__.columns}
                    for r in s.scalars(
                        select(SubmissionItem).where(SubmissionItem.submission_id == sid)
                    )
                ],
                "ans": [
                    {c.key: getattr(r, c.key) for c in Answer.__table__.columns}
                    for r in s.scalars(select(Answer).where(Answer.submission_id == sid))
                ],
                "marks": [
                    {c.key: getattr(r, c.key) for c in MaterialMark.__table__.columns}
                    for r in s.scalars(
                        select(MaterialMark).where(MaterialMark.submission_id == sid)
                    )
                ],
                "pages": [
                    {c.key: getattr(r, c.key) for c in Attachment.__table__.columns}
                    for r in s.scalars(select(Attachment).where(Attachment.submission_id == sid))
                ],
                "events": [
                    {c.key: getattr(r, c.key) for c in Event.__table__.columns}
                    for r in s.scalars(
                        select(Event).where(Event.submission_id == sid).order_by(Event.station_seq)
                    )
                ],
            }
        seq = s.get(Counter, "event_seq").value
        next_app = s.scalar(select(Applicant.id).order_by(Applicant.id.desc()).limit(1)) + 1
    per_day = 2000
    batch: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("app", "sub", "items", "ans", "marks", "pages", "events")
    }
    big_left = big_pages

    def flush() -> None:
        with ctx.sessions.begin() as s:
            for key, model in (
                ("app", Applicant),
                ("sub", Submission),
                ("items", SubmissionItem),
                ("ans", Answer),
                ("marks", MaterialMark),
                ("pages", Attachment),
                ("events", Event),
            ):
                if batch[key]:
                    s.execute(insert(model), batch[key])
                    batch[key].clear()

    for n in range(count - len(templates)):
        t = rows[templates[n % len(templates)]]
        sid = str(uuid.uuid4())
        day_index, k = divmod(n, per_day)
        day = local_day(T0) + dt.timedelta(days=1 + day_index)
        shift = dt.timedelta(days=1 + day_index, seconds=k * 10)
        number = format_intake_number("XX01", day, k + 1)
        batch["app"].append(dict(t["app"], id=next_app))
        batch["sub"].append(
            dict(
                t["sub"],
                id=sid,
                number=number,
                applicant_id=next_app,
                local_date=day.isoformat(),
                **{
                    f: (t["sub"][f] + shift if t["sub"][f] else None)
                    for f in (
                        "created_at",
                        "updated_at",
                        "finished_at",
                        "received_at",
                        "digitised_at",
                    )
                },
            )
        )
        next_app += 1
        batch["items"] += [dict(r, submission_id=sid) for r in t["items"]]
        batch["ans"] += [dict(r, submission_id=sid) for r in t["ans"]]
        batch["marks"] += [
            dict(r, submission_id=sid, marked_at=r["marked_at"] + shift) for r in t["marks"]
        ]
        new_pages: dict[str, dict[str, Any]] = {}
        for p in t["pages"]:
            size = 16 * 1024 * 1024 if big_left > 0 else rng.randint(20_000, 60_000)
            big_left -= 1
            sha = (
                ctx.attachments.put(rng.randbytes(size))
                if size > 1_000_000
                else _put_fast(ctx, rng.randbytes(size))
            )
            att = dict(
                p,
                id=str(uuid.uuid4()),
                submission_id=sid,
                sha256=sha,
                size=size,
                created_at=p["created_at"] + shift,
            )
            new_pages[p["id"]] = att
            batch["pages"].append(att)
        for e in t["events"]:
            payload = json.loads(e["payload"])
            if e["type"] in ("notified", "received"):
                payload["number"] = number
            if e["type"] == "page_attached":
                att = new_pages[payload["attachment"]]
                payload.update(attachment=att["id"], sha256=att["sha256"], size=att["size"])
            seq += 1
            batch["events"].append(
                dict(
                    e,
                    id=str(uuid.uuid4()),
                    station_seq=seq,
                    submission_id=sid,
                    payload=json.dumps(payload, ensure_ascii=False, sort_keys=True),
                    at=e["at"] + shift,
                )
            )
        if len(batch["sub"]) >= 1000:
            flush()
    flush()
    with ctx.sessions.begin() as s:
        s.get(Counter, "event_seq").value = seq
    with ctx.sessions() as s:
        s.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    db = ctx.db_path
    ctx.close()
    os.sync()  # setup's pages were written without fsync: flush them now, not during the drain
    return db, catalog, {"templates": len(templates)}


def _put_fast(ctx: Any, data: bytes) -> str:
    """Setup only: a page into the attachment store without the per-file fsync."""
    return str(ctx.attachments.put(data, durable=False))


def payload_bytes(db: Path, catalog: Path) -> tuple[int, int, int]:
    """(page bytes, event JSON bytes, events) of everything queued."""
    from app.context import build_context

    ctx = build_context(db, catalog_path=catalog)
    with ctx.sessions() as s:
        pages = s.scalar(
            text(
                "SELECT coalesce(sum(size), 0) FROM (SELECT DISTINCT address, size FROM attachments)"
            )
        )
        ev = 0
        n = 0
        for e in s.scalars(select(Event)):
            n += 1
            ev += len(
                canonical(
                    {
                        "id": e.id,
                        "seq": e.station_seq,
                        "submission_id": e.submission_id,
                        "type": e.type,
                        "payload": json.loads(e.payload),
                        "clerk_id": e.clerk_id,
                        "at": ts(e.at),
                    }
                )
            )
    ctx.close()
    return int(pages), ev, n


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Hub:
    """The hub as its own process (its own interpreter and core), like a county server."""

    def __init__(self, base: Path) -> None:
        self.db = f"sqlite:///{base}/hub.sqlite3"
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sync.hub",
                "--port",
                str(self.port),
                "--db",
                self.db,
                "--blobs",
                str(base / "hub-blobs"),
            ],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert "listening" in (self.proc.stdout.readline() if self.proc.stdout else "")
        self.store = HubStore(self.db)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.store.close()


def engine_for(
    db: Path, catalog: Path, url: str, hub: Hub, config: SyncConfig
) -> tuple[Any, SyncEngine]:
    from app.context import build_context

    ctx = build_context(db, catalog_path=catalog)
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=config)
    eng.enroll(url, hub.store.issue_enroll_code("XX01"))
    return ctx, eng


def drain(base: Path, count: int, counted: bool) -> dict[str, Any]:
    """COUNTED: through the counting relay (it runs in this process and takes CPU from the
    station, so the throughput figure comes from a run without it)."""
    db, catalog, _ = build_queue(base, count)
    pages, _events_json, _n_events = payload_bytes(db, catalog)
    hub = Hub(base)
    proxy = FaultProxy(hub.port).start() if counted else None
    try:
        url = proxy.url if proxy else f"http://127.0.0.1:{hub.port}"
        ctx, eng = engine_for(
            db, catalog, url, hub, SyncConfig(status_interval=5, catalog_interval=3600)
        )
        marking = [0.0]
        real_mark = ctx.intake.mark_pushed_many

        def timed_mark(sids: list[str]) -> list[str]:
            t0 = time.perf_counter()
            try:
                return real_mark(sids)
            finally:
                marking[0] += time.perf_counter() - t0

        ctx.intake.mark_pushed_many = timed_mark  # type: ignore[method-assign]
        top = eng.outbox.max_seq()
        on_hub = [0.0]
        real_commit = eng.outbox.commit_batch

        def noting_commit(**kw: Any) -> None:
            real_commit(**kw)
            if not on_hub[0] and eng.outbox.cursor() >= top:
                on_hub[0] = time.perf_counter()

        eng.outbox.commit_batch = noting_commit  # type: ignore[method-assign]
        with ctx.sessions() as s:
            waiting = s.scalar(
                text(
                    "SELECT count(*) FROM submissions WHERE state = 'digitised' AND pushed_at IS NULL"
                )
            )
        if proxy:
            proxy.reset_counts()
        t = time.perf_counter()
        report = eng.run_until_idle(max_seconds=1800)
        elapsed = time.perf_counter() - t
        with ctx.sessions() as s:
            pushed = s.scalar(text("SELECT count(*) FROM submissions WHERE pushed_at IS NOT NULL"))
            total_events = s.scalar(text("SELECT count(*) FROM events"))
        counts = hub.store.counts()
        # the "pushed" events the drain itself produced are payload too
        pages2, events_json2, _ = payload_bytes(db, catalog)
        ctx.close()
    finally:
        if proxy:
            proxy.stop()
        hub.stop()
    payload = pages2 + events_json2
    if proxy:
        wire = proxy.up + proxy.down
        return {
            "submissions": waiting,
            "pushed": pushed,
            "events": total_events,
            "pages": report.pages_sent,
            "page_bytes": pages,
            "event_json_bytes": events_json2,
            "payload_bytes": payload,
            "wire_bytes_up": proxy.up,
            "wire_bytes_down": proxy.down,
            "wire_over_payload": round(wire / payload, 4),
            "target_wire_over_payload": 1.05,
            "http_requests": proxy.requests,
        }
    return {
        "submissions": waiting,
        "pushed": pushed,
        "seconds": round(elapsed, 2),
        "submissions_per_s": round(pushed / elapsed, 1),
        "target_submissions_per_s": 200,
        "seconds_until_hub_holds_all": round(on_hub[0] - t, 2),
        "seconds_in_mark_pushed": round(marking[0], 2),  # IntakeService.mark_pushed_many, batched
        "mark_pushed_ms_each": round(marking[0] / max(1, pushed) * 1000, 2),
        "submissions_per_s_excluding_mark_pushed": round(pushed / (elapsed - marking[0]), 1),
        "events": total_events,
        "hub_events": counts["events"],
        "hub_submissions": counts["submissions"],
        "pages": report.pages_sent,
        "page_bytes": pages,
        "payload_bytes": payload,
        "failures": report.failures,
    }


def resume(base: Path) -> dict[str, Any]:
    """Clean run vs a run cut once mid-page then resumed, on copies of the same queue."""
    db, _catalog, _ = build_queue(base / "a", 200, seed=7, big_pages=3)
    shutil.copytree(base / "a", base / "b")
    ups = {}
    resent_report: dict[str, Any] = {}
    for name in ("b", "a"):
        hub = Hub(base / name)
        proxy = FaultProxy(hub.port).start()
        try:
            ctx, eng = engine_for(
                base / name / "st" / db.name,
                base / name / "catalog",
                proxy.url,
                hub,
                SyncConfig(
                    status_interval=3600, catalog_interval=3600, backoff_base=0.05, backoff_cap=0.2
                ),
            )
            proxy.reset_counts()
            if name == "a":
                proxy.cut_after = 24 * 1024 * 1024  # in the middle of the second 16 MB page
            report = eng.run_until_idle(max_seconds=300)
            if name == "a":
                resent_report = {"interruptions": report.failures}
            ups[name] = proxy.up
            ctx.close()
        finally:
            proxy.stop()
            hub.stop()
    return {
        "clean_bytes_up": ups["b"],
        "interrupted_bytes_up": ups["a"],
        "bytes_resent_after_resume": ups["a"] - ups["b"],
        **resent_report,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=10_000)
    p.add_argument(
        "--wire-count", type=int, default=2_000, help="submissions in the counted (relayed) drain"
    )
    args = p.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        t = time.perf_counter()
        out: dict[str, Any] = {"drain": drain(base / "drain", args.count, counted=False)}
        shutil.rmtree(base / "drain", ignore_errors=True)
        out["wire"] = drain(base / "wire", min(args.count, args.wire_count), counted=True)
        shutil.rmtree(base / "wire", ignore_errors=True)
        out["resume"] = resume(base / "resume")
        out["total_seconds"] = round(time.perf_counter() - t, 1)
        out["cpu_count"] = os.cpu_count()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
