"""Supervisor's reconciliation of a day, week or month, and the policy metrics.

Every figure is backed by a query that lists the intakes behind it (`intakes_for`), and the
figure is the length of that list, so a supervisor who clicks a number sees exactly what was
counted. Both are a supervisor's (checked here, refusals audited).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Integer, and_, case, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from app import acceptance, consultations
from app.catalog import Catalog
from app.clock import STATION_TZ
from app.online_report import online_review_counts
from app.rating_figures import RatingFigures, rating_figures
from app.reuse import reused_materials
from app.staff import StaffService
from app.state import NOT_INTAKE
from app.views import StaffView
from local_db.errors import DomainError
from local_db.models import FormPrint, Staff, Submission

PeriodKind = Literal["day", "week", "month"]
PUSH_LIMIT = dt.timedelta(hours=2)
# SQLite does the hour/day arithmetic; China Standard Time has no daylight saving, so the
# station's local time is UTC+8 all year.
_LOCAL = "+8 hours"

FIGURES = (
    "all",
    "received",
    "notified",
    "tolerated",
    "awaiting_supplement",
    "digitised",
    "pushed",
    "accepted",
    "rejected",
    "completed",
    "delivered",
    "withdrawn",
    "overdue_push",
    "push_pending",
    "overdue_tolerance",
    "undelivered_same_day",
    "dept_overdue",
    "reused",
)
FIGURE_LABELS = {
    "all": "全部受理",
    "received": "收件",
    "notified": "一次告知",
    "tolerated": "容缺受理",
    "awaiting_supplement": "容缺待补",
    "digitised": "已数字化",
    "pushed": "已推送",
    "accepted": "已受理",
    "rejected": "不予受理",
    "completed": "已办结",
    "delivered": "已送达",
    "withdrawn": "已撤回",
    "overdue_push": "超2小时未推送",
    "push_pending": "2小时内待推送",
    "overdue_tolerance": "容缺逾期未补",
    "undelivered_same_day": "办结当日未送达",
    "dept_overdue": "部门逾期未受理",
    # Behind a metric, not a counted figure: the intakes whose generated forms make 表单信息自动生成.
    "form_printed": "打印了生成表单",
    "reused": "档案复用",  # 一人一档: took a material from an earlier intake
}
TARGETS = {
    "material_reduction": 60.0,
    "autofill": 50.0,
    "push_within_2h": 100.0,
    "online_review_within_2h": 100.0,
}
# What is still open on a day, shown before its 日结 (conditions below, like the figures).
OPEN_WORK = ("awaiting_supplement", "not_digitised", "not_pushed")
OPEN_WORK_LABELS = {
    "awaiting_supplement": "容缺待补",
    "not_digitised": "待数字化",
    "not_pushed": "未推送",
}


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: dt.date
    end: dt.date  # inclusive

    @classmethod
    def of(cls, kind: PeriodKind, day: dt.date) -> Period:
        if kind == "day":
            return cls(kind, day, day)
        if kind == "week":
            start = day - dt.timedelta(days=day.weekday())
            return cls(kind, start, start + dt.timedelta(days=6))
        if kind == "month":
            start = day.replace(day=1)
            nxt = (start + dt.timedelta(days=32)).replace(day=1)
            return cls(kind, start, nxt - dt.timedelta(days=1))
        raise DomainError("report.period")

    @property
    def label(self) -> str:
        if self.kind == "day":
            return f"{self.start:%Y年%m月%d日}"
        if self.kind == "week":
            return f"{self.start:%Y年%m月%d日}—{self.end:%m月%d日}"
        return f"{self.start:%Y年%m月}"


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    value: float | None  # percent; None when nothing to measure yet
    numerator: int
    denominator: int
    target: float
    pending: int = 0  # not yet measurable (2-hour push: not pushed, still within its 2 hours)

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.value >= self.target


@dataclass(frozen=True)
class Reconciliation:
    period: Period
    counts: Mapping[str, int]
    by_bundle: tuple[tuple[str, str, int], ...]  # (bundle id, name, received+notified)
    by_clerk: tuple[tuple[str, int], ...]
    by_hour: tuple[tuple[int, int], ...]  # (hour 0-23, intakes)
    metrics: tuple[Metric, ...]
    # (day, pushed in time, decided: pushed in time or missed); pending intakes are in neither
    push_compliance_by_day: tuple[tuple[dt.date, int, int], ...] = field(default=())
    ratings: RatingFigures | None = None  # 好差评 (app/rating_figures.py)


@dataclass(frozen=True)
class OpenWork:
    """What is still open among a day's intakes (before its 日结): per OPEN_WORK kind, the
    intakes as (submission id, number)."""

    day: dt.date
    lists: Mapping[str, tuple[tuple[str, str], ...]]

    @property
    def empty(self) -> bool:
        return not any(self.lists.values())


class Reports:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Callable[[], Catalog],
        staff: StaffService | None = None,
        catalog_versions: Callable[[str], Catalog] | None = None,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._catalog_versions = catalog_versions  # by digest: names of older intakes' items
        self._staff = staff or StaffService(sessions)

    # -- figure definitions: each a condition over one submission row -------------------------
    #
    # A period's figures are all counted in one pass over its submissions (conditional counts),
    # and the intakes behind one figure are listed with the very same condition, so a figure and
    # its list cannot drift apart. What the items decided is kept on the submission
    # (app.state.item_outcomes), so no figure probes the items.

    @staticmethod
    def _in_period(period: Period) -> Any:
        return Submission.local_date.between(period.start.isoformat(), period.end.isoformat())

    @staticmethod
    def _condition(figure: str, now: dt.datetime) -> Any:
        if figure == "all":  # what the per-bundle/clerk/hour breakdowns and charts count
            return Submission.state.not_in(NOT_INTAKE)
        if figure == "received":
            return Submission.received_at.is_not(None)
        if figure == "reused":  # took a material from an earlier intake (一人一档)
            return and_(Submission.state.not_in(NOT_INTAKE), reused_materials())
        if figure == "notified":
            return Submission.state == "notified"
        if figure == "tolerated":
            return and_(
                Submission.verdict == "complete_with_tolerance", Submission.received_at.is_not(None)
            )
        if figure == "awaiting_supplement":
            return Submission.awaiting_supplement.is_(True)
        if figure == "digitised":
            return Submission.digitised_at.is_not(None)
        if figure == "pushed":
            return Submission.pushed_at.is_not(None)
        if figure == "accepted":
            return Submission.items_accepted.is_(True)
        if figure == "rejected":
            return Submission.items_rejected.is_(True)
        if figure == "undelivered_same_day":
            # A completed item not delivered the day it was completed: still waiting after that
            # day, or delivered on a later day.
            return Submission.delivered_late.is_(True) | (
                Submission.undelivered_since < now.astimezone(STATION_TZ).date()
            )
        if figure == "completed":
            return Submission.state.in_(("completed", "delivered"))
        if figure == "delivered":
            return Submission.state == "delivered"
        if figure == "withdrawn":
            return Submission.state == "withdrawn"
        if figure == "overdue_push":
            # Received, and either pushed late or still not pushed although 2 hours have passed.
            late = Submission.pushed_at > func.strftime(
                "%Y-%m-%dT%H:%M:%fZ", Submission.received_at, "+2 hours"
            )
            waiting = and_(
                Submission.pushed_at.is_(None),
                Submission.received_at < now - PUSH_LIMIT,
                Submission.state != "withdrawn",
            )
            return and_(Submission.received_at.is_not(None), late | waiting)
        if figure == "push_pending":
            # Not pushed yet but still within its 2 hours: neither met nor missed.
            return and_(
                Submission.received_at.is_not(None),
                Submission.pushed_at.is_(None),
                Submission.received_at >= now - PUSH_LIMIT,
                Submission.state != "withdrawn",
            )
        if figure == "not_digitised":  # (a pushed intake went out electronically: not waiting)
            return and_(
                Submission.received_at.is_not(None),
                Submission.digitised_at.is_(None),
                Submission.pushed_at.is_(None),
                Submission.state != "withdrawn",
            )
        if figure == "not_pushed":
            return and_(
                Submission.received_at.is_not(None),
                Submission.pushed_at.is_(None),
                Submission.state != "withdrawn",
            )
        if figure == "dept_overdue":  # 1 working day after the push (app.acceptance)
            return acceptance.overdue_condition(now)
        if figure == "overdue_tolerance":
            return and_(
                Submission.awaiting_supplement.is_(True),
                Submission.tolerance_due < now.astimezone(STATION_TZ).date(),
            )
        if figure == "form_printed":
            return and_(
                Submission.state.not_in(NOT_INTAKE),
                exists().where(FormPrint.submission_id == Submission.id),
            )
        raise DomainError("report.figure", figure=figure)

    def intakes_for(
        self,
        actor: StaffView,
        figure: str,
        period: Period,
        now: dt.datetime,
        *,
        bundle: str | None = None,
        clerk: str | None = None,
        hour: int | None = None,
    ) -> list[str]:
        """Submission ids behind a figure (drill-down), optionally within a bundle / clerk / hour."""
        self._staff.authorize(actor, "report.intakes")
        stmt = (
            select(Submission.id)
            .select_from(Submission)
            .join(Staff, Staff.id == Submission.clerk_id)
            .where(self._in_period(period), self._condition(figure, now))
        )
        if bundle is not None:
            stmt = stmt.where(Submission.bundle_id == bundle)
        if clerk is not None:
            stmt = stmt.where(Staff.display_name == clerk)
        if hour is not None:
            stmt = stmt.where(_local_hour(Submission.created_at) == hour)
        with self._sessions() as s:
            return list(s.scalars(stmt.order_by(Submission.created_at)))

    def overdue_acceptances(
        self, actor: StaffView, period: Period, now: dt.datetime
    ) -> list[acceptance.OverdueAcceptance]:
        """The items behind 部门逾期未受理 among the period's intakes, per item and department."""
        self._staff.authorize(actor, "report.intakes")
        return self.overdue_acceptances_unchecked(period, now)

    def overdue_acceptances_unchecked(
        self, period: Period, now: dt.datetime
    ) -> list[acceptance.OverdueAcceptance]:
        """As overdue_acceptances, for the command line (no staff login: see app/cli)."""
        acceptance.fill_missing_due(self._sessions, self._in_period(period))
        with self._sessions() as s:
            return acceptance.overdue_items(s, self._in_period(period), now, self._by_digest)

    def _by_digest(self, digest: str) -> Catalog:
        current = self._catalog()
        if current.digest == digest or self._catalog_versions is None:
            return current
        return self._catalog_versions(digest)

    def open_work(self, actor: StaffView, day: dt.date, now: dt.datetime) -> OpenWork:
        """The day's intakes still 容缺待补, 待数字化 or 未推送 (what a supervisor sees before 日结)."""
        self._staff.authorize(actor, "report.intakes")
        period = Period.of("day", day)
        lists: dict[str, tuple[tuple[str, str], ...]] = {}
        with self._sessions() as s:
            for kind in OPEN_WORK:
                lists[kind] = tuple(
                    (sid, number or "")
                    for sid, number in s.execute(
                        select(Submission.id, Submission.number)
                        .where(self._in_period(period), self._condition(kind, now))
                        .order_by(Submission.number)
                    )
                )
        return OpenWork(day, lists)

    def _period_checked(self, actor: StaffView, period: Period) -> Any:
        """The period's condition, once ACTOR may reconcile and the intakes pushed before the
        store tracked the departments' due day have one."""
        self._staff.authorize(actor, "report.reconcile")
        in_period = self._in_period(period)
        acceptance.fill_missing_due(self._sessions, in_period)
        return in_period

    def reconcile(self, actor: StaffView, period: Period, now: dt.datetime) -> Reconciliation:
        in_period = self._period_checked(actor, period)
        cond = {f: self._condition(f, now) for f in FIGURES}
        # Intakes that count for the push metric: received and not withdrawn.
        due = and_(cond["received"], Submission.state != "withdrawn")
        with self._sessions() as s:
            row = s.execute(
                select(
                    *(_count(cond[f]) for f in FIGURES),
                    func.coalesce(
                        func.sum(case((cond["received"], Submission.reduction_separate))), 0
                    ),
                    func.coalesce(
                        func.sum(case((cond["received"], Submission.reduction_merged))), 0
                    ),
                    _count(due),
                    _count(and_(due, cond["overdue_push"])),
                )
                .select_from(Submission)
                .where(in_period)
            ).one()
            counts = dict(zip(FIGURES, (int(n) for n in row[: len(FIGURES)]), strict=True))
            counts["consultations"] = consultations.count(s, period.start, period.end)
            separate, merged, pushed_due, pushed_late = (int(n) for n in row[len(FIGURES) :])
            pending = counts["push_pending"]

            by_bundle, by_clerk, hours = self._breakdowns(s, and_(in_period, cond["all"]))

            auto, typed = self._autofill(s, and_(in_period, cond["all"]))
            compliance = self._compliance_by_day(
                s, period, in_period, due, cond["overdue_push"], cond["push_pending"]
            )
        metrics = (
            _metric("material_reduction", "申请材料压减", separate - merged, separate),
            _metric("autofill", "表单信息自动生成", auto, typed),
            # Met over met + missed; an intake still within its 2 hours is pending, not met.
            _metric(
                "push_within_2h",
                "2小时内推送",
                pushed_due - pushed_late - pending,
                pushed_due - pending,
                pending,
            ),
            self._online_metric(period),
        )
        return Reconciliation(
            period=period,
            counts=counts,
            by_bundle=by_bundle,
            by_clerk=by_clerk,
            by_hour=tuple(sorted(hours.items())),
            metrics=metrics,
            push_compliance_by_day=compliance,
            ratings=self._ratings(period, now),
        )

    def _breakdowns(
        self, s: Session, where: Any
    ) -> tuple[tuple[tuple[str, str, int], ...], tuple[tuple[str, int], ...], Counter[int]]:
        """The period's intakes by bundle, clerk and hour: one grouped pass."""
        bundles: Counter[str] = Counter()
        clerks: Counter[str] = Counter()
        hours: Counter[int] = Counter()
        for bundle_id, clerk, hour, n in s.execute(
            select(
                Submission.bundle_id,
                Staff.display_name,
                _local_hour(Submission.created_at),
                func.count(),
            )
            .select_from(Submission)
            .join(Staff, Staff.id == Submission.clerk_id)
            .where(where)
            .group_by(Submission.bundle_id, Staff.display_name, _local_hour(Submission.created_at))
        ):
            bundles[bundle_id or ""] += n
            clerks[clerk] += n
            hours[int(hour)] += n
        cat = self._catalog()
        by_bundle = tuple(
            (bid, _bundle_name(cat, bid or None), n)
            for bid, n in sorted(bundles.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        by_clerk = tuple(sorted(clerks.items(), key=lambda kv: (-kv[1], kv[0])))
        return by_bundle, by_clerk, hours

    def _ratings(self, period: Period, now: dt.datetime) -> RatingFigures:
        with self._sessions() as s:
            return rating_figures(s, period.start, period.end, now)

    def _online_metric(self, period: Period) -> Metric:
        with self._sessions() as s:
            counts = online_review_counts(s, period.start, period.end)
        return _metric("online_review_within_2h", "线上申请2小时内审核", *counts)

    @staticmethod
    def _autofill(s: Session, where: Any) -> tuple[int, int]:
        """表单信息自动生成率: fields the window prefilled over all declared fields of the
        generated forms actually printed (form_prints, one per intake and form; a reprint
        replaces its counts). Intakes without a printed form do not count."""
        prefilled, total = s.execute(
            select(
                func.coalesce(func.sum(FormPrint.fields_prefilled), 0),
                func.coalesce(func.sum(FormPrint.fields_total), 0),
            )
            .select_from(FormPrint)
            .join(Submission, Submission.id == FormPrint.submission_id)
            .where(where)
        ).one()
        return int(prefilled), int(total)

    @staticmethod
    def _compliance_by_day(
        s: Session, period: Period, in_period: Any, due: Any, overdue: Any, pending: Any
    ) -> tuple[tuple[dt.date, int, int], ...]:
        """Per day of the period (every day, also empty ones): (day, pushed in time, decided)."""
        per_day = {
            day: (int(total) - int(late) - int(waiting), int(total) - int(waiting))
            for day, total, late, waiting in s.execute(
                select(
                    Submission.local_date,
                    _count(due),
                    _count(and_(due, overdue)),
                    _count(and_(due, pending)),
                )
                .where(in_period)
                .group_by(Submission.local_date)
            )
        }
        out = []
        day = period.start
        while day <= period.end:
            out.append((day, *per_day.get(day.isoformat(), (0, 0))))
            day += dt.timedelta(days=1)
        return tuple(out)


def _count(condition: Any) -> Any:
    return func.count(case((condition, 1)))


def _local_hour(column: Any) -> Any:
    return func.cast(func.strftime("%H", column, _LOCAL), Integer)


def _metric(name: str, label: str, num: int, den: int, pending: int = 0) -> Metric:
    value = None if den == 0 else round(100.0 * num / den, 1)
    return Metric(name, label, value, int(num), int(den), TARGETS[name], int(pending))


def _bundle_name(catalog: Catalog, bundle_id: str | None) -> str:
    bundle = catalog.bundle(bundle_id) if bundle_id else None
    return bundle.name if bundle else (bundle_id or "")
