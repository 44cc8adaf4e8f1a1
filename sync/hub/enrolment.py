"""Enrolment, tokens, department keys and authentication (stations and departments)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync.hub.crypto import scope_of
from sync.hub.db import (
    Department,
    Principal,
    StoreBase,
    export_key_for,
    normalise_code,
    sha_hex,
)
from sync.hub.errors import HubError
from sync.hub.fastsql import TOKEN, Sql
from sync.hub.models import (
    HubDeptKey,
    HubEnrollCode,
    HubImport,
    HubStation,
    HubToken,
)
from sync.protocol import (
    is_uuid,
)

log = logging.getLogger("intake.hub")

CODE_CHARS = "ABCDEFGHJKLMNPQRTUWXY3456789"

# How long a hub process trusts a station token it has checked: its later requests then cost no
# database round trip. A revocation made in the same process clears the cache at once; the
# other hub processes refuse the revoked token at the latest this many seconds later.
AUTH_CACHE_SECONDS = 5.0


class PrincipalCache:
    """Station tokens this process authenticated recently (by token hash; never the token).
    Per process and shared by every store in it, so an administrator's revocation through
    another store object of the same process (a command, a test) also clears it."""

    def __init__(
        self,
        seconds: float = AUTH_CACHE_SECONDS,
        size: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds, self.size, self.clock = seconds, size, clock
        self._found: dict[tuple[str, str], tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, url: str, token_hash: str) -> Principal | None:
        hit = self._found.get((url, token_hash))
        if hit is None or self.clock() - hit[0] > self.seconds:
            return None
        return hit[1]

    def put(self, url: str, token_hash: str, p: Principal) -> None:
        with self._lock:
            if len(self._found) >= self.size:  # a process serves a few thousand stations
                self._found.clear()
            self._found[(url, token_hash)] = (self.clock(), p)

    def clear(self) -> None:
        with self._lock:
            self._found.clear()


PRINCIPALS = PrincipalCache()


class EnrolmentOps(StoreBase):
    def _station(self, s: Session, code: str, name: str = "") -> HubStation:
        st = s.scalars(select(HubStation).where(HubStation.code == code)).first()
        if st is None:
            st = HubStation(code=code, name=name, feed_seq=0, created_at=self.now())
            s.add(st)
            s.flush()
        elif name and not st.name:
            st.name = name
        return st

    def issue_enroll_code(
        self, station_code: str, name: str = "", valid_hours: float = 72, county: str = ""
    ) -> str:
        """A one-time code the administrator hands to the station (printed, or read out)."""
        code = station_code.strip().upper()
        if not code or len(code) > 8 or not code.isalnum():
            raise HubError(400, "station.code", "站点编码应为2～8位数字或大写字母")
        scope = scope_of(county) if county else None
        raw = "".join(secrets.choice(CODE_CHARS) for _ in range(12))
        now = self.now()
        with self.write() as s:
            st = self._station(s, code, name)
            if scope is not None:  # its later data is sealed under this county's key
                st.county = scope
            s.add(
                HubEnrollCode(
                    code_hash=sha_hex(raw),
                    station_id=st.id,
                    created_at=now,
                    expires_at=now + dt.timedelta(hours=valid_hours),
                )
            )
        log.info("enrollment code issued for station %s", code)
        return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

    def enroll(
        self, code: str, store_id: str, station_code: str | None = None, receipt_key: object = None
    ) -> dict[str, Any]:
        """Exchange a one-time code for a station token. Sending the same code again from the
        same store (the answer was lost) issues a fresh token and revokes the one never received.
        RECEIPT_KEY ({key_id, public_key}), when sent, is enrolled for the station; a key the hub
        refuses does not stop the enrollment (the answer says why; the station sends it again
        through POST /v1/receipt-keys)."""
        if not is_uuid(store_id):
            raise HubError(400, "enroll.store_id", "store_id 应为 UUID")
        now = self.now()
        with self.write() as s:
            row = s.get(HubEnrollCode, sha_hex(normalise_code(code)))
            if row is None or row.expires_at.astimezone(dt.UTC) < now:
                raise HubError(
                    403, "enroll.code_invalid", "登记码无效或已过期，请向县行政审批局重新索取"
                )
            if row.used_at is not None and row.used_store_id != store_id:
                raise HubError(403, "enroll.code_used", "登记码已被使用，请向县行政审批局重新索取")
            st = s.get(HubStation, row.station_id)
            assert st is not None
            if station_code and station_code.strip().upper() != st.code:
                raise HubError(
                    409,
                    "enroll.station_mismatch",
                    f"该登记码属于站点 {st.code}，与本机站点编码 {station_code} 不符",
                )
            if row.token_id:
                old = s.get(HubToken, row.token_id)
                if old is not None and old.revoked_at is None:
                    old.revoked_at = now
            token = "ist1." + secrets.token_urlsafe(32)
            tid = str(uuid.uuid4())
            s.add(
                HubToken(
                    id=tid,
                    station_id=st.id,
                    store_id=store_id,
                    token_hash=sha_hex(token),
                    export_key=export_key_for(token),
                    created_at=now,
                )
            )
            row.used_at, row.used_store_id, row.token_id = now, store_id, tid
            code_out = st.code
            key_status: dict[str, Any] | None = None
            if receipt_key is not None:
                try:  # checked before anything is added: a refusal leaves the session clean
                    key_status = {"status": self._add_receipt_key(s, st.id, receipt_key, now)}
                except HubError as exc:
                    key_status = {"status": "refused", "code": exc.code, "message": exc.message}
        PRINCIPALS.clear()  # a token this enrolment replaced is refused at once (committed)
        log.info("station %s enrolled (token %s)", code_out, tid)
        out: dict[str, Any] = {"station_code": code_out, "token": token, "token_id": tid}
        if key_status is not None:
            out["receipt_key"] = key_status
        return out

    def revoke(self, station_code: str) -> int:
        now = self.now()
        with self.write() as s:
            st = s.scalars(
                select(HubStation).where(HubStation.code == station_code.upper())
            ).first()
            if st is None:
                return 0
            res = s.execute(
                update(HubToken)
                .where(HubToken.station_id == st.id, HubToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            n = getattr(res, "rowcount", 0)
        # after the commit: this process refuses the tokens at once (the others within seconds)
        PRINCIPALS.clear()
        log.info("tokens of station %s revoked: %s", station_code, n)
        return int(n or 0)

    def issue_dept_key(self, name: str, items: Sequence[str] | None = None) -> str:
        """A department's API key; ITEMS: the item ids pushed to it (None: every item)."""
        key = "idk1." + secrets.token_urlsafe(32)
        scope = json.dumps(sorted(set(items)), ensure_ascii=False) if items is not None else None
        with self.write() as s:
            s.add(HubDeptKey(name=name, key_hash=sha_hex(key), created_at=self.now(), items=scope))
        return key

    # ------------------------------------------------------------------ authentication

    def cached_principal(self, token: str) -> Principal | None:
        """The station of TOKEN when this process checked it within AUTH_CACHE_SECONDS (no
        database work: callable from the event loop)."""
        return PRINCIPALS.get(self.url, sha_hex(token))

    def authenticate(self, token: str) -> Principal:
        th = sha_hex(token)
        found = PRINCIPALS.get(self.url, th)
        if found is not None:
            return found
        with self.read_core() as c:
            found_rows = Sql(c, self.fast_sql).rows(TOKEN, {"hash": th})
        if not found_rows:
            raise HubError(401, "auth.invalid", "站点凭据无效")
        tid, station_id, store_id, revoked_at, code, county = found_rows[0]
        if revoked_at is not None:
            raise HubError(401, "auth.revoked", "站点凭据已被吊销")
        p = Principal(station_id, code, tid, store_id, scope_of(county))
        PRINCIPALS.put(self.url, th, p)
        return p

    def authenticate_dept(self, key: str) -> Department:
        with self.sessions() as s:
            row = s.scalars(select(HubDeptKey).where(HubDeptKey.key_hash == sha_hex(key))).first()
        if row is None or row.revoked_at is not None:
            raise HubError(401, "auth.dept", "部门接口密钥无效")
        return Department(
            row.name, frozenset(json.loads(row.items)) if row.items is not None else None
        )

    # ------------------------------------------------------------------ USB import

    def token_for_import(self, token_id: str) -> tuple[Principal, bytes]:
        with self.sessions() as s:
            row = s.execute(
                select(HubToken, HubStation.code, HubStation.county)
                .join(HubStation, HubStation.id == HubToken.station_id)
                .where(HubToken.id == token_id)
            ).first()
        if row is None:
            raise HubError(403, "import.unknown_station", "导入文件的站点凭据在本平台不存在")
        tok, code, county = row
        if tok.revoked_at is not None:
            raise HubError(403, "import.revoked", "导入文件的站点凭据已被吊销")
        return Principal(
            tok.station_id, code, tok.id, tok.store_id, scope_of(county)
        ), bytes.fromhex(tok.export_key)

    def record_import(self, export_id: str, p: Principal, events: int, pages: int) -> bool:
        with self.write() as s:
            if s.get(HubImport, export_id) is not None:
                return False
            s.add(
                HubImport(
                    id=export_id,
                    station_id=p.station_id,
                    imported_at=self.now(),
                    events=events,
                    pages=pages,
                )
            )
            return True
