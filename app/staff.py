"""Station set-up, staff accounts and login; roles are enforced here, not only in the UI."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app import audit
from app.clock import Clock, SystemClock
from app.errors import AuthError
from app.numbering import valid_station_code
from app.security import hash_password, password_problem, verify_password
from app.views import ROLE_LABELS, Role, StaffView, StationView
from local_db.engine import write_tx
from local_db.models import Staff, Station

log = logging.getLogger("intake.staff")

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=5)
_RANK = {"clerk": 0, "supervisor": 1, "admin": 2}

# Every action beyond a clerk's own intakes, search and the day's ledger list (DESIGN §2), by code
# name: the least role that may do it and what a refusal calls it. The services check these with
# `authorize`; the window asks `may` to decide what to show, so screen and service agree.
ACTIONS: dict[str, tuple[Role, str]] = {
    # supervisor (负责人)
    "report.reconcile": ("supervisor", "对账统计"),  # day/week/month figures, per-clerk, metrics
    "report.intakes": ("supervisor", "查看统计明细"),  # the intakes behind a figure (overdue lists)
    "export.ledger": (
        "supervisor",
        "导出台账",
    ),  # clerks see the day's ledger list, never export it
    "day.close": ("supervisor", "日结"),
    "day.amendments": ("supervisor", "查看日结补正"),
    "day.verify": ("supervisor", "校验日结封存"),
    "account.list": ("supervisor", "查看账号"),
    "rating.followup": ("supervisor", "办结差评整改"),
    # administrator
    "account.create": ("admin", "新建账号"),
    "account.set_active": ("admin", "停用或启用账号"),
    # to be checked by the backup and sync code (their owners wire them)
    "backup.run": ("supervisor", "立即备份"),  # a person's; the schedule's own runs have no actor
    "backup.recovery_code": ("admin", "查看备份恢复码"),
    "backup.restore": ("admin", "恢复备份"),
    "sync.enroll": ("admin", "站点登记"),
    "sync.configure": ("admin", "同步设置"),
}


def may(role: str, action: str) -> bool:
    """Whether ROLE may do ACTION (no audit: for deciding what a screen offers)."""
    return _RANK.get(role, -1) >= _RANK[ACTIONS[action][0]]


def authorize(
    sessions: sessionmaker[Session], actor: StaffView, action: str, *, at: dt.datetime
) -> None:
    """Raise AuthError unless ACTOR may do ACTION; every refusal is audited.

    The role is read from the account as stored now, not from the caller's view of it, so a
    demoted or disabled account's open session loses the right at once. The refusal entry is
    committed in its own transaction before raising: the refused action has not begun, so
    nothing of it is written, and the entry survives the raise.
    """
    needed, label = ACTIONS[action]
    with sessions() as s:
        staff = s.get(Staff, actor.id)
        role = staff.role if staff is not None and staff.active else None
    if role is not None and _RANK[role] >= _RANK[needed]:
        return
    with write_tx(sessions) as s:
        audit.append(
            s,
            at=at,
            staff_id=actor.id if staff is not None else None,
            action="auth.refused",
            target=action,
            detail=f"needed={needed};role={role or 'disabled'}",
        )
    log.warning("refused %s for staff %s", action, actor.id)
    if role is None:
        raise AuthError("auth.forbidden", variant=2, needed=needed, action=action, label=label)
    raise AuthError(
        "auth.forbidden",
        needed=needed,
        action=action,
        label=label,
        needed_role=ROLE_LABELS[needed],
        current_role=ROLE_LABELS[role],
    )


def staff_view(s: Staff) -> StaffView:
    return StaffView(s.id, s.username, s.display_name, s.role, s.station_id)  # type: ignore[arg-type]


def station_view(s: Station) -> StationView:
    return StationView(s.id, s.code, s.name, s.centre_name, s.jurisdiction, s.progress_phone)


class StaffService:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock | None = None) -> None:
        self._sessions = sessions
        self._clock = clock or SystemClock()

    def authorize(self, actor: StaffView, action: str) -> None:
        """`authorize` with this service's clock (see there)."""
        authorize(self._sessions, actor, action, at=self._clock.now())

    # -- station ---------------------------------------------------------------------------

    def needs_setup(self) -> bool:
        with self._sessions() as s:
            return s.scalar(select(func.count()).select_from(Station).where(Station.is_local)) == 0

    def local_station(self) -> StationView:
        with self._sessions() as s:
            st = s.scalars(select(Station).where(Station.is_local)).first()
            if st is None:
                raise AuthError("auth.no_station")
            return station_view(st)

    def setup_station(
        self,
        *,
        code: str,
        name: str,
        centre_name: str,
        jurisdiction: str | None,
        admin_username: str,
        admin_display_name: str,
        admin_password: str,
        progress_phone: str = "",
    ) -> tuple[StationView, StaffView]:
        """First run: the station and its first administrator, in one transaction."""
        code = code.strip().upper()
        if not valid_station_code(code):
            raise AuthError("setup.station_code")
        if not name.strip() or not centre_name.strip():
            raise AuthError("setup.names")
        now = self._clock.now()
        with write_tx(self._sessions) as s:
            if s.scalar(select(func.count()).select_from(Station).where(Station.is_local)):
                raise AuthError("setup.done")
            st = Station(
                code=code,
                name=name.strip(),
                centre_name=centre_name.strip(),
                jurisdiction=jurisdiction,
                progress_phone=progress_phone,
                is_local=True,
                created_at=now,
            )
            s.add(st)
            s.flush()
            admin = self._new_staff(
                s, st.id, admin_username, admin_display_name, "admin", admin_password
            )
            audit.append(s, at=now, staff_id=admin.id, action="station.setup", target=code)
            return station_view(st), staff_view(admin)

    # -- accounts --------------------------------------------------------------------------

    def _new_staff(
        self,
        s: Session,
        station_id: int,
        username: str,
        display_name: str,
        role: str,
        password: str,
    ) -> Staff:
        username = username.strip()
        if not username or not display_name.strip():
            raise AuthError("account.names")
        if role not in _RANK:
            raise AuthError("account.role")
        problem = password_problem(password)
        if problem:
            raise problem
        if s.scalar(select(func.count()).select_from(Staff).where(Staff.username == username)):
            raise AuthError("account.exists", username=username)
        staff = Staff(
            station_id=station_id,
            username=username,
            display_name=display_name.strip(),
            role=role,
            password_hash=hash_password(password),
            active=True,
            failed_logins=0,
            created_at=self._clock.now(),
        )
        s.add(staff)
        s.flush()
        return staff

    def create_account(
        self, actor: StaffView, *, username: str, display_name: str, role: Role, password: str
    ) -> StaffView:
        self.authorize(actor, "account.create")
        with write_tx(self._sessions) as s:
            staff = self._new_staff(s, actor.station_id, username, display_name, role, password)
            audit.append(
                s,
                at=self._clock.now(),
                staff_id=actor.id,
                action="account.create",
                target=str(staff.id),
                detail=role,
            )
            return staff_view(staff)

    def list_accounts(self, actor: StaffView) -> list[StaffView]:
        self.authorize(actor, "account.list")
        with self._sessions() as s:
            return [staff_view(x) for x in s.scalars(select(Staff).order_by(Staff.id))]

    def set_active(self, actor: StaffView, staff_id: int, active: bool) -> None:
        self.authorize(actor, "account.set_active")
        if staff_id == actor.id and not active:
            raise AuthError("account.self")
        with write_tx(self._sessions) as s:
            staff = s.get(Staff, staff_id)
            if staff is None:
                raise AuthError("account.unknown")
            staff.active = active
            audit.append(
                s,
                at=self._clock.now(),
                staff_id=actor.id,
                action="account.enable" if active else "account.disable",
                target=str(staff_id),
            )

    def change_password(self, actor: StaffView, old: str, new: str) -> None:
        problem = password_problem(new)
        if problem:
            raise problem
        with write_tx(self._sessions) as s:
            staff = s.get(Staff, actor.id)
            if staff is None or not verify_password(old, staff.password_hash):
                raise AuthError("auth.bad_password")
            staff.password_hash = hash_password(new)
            audit.append(s, at=self._clock.now(), staff_id=actor.id, action="account.password")

    # -- login -----------------------------------------------------------------------------

    def login(self, username: str, password: str) -> StaffView:
        """Check a password; repeated failures lock the account for a while.

        A refusal is decided inside the transaction but raised after it commits, so the failure
        count and the audit entry are kept.
        """
        now = self._clock.now()
        refusal: AuthError | None = None
        with write_tx(self._sessions) as s:
            staff = s.scalars(select(Staff).where(Staff.username == username.strip())).first()
            if staff is None:
                audit.append(s, at=now, staff_id=None, action="login.unknown_user")
                refusal = AuthError("auth.bad_credentials")
            elif not staff.active:
                audit.append(s, at=now, staff_id=staff.id, action="login.disabled")
                refusal = AuthError("auth.disabled")
            elif staff.locked_until and staff.locked_until > now:
                minutes = max(1, int((staff.locked_until - now).total_seconds() // 60) + 1)
                audit.append(s, at=now, staff_id=staff.id, action="login.locked")
                refusal = AuthError("auth.locked", minutes=minutes)
            elif not verify_password(password, staff.password_hash):
                staff.failed_logins += 1
                if staff.failed_logins >= MAX_FAILED_LOGINS:
                    staff.locked_until = now + LOCKOUT
                    staff.failed_logins = 0
                audit.append(s, at=now, staff_id=staff.id, action="login.failed")
                refusal = AuthError("auth.bad_credentials")
            else:
                staff.failed_logins = 0
                staff.locked_until = None
                audit.append(s, at=now, staff_id=staff.id, action="login.ok")
                view = staff_view(staff)
        if refusal is not None:
            raise refusal
        log.info("login ok: staff %s", view.id)
        return view

    def record(self, actor: StaffView, action: str, target: str = "", detail: str = "") -> None:
        """An audit entry for an action that writes nothing else (e.g. a recovery code shown)."""
        with write_tx(self._sessions) as s:
            audit.append(
                s,
                at=self._clock.now(),
                staff_id=actor.id,
                action=action,
                target=target,
                detail=detail,
            )

    def reauthenticate(self, actor: StaffView, password: str) -> None:
        """Supervisor actions (day close, exports) ask for the password again."""
        with self._sessions() as s:
            staff = s.get(Staff, actor.id)
            if staff is None or not verify_password(password, staff.password_hash):
                raise AuthError("auth.bad_password", variant=2)
