"""Realistic demo submissions in bulk (benchmarks, demos, training).

Generated people and enterprises are invented (valid check digits, plausible names); each
submission gets the same events the intake service would write, validated by the same state
machine, and its projection rows. Rows go in with executemany in large transactions so a million
submissions take minutes, not days.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app import acceptance
from app import checklist as engine
from app.catalog import Bundle, Catalog
from app.clock import STATION_TZ
from app.demo_people import fake_applicant
from app.numbering import format_intake_number
from app.security import hash_password
from app.state import SubmissionState, apply, item_outcomes
from local_db.crypto import DataKey, applicant_index
from local_db.engine import store_key, write_tx
from local_db.keys import FileSecretStore, KeyringSecretStore, SecretStore, keyring_usable
from local_db.models import (
    Answer,
    Applicant,
    Counter,
    Event,
    MaterialMark,
    Staff,
    Station,
    Submission,
    SubmissionItem,
)

log = logging.getLogger("intake.demo")

DEMO_STATIONS = [
    ("XX01", "新乡县政务服务中心一件事综合窗口", "新乡县政务服务中心", "xinxiang", "410721"),
    ("XX2A", "七里营镇便民服务中心", "新乡县政务服务中心", "xinxiang", "410721"),
    ("MX01", "眉县政务服务中心一件事综合窗口", "眉县政务服务中心", "meixian", "610326"),
    ("HB01", "三门峡市湖滨区政务服务中心", "三门峡市政务服务中心", "sanmenxia", "411202"),
]
DEMO_CLERKS = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "周婷"]
DEMO_PASSWORD = "demo1234"


@dataclass(frozen=True)
class DemoStats:
    submissions: int
    events: int
    stations: int
    clerks: int
    days: int


def ensure_demo_staff(
    sessions: sessionmaker[Session], now: dt.datetime
) -> tuple[list[int], dict[int, list[int]]]:
    """Demo stations and clerks (one account per clerk name per station); returns their ids."""
    pw = hash_password(DEMO_PASSWORD)  # one hash reused: scrypt is slow on purpose
    station_ids: list[int] = []
    clerks: dict[int, list[int]] = {}
    with write_tx(sessions) as s:
        has_local = bool(
            s.scalar(select(func.count()).select_from(Station).where(Station.is_local))
        )
        for n, (code, name, centre, jur, _region) in enumerate(DEMO_STATIONS):
            st = s.scalars(select(Station).where(Station.code == code)).first()
            if st is None:
                st = Station(
                    code=code,
                    name=name,
                    centre_name=centre,
                    jurisdiction=jur,
                    progress_phone="0373-12345",
                    is_local=(n == 0 and not has_local),
                    created_at=now,
                )
                s.add(st)
                s.flush()
            station_ids.append(st.id)
            ids = []
            for k, cname in enumerate(DEMO_CLERKS[:4] if n else DEMO_CLERKS):
                username = f"{code.lower()}_clerk{k + 1}"
                staff = s.scalars(select(Staff).where(Staff.username == username)).first()
                if staff is None:
                    staff = Staff(
                        station_id=st.id,
                        username=username,
                        display_name=cname,
                        role="clerk",
                        password_hash=pw,
                        active=True,
                        failed_logins=0,
                        created_at=now,
                    )
                    s.add(staff)
                    s.flush()
                ids.append(staff.id)
            clerks[st.id] = ids
            if n == 0:  # the accounts the README lists, so a generated store can be logged into
                for username, display, role, password in DEMO_ACCOUNTS:
                    if s.scalars(select(Staff).where(Staff.username == username)).first() is None:
                        s.add(
                            Staff(
                                station_id=st.id,
                                username=username,
                                display_name=display,
                                role=role,
                                password_hash=pw
                                if password == DEMO_PASSWORD
                                else hash_password(password),
                                active=True,
                                failed_logins=0,
                                created_at=now,
                            )
                        )
    return station_ids, clerks


def generate(
    sessions: sessionmaker[Session],
    catalog: Catalog,
    count: int,
    *,
    days: int = 30,
    seed: int = 1,
    now: dt.datetime | None = None,
    batch: int = 5000,
) -> DemoStats:
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.UTC)
    station_ids, clerks = ensure_demo_staff(sessions, now)
    with sessions() as s:
        stations = {
            st.id: st for st in s.scalars(select(Station).where(Station.id.in_(station_ids)))
        }
        event_seq = s.get(Counter, "event_seq")
        seq0 = event_seq.value if event_seq else 0
        counters = {
            c.name: c.value for c in s.scalars(select(Counter).where(Counter.name.like("num:%")))
        }
    plan = _Planner(catalog, rng)
    today = now.astimezone(STATION_TZ).date()
    rows = _Rows(sessions, store_key(sessions), counters, seq0)
    events_total = 0
    for created, day in _intake_times(rng, count, days, today, now):
        station_id = (
            station_ids[rng.randrange(len(station_ids))] if rng.random() < 0.4 else station_ids[0]
        )
        station = stations[station_id]
        clerk = rng.choice(clerks[station_id])
        key = f"num:{station.code}:{day.isoformat()}"
        counters[key] = counters.get(key, 0) + 1
        number = format_intake_number(station.code, day, counters[key])
        region = next(r for c, *_x, r in DEMO_STATIONS if c == station.code)
        story = plan.story(station.jurisdiction, region, today, (today - day).days)
        sub = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "number": number,
            "station_id": station_id,
            "clerk_id": clerk,
            "jurisdiction": station.jurisdiction,
            "local_date": day.isoformat(),
            "created_at": created,
        }
        events_total += rows.add(sub, story, catalog, rng, now)
        if len(rows.rows["sub"]) >= batch:
            rows.flush()
    rows.flush()
    return DemoStats(
        count, events_total, len(station_ids), sum(len(v) for v in clerks.values()), days
    )


def _intake_times(
    rng: random.Random, count: int, days: int, today: dt.date, now: dt.datetime
) -> list[tuple[dt.datetime, dt.date]]:
    """Spread over days, more recent days a little busier; working hours 08:30-17:30. In the
    order they happened, as a station's store grows (a day's rows lie together in the file, and
    the day's numbers follow the clock)."""
    times = []
    for _ in range(count):
        day = today - dt.timedelta(days=min(days - 1, int(rng.random() ** 1.3 * days)))
        minute = rng.randint(8 * 60 + 30, 17 * 60 + 30)
        created = dt.datetime.combine(
            day, dt.time(minute // 60, minute % 60, rng.randint(0, 59)), tzinfo=STATION_TZ
        )
        if created > now:  # today, later than now: spread over the hours already past
            created = now - dt.timedelta(seconds=rng.randint(0, 6 * 3600))
        times.append((created.astimezone(dt.UTC), day))
    times.sort()
    return times


class _Rows:
    """Rows of a batch of submissions, written with executemany in one transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        data_key: DataKey,
        counters: dict[str, int],
        seq: int,
    ) -> None:
        self.sessions = sessions
        self.data_key = data_key
        self.counters = counters  # intake numbers given per station and day (shared, updated)
        self.seq = seq
        self.rows: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("app", "sub", "item", "ans", "mark", "ev")
        }

    def add(
        self,
        sub: dict[str, Any],
        story: _Story,
        catalog: Catalog,
        rng: random.Random,
        now: dt.datetime,
    ) -> int:
        """One submission (SUB: its id, number, station, clerk, day, time) with its story's
        events replayed through the state machine; returns the number of events."""
        rows, sid, clerk, created = self.rows, sub["id"], sub["clerk_id"], sub["created_at"]
        app_row = story.applicant
        app_row.update(created_at=created, updated_at=created)
        rows["app"].append(app_row)
        state: SubmissionState | None = None
        at = created
        for etype, payload in story.events(sub["number"]):
            state = apply(state, etype, payload, at)
            self.seq += 1
            rows["ev"].append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "station_seq": self.seq,
                    "submission_id": sid,
                    "type": etype,
                    "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str),
                    "clerk_id": None if etype in ("pushed", "item_decided") else clerk,
                    "at": at,
                }
            )
            at += dt.timedelta(
                seconds=rng.randint(5, 40)
                if etype in ("created", "applicant_set", "answered")
                else rng.randint(60, 5000)
            )
            at = min(at, now)
        assert state is not None
        rows["sub"].append(
            {
                **sub,
                "_app": len(rows["app"]) - 1,
                "bundle_id": story.bundle.id,
                "catalog_version": catalog.version,
                "catalog_digest": catalog.digest,
                "state": state.stage,
                "awaiting_supplement": state.awaiting_supplement,
                "verdict": story.result.verdict,
                "updated_at": at,
                "finished_at": state.finished_at,
                "received_at": state.received_at,
                "digitised_at": state.digitised_at,
                "pushed_at": state.pushed_at,
                "tolerance_due": story.due if state.awaiting_supplement else None,
                "delivery_method": "window",
                "delivery_address": "",
                "reduction_separate": story.result.reduction.separate,
                "reduction_merged": story.result.reduction.merged,
            }
        )
        self._details(sid, clerk, created, at, story, state)
        return len(story.event_list)

    def _details(
        self,
        sid: str,
        clerk: int,
        created: dt.datetime,
        at: dt.datetime,
        story: _Story,
        state: SubmissionState,
    ) -> None:
        """The submission's items (with their outcomes on it), answers and marks."""
        rows = self.rows
        first_item = len(rows["item"])
        for pos, item in enumerate(story.items):
            decision = state.decisions.get(item)
            rows["item"].append(
                {
                    "submission_id": sid,
                    "item_id": item,
                    "position": pos,
                    "decision": decision,
                    "active": item in state.items or state.received_at is None,
                    "decision_reason": "材料不符合法定形式" if decision == "rejected" else "",
                    "decided_at": at if decision else None,
                    "first_decided_at": at if decision else None,
                    "delivered_at": at if item in state.delivered_items else None,
                }
            )
        rows["sub"][-1].update(
            item_outcomes(
                (i["decision"], i["decided_at"], i["delivered_at"])
                for i in rows["item"][first_item:]
            )
        )
        rows["sub"][-1].update(
            acceptance.outcomes(
                state.pushed_at,
                ((i["active"], i["first_decided_at"]) for i in rows["item"][first_item:]),
            )
        )
        for q, v in story.answers.items():
            rows["ans"].append(
                {
                    "submission_id": sid,
                    "question_id": q,
                    "value_json": json.dumps(v, ensure_ascii=False),
                }
            )
        for m, mark in story.marks.items():
            if mark == "tolerated" and state.received_at and m not in state.tolerated_outstanding:
                mark = "collected"  # supplemented since
            rows["mark"].append(
                {
                    "submission_id": sid,
                    "material_id": m,
                    "mark": mark,
                    "marked_at": created,
                    "clerk_id": clerk,
                }
            )

    def flush(self) -> None:
        rows = self.rows
        if not rows["sub"]:
            return
        with write_tx(self.sessions) as s:
            first_app = (s.scalar(select(func.max(Applicant.id))) or 0) + 1
            for n, a in enumerate(rows["app"]):
                a["id"] = first_app + n
                a.update(
                    applicant_index(
                        self.data_key,
                        name=a["name"],
                        resident_id=a["resident_id"],
                        phone=a["phone"],
                    )
                )
            for sub in rows["sub"]:
                sub["applicant_id"] = first_app + sub.pop("_app")
            s.execute(insert(Applicant), rows["app"])
            s.execute(insert(Submission), rows["sub"])
            for key, model in (
                ("item", SubmissionItem),
                ("ans", Answer),
                ("mark", MaterialMark),
                ("ev", Event),
            ):
                if rows[key]:
                    s.execute(insert(model), rows[key])
            for name, value in self.counters.items():
                row = s.get(Counter, name)
                if row is None:
                    s.add(Counter(name=name, value=value))
                else:
                    row.value = value
            row = s.get(Counter, "event_seq")
            if row is None:
                s.add(Counter(name="event_seq", value=self.seq))
            else:
                row.value = self.seq
        for v in rows.values():
            v.clear()


@dataclass
class _Story:
    bundle: Bundle
    items: list[str]
    answers: dict[str, object]
    marks: dict[str, str]
    result: engine.Checklist
    applicant: dict[str, Any]
    age_days: int
    due: dt.date | None
    rng: random.Random
    event_list: list[tuple[str, dict[str, Any]]]

    def events(self, number: str) -> Iterator[tuple[str, dict[str, Any]]]:
        self.event_list = list(self._events(number))
        return iter(self.event_list)

    def _events(self, number: str) -> Iterator[tuple[str, dict[str, Any]]]:
        rng = self.rng
        yield (
            "created",
            {"station": number.split("-")[0], "catalog_version": "", "jurisdiction": None},
        )
        yield (
            "applicant_set",
            {"sources": {"name": "card", "resident_id": "card"} if rng.random() < 0.8 else {}},
        )
        yield "bundle_chosen", {"bundle": self.bundle.id, "items": self.items}
        if self.answers:
            yield "answered", {"answers": self.answers}
        if self.marks:
            yield "material_marked", {"marks": self.marks}
        if self.result.verdict == "incomplete":
            yield "notified", {"number": number, "missing": list(self.result.missing)}
            return
        active = [i.id for i in self.result.active_items]
        yield (
            "received",
            {
                "number": number,
                "items": active,
                "tolerated": list(self.result.tolerated),
                "due": self.due.isoformat() if self.due else None,
                "verdict": self.result.verdict,
            },
        )
        if rng.random() < 0.03:
            yield "withdrawn", {"reason": "申请人主动撤回"}
            return
        if self.age_days == 0 and rng.random() < 0.3:
            return
        yield "digitised", {}
        if self.age_days == 0 and rng.random() < 0.2:
            return
        yield "pushed", {}
        if self.age_days == 0:
            return
        accepted = []
        for item in active:
            decision = "rejected" if rng.random() < 0.04 else "accepted"
            if decision == "accepted":
                accepted.append(item)
            yield (
                "item_decided",
                {
                    "item": item,
                    "decision": decision,
                    "reason": "材料不符合法定形式" if decision == "rejected" else "",
                },
            )
        if self.age_days < 2:
            return
        for item in accepted:
            yield "item_decided", {"item": item, "decision": "completed", "reason": ""}
        if self.result.tolerated and accepted:
            yield "supplemented", {"materials": list(self.result.tolerated)}
        if self.age_days >= 3 or rng.random() < 0.5:
            yield (
                "delivered",
                {"method": "window", "items": active, "tracking_number": "", "address": ""},
            )


class _Planner:
    """Picks bundles, items, answers and marks; checklists are cached per combination."""

    def __init__(self, catalog: Catalog, rng: random.Random) -> None:
        self.catalog = catalog
        self.rng = rng
        self._cache: dict[tuple[Any, ...], engine.Checklist] = {}
        personal = [b for b in catalog.bundles if b.kind == "personal"]
        enterprise = [b for b in catalog.bundles if b.kind == "enterprise"]
        self.by_kind = {"personal": personal, "enterprise": enterprise}

    def story(self, jurisdiction: str | None, region: str, today: dt.date, age_days: int) -> _Story:
        rng = self.rng
        kind = "personal" if rng.random() < 0.65 or not self.by_kind["enterprise"] else "enterprise"
        pool = (
            [b for b in self.by_kind[kind] if jurisdiction in b.jurisdictions]
            or self.by_kind[kind]
            or list(self.catalog.bundles)
        )
        bundle, items, answers, base = self._choice(pool, jurisdiction)
        complete = rng.random() < 0.85
        marks: dict[str, str] = {}
        for line in base.materials:
            r = rng.random()
            if line.produced_by is not None:
                continue  # issued within the bundle: nothing to mark
            if line.exemptable and r < 0.35:
                marks[line.id] = "exempt"
            elif line.tolerable and r < 0.45:
                marks[line.id] = "tolerated"
            elif complete or r < 0.7:
                marks[line.id] = "collected"
        result = engine.evaluate(
            bundle, items, answers, marks, catalog=self.catalog, jurisdiction=jurisdiction
        )
        due = today + dt.timedelta(days=10) if result.tolerated else None
        applicant = fake_applicant(rng, kind, region, today)
        return _Story(bundle, items, answers, marks, result, applicant, age_days, due, rng, [])

    def _choice(
        self, pool: list[Bundle], jurisdiction: str | None
    ) -> tuple[Bundle, list[str], dict[str, object], engine.Checklist]:
        """A bundle, items and answers that leave at least one item active (with no marks)."""
        rng = self.rng
        for _attempt in range(20):  # answers may switch every chosen item off: pick again
            bundle = rng.choice(pool)
            offered = bundle.items_in(jurisdiction)
            items = [i.id for i in offered if not i.optional or rng.random() < 0.3] or [
                offered[0].id
            ]
            answers: dict[str, object] = {}
            for q in bundle.questions:
                if q.type == "bool":
                    answers[q.id] = rng.random() < 0.3
                elif q.type == "number":
                    lo = q.min if q.min is not None else 0
                    hi = q.max if q.max is not None else 1000
                    answers[q.id] = int(lo + (min(hi, lo + 600) - lo) * rng.random())
                else:
                    answers[q.id] = rng.choice(q.choices)[0]
            key = (bundle.id, tuple(items), tuple(sorted(answers.items())), jurisdiction)
            base = self._cache.get(key)
            if base is None:
                base = engine.evaluate(
                    bundle, items, answers, {}, catalog=self.catalog, jurisdiction=jurisdiction
                )
                self._cache[key] = base
            if base.active_items:
                break
        assert base is not None  # the loop ran at least once
        return bundle, items, answers, base


DEMO_ACCOUNTS = (  # README states these; demo mode only
    ("admin", "系统管理员", "admin", "admin1234"),
    ("zhangjing", "张静", "supervisor", "super1234"),
    ("wangfang", "王芳", "clerk", "clerk1234"),
    ("lina", "李娜", "clerk", "clerk1234"),
)


def setup_demo_station(staff_service: Any) -> None:
    """Demo mode: a station of 新乡县 and the accounts in DEMO_ACCOUNTS, created once."""
    if not staff_service.needs_setup():
        return
    _station, admin = staff_service.setup_station(
        code="XX01",
        name="新乡县政务服务中心一件事综合窗口",
        centre_name="新乡县政务服务中心",
        jurisdiction="xinxiang",
        admin_username=DEMO_ACCOUNTS[0][0],
        admin_display_name=DEMO_ACCOUNTS[0][1],
        admin_password=DEMO_ACCOUNTS[0][3],
        progress_phone="0373-5585000",
    )
    for username, name, role, password in DEMO_ACCOUNTS[1:]:
        staff_service.create_account(
            admin, username=username, display_name=name, role=role, password=password
        )


def demo_secrets(data_dir: Path) -> SecretStore:
    """The OS keyring when there is one; otherwise (a headless demo box) a key file in the demo's
    data directory, said so in the log."""
    store = KeyringSecretStore()
    if keyring_usable(store):
        return store
    log.warning("no OS keyring: demo keys are kept in a file in the data directory")
    return FileSecretStore(Path(data_dir) / "demo-keys.json")
