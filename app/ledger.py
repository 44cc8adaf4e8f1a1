"""Reads over submissions: one submission's view, the day's ledger, search by number, name or ID
number, drafts to resume, and the applicant cells the ledger fills in later."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from app import audit
from app.catalog import Catalog
from app.clock import STATION_TZ, local_day
from app.intake_base import IntakeBase, chunks
from app.numbering import (
    number_fragment,
    parse_intake_number,
)
from app.state import NOT_INTAKE, STAGE_LABELS
from app.validators import (
    check_mobile,
    check_resident_id,
    check_uscc,
    mask_name,
    mask_resident_id,
)
from app.views import (
    LedgerRow,
    StaffView,
    SubmissionView,
)
from local_db.crypto import normalise_name
from local_db.models import (
    Applicant,
    Event,
    Staff,
    Submission,
)

log = logging.getLogger("intake.service")


class IntakeQueries(IntakeBase):
    """Reads: no event is appended; a person's look at a full record goes to the audit log."""

    NAME_SCAN_DAYS = 31

    def get(self, sid: str, actor: StaffView | None = None) -> SubmissionView:
        """The full record (full ID number included); a read by a person is audited."""
        with self._sessions() as s:
            sub, state = self._load(s, sid)
            view = self._view(s, sub, state)
        if actor is not None:
            with self._tx() as w:
                audit.append(
                    w,
                    at=self._clock.now(),
                    staff_id=actor.id,
                    action="intake.view",
                    target=sub.number or sid,
                )
        return view

    def find_by_number(self, text: str) -> str | None:
        parsed = parse_intake_number(text)
        if parsed is None:
            return None
        with self._sessions() as s:
            return s.scalar(select(Submission.id).where(Submission.number == parsed.text))

    def open_drafts(self, actor: StaffView) -> list[SubmissionView]:
        """Drafts this clerk left unfinished (offered again after a crash or restart)."""
        with self._sessions() as s:
            subs = s.scalars(
                select(Submission)
                .where(Submission.clerk_id == actor.id, Submission.state == "draft")
                .order_by(Submission.updated_at.desc())
            ).all()
            return [self._view(s, sub, self._projection(s, sub)) for sub in subs]

    def events(self, sid: str) -> list[tuple[str, dict[str, Any], dt.datetime]]:
        with self._sessions() as s:
            rows = s.scalars(
                select(Event).where(Event.submission_id == sid).order_by(Event.station_seq)
            )
            return [(e.type, json.loads(e.payload), e.at) for e in rows]

    def search(self, query: str, *, limit: int = 200) -> list[LedgerRow]:
        """By intake number (or part of one), ID number / USCC, phone, full name, or date
        (YYYY-MM-DD); part of a name matches within the last NAME_SCAN_DAYS days. Names, ID
        numbers and phones are encrypted, so those lookups go through their blind indexes."""
        q = query.strip()
        if not q:
            return []
        stmt = _ledger_select()
        number = parse_intake_number(q)
        partial_name = False
        if number is not None:
            stmt = stmt.where(Submission.number == number.text)
        elif check_resident_id(q).valid:
            blind = self._key.blind("resident_id", str(check_resident_id(q).normalized))
            stmt = stmt.where(Applicant.resident_id_bidx == blind)
        elif check_uscc(q).valid:
            stmt = stmt.where(Applicant.uscc == check_uscc(q).normalized)
        elif check_mobile(q).valid:
            stmt = stmt.where(
                Applicant.phone_bidx == self._key.blind("phone", str(check_mobile(q).normalized))
            )
        else:
            try:
                day = dt.date.fromisoformat(q)
                stmt = stmt.where(Submission.local_date == day.isoformat())
            except ValueError:
                fragment = number_fragment(q)
                if fragment is not None:
                    # part of an intake number (`0002-D`): dashes typed or not
                    stmt = stmt.where(
                        func.replace(Submission.number, "-", "").contains(fragment, autoescape=True)
                    )
                else:
                    partial_name = True
        with self._sessions() as s:
            if not partial_name:
                stmt = stmt.order_by(Submission.created_at.desc()).limit(limit)
                return _ledger_rows(s, stmt, self._catalogs.current)
            ids = self._name_matches(s, q, limit)
            if not ids:
                return []
            stmt = stmt.where(Submission.id.in_(ids)).order_by(Submission.created_at.desc())
            return _ledger_rows(s, stmt, self._catalogs.current)

    def _name_matches(self, s: Session, q: str, limit: int) -> list[str]:
        """Submissions whose applicant has exactly this name (any date, by blind index), then
        those whose name contains it among recent ones (decrypted here, never in SQL)."""
        norm = normalise_name(q)
        exact = s.scalars(
            select(Submission.id)
            .join(Applicant, Applicant.id == Submission.applicant_id)
            .where(Applicant.name_bidx == self._key.blind("name", norm))
            .order_by(Submission.created_at.desc())
            .limit(limit)
        ).all()
        since = (local_day(self._clock.now()) - dt.timedelta(days=self.NAME_SCAN_DAYS)).isoformat()
        recent = s.execute(
            select(Submission.id, Applicant.name)
            .join(Applicant, Applicant.id == Submission.applicant_id)
            .where(Submission.local_date >= since)
            .order_by(Submission.created_at.desc())
        )
        found = list(exact)
        seen = set(found)
        for sid, name in recent:
            if len(found) >= limit:
                break
            if sid not in seen and norm in normalise_name(name or ""):
                found.append(sid)
                seen.add(sid)
        return found

    def ledger(self, day: dt.date, *, applicants: bool = True) -> list[LedgerRow]:
        """The day's submissions (drafts excluded), oldest first. Without APPLICANTS the
        applicant cells are left to `applicant_cells` (rows marked applicant_pending)."""
        stmt = (
            _ledger_select(applicants)
            .where(Submission.local_date == day.isoformat(), Submission.state.not_in(NOT_INTAKE))
            .order_by(Submission.created_at)
        )
        with self._sessions() as s:
            return _ledger_rows(s, stmt, self._catalogs.current, applicants)

    def rows_for(self, ids: Sequence[str], *, applicants: bool = True) -> list[LedgerRow]:
        """Ledger lines of the submissions IDS, in that order (a supervisor's drill-down)."""
        found: dict[str, LedgerRow] = {}
        with self._sessions() as s:
            for chunk in chunks(list(ids), 500):
                stmt = _ledger_select(applicants).where(Submission.id.in_(chunk))
                found.update(
                    (r.submission_id, r)
                    for r in _ledger_rows(s, stmt, self._catalogs.current, applicants)
                )
        return [found[i] for i in ids if i in found]

    def applicant_cells(self, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """(shown name, masked ID / USCC, identity source) of the submissions IDS: what a
        ledger row marked applicant_pending lacks. Only these applicants are decrypted."""
        out: dict[str, tuple[str, str, str]] = {}
        with self._sessions() as s:
            for chunk in chunks(list(ids), 500):
                for sid, *cells in s.connection().execute(
                    select(Submission.id, *_APPLICANT_COLUMNS)
                    .select_from(Submission)
                    .outerjoin(Applicant, Applicant.id == Submission.applicant_id)
                    .where(Submission.id.in_(chunk))
                ):
                    out[sid] = _applicant_cells(*cells)
        return out

    def with_applicants(self, rows: Sequence[LedgerRow]) -> list[LedgerRow]:
        """ROWS with their applicant cells filled (an export needs them all)."""
        cells = self.applicant_cells([r.submission_id for r in rows if r.applicant_pending])
        return [
            r._replace(
                applicant_name=c[0],
                applicant_id_masked=c[1],
                identity_source=c[2],
                applicant_pending=False,
            )
            if r.applicant_pending and (c := cells.get(r.submission_id))
            else r
            for r in rows
        ]


PRIORITY_MARK = "·优先办"  # after the state in the ledger and the queue

# The times are read as their stored text (UtcDateTime's ISO form) and parsed in _ledger_rows:
# the per-value type wrapper costs a third of a busy day's ledger.
_LEDGER_COLUMNS = (
    Submission.id,
    Submission.number,
    type_coerce(Submission.created_at, String),
    Submission.bundle_id,
    Submission.state,
    Submission.awaiting_supplement,
    type_coerce(Submission.received_at, String),
    type_coerce(Submission.digitised_at, String),
    type_coerce(Submission.pushed_at, String),
    Submission.clerk_id,
    Submission.priority,  # 优先办 (app/agent.py): shown with the state
)


_APPLICANT_COLUMNS = (
    Applicant.kind,
    Applicant.name,
    Applicant.resident_id,
    Applicant.uscc,
    Applicant.field_sources,
)


def _ledger_select(applicants: bool = True) -> Any:
    # Clerks' names come from one small query in _ledger_rows, not a join per line.
    stmt = select(*_LEDGER_COLUMNS, *(_APPLICANT_COLUMNS if applicants else ())).select_from(
        Submission
    )
    return (
        stmt.outerjoin(Applicant, Applicant.id == Submission.applicant_id) if applicants else stmt
    )


def _applicant_cells(
    kind: str | None,
    name: str | None,
    resident_id: str | None,
    uscc: str | None,
    field_sources: str | None,
) -> tuple[str, str, str]:
    """(shown name, masked ID / USCC, identity source) of a ledger line."""
    kind = kind or "personal"
    if kind == "enterprise":
        shown, masked = name or "", mask_resident_id(uscc or resident_id or "")
    else:
        shown, masked = mask_name(name or ""), mask_resident_id(resident_id or "")
    return shown, masked, _identity_source(field_sources or "{}", kind)


@functools.lru_cache(maxsize=256)
def _identity_source(field_sources: str, kind: str) -> str:
    # Few distinct source maps exist ({"name": "card", ...}): parse each once per process.
    key = "uscc" if kind == "enterprise" else "resident_id"
    return str(json.loads(field_sources or "{}").get(key, "typed"))


def _ledger_rows(
    s: Session, stmt: Any, catalog: Catalog, applicants: bool = True
) -> list[LedgerRow]:
    """Ledger lines of a `_ledger_select(APPLICANTS)` statement. Hot (a busy day is thousands
    of rows, DESIGN §12 asks < 50 ms): Core rows, no ORM; without APPLICANTS no applicant row
    is read or decrypted (the window fills what is on screen)."""
    out = []
    bundles: dict[str | None, str] = {}
    labels = {
        (state, awaiting): label + ("（容缺待补）" if awaiting else "")
        for state, label in STAGE_LABELS.items()
        for awaiting in (False, True)
    }
    pending = ("", "", "")
    clerks = dict(s.connection().execute(select(Staff.id, Staff.display_name)).all())
    parse = dt.datetime.fromisoformat  # 3.11 reads the stored trailing Z as UTC
    for row in s.connection().execute(stmt).all():  # one fetchall, not a fetchone per row
        sid, number, created, bundle_id, state, awaiting, received, digitised, pushed, clerk_id = (
            row[:10]
        )
        priority = row[10] or ""
        bundle_name = bundles.get(bundle_id)
        if bundle_name is None:
            bundle = catalog.bundle(bundle_id) if bundle_id else None
            bundle_name = bundles[bundle_id] = bundle.name if bundle else (bundle_id or "")
        shown, masked, source = _applicant_cells(*row[11:]) if applicants else pending
        out.append(
            LedgerRow(
                sid,
                number,
                parse(created).astimezone(STATION_TZ),
                bundle_id,
                bundle_name,
                shown,
                masked,
                state,
                labels[state, bool(awaiting)] + (PRIORITY_MARK if priority else ""),
                awaiting,
                clerks.get(clerk_id, ""),
                parse(received) if received else None,
                parse(digitised) if digitised else None,
                parse(pushed) if pushed else None,
                source,
                not applicants,
                priority,
            )
        )
    return out
