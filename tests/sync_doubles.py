"""Test and benchmark support for sync (no test framework imported here):

- `MemoryKeyring`: a keyring backend in memory (tests call keyring.set_keyring with it);
- `FaultProxy`: a TCP relay between station and hub that counts bytes each way and, when told,
  drops, delays, resets, answers 500/429, cuts or garbles answers, or trickles them;
- `PgCluster`: a throwaway PostgreSQL cluster from the Debian binaries, for the hub's tests;
  `pg_server` / `pg_database`: the server (INTAKE_TEST_PG_URL or a cluster) and a fresh database;
  `hub_on`: a reference hub on loopback on SQLite or PostgreSQL;
- small helpers to build a station with intakes.
"""

from __future__ import annotations

import contextlib
import glob
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring.backend

# ----------------------------------------------------------------------------- keyring


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


# ----------------------------------------------------------------------------- stations


NEWBORN_ANSWERS = {
    "parents_married": True,
    "applied_by_agent": False,
    "parents_local_insured": True,
}


def small_catalog(dest: Path, version: str | None = None) -> Path:
    """A catalog with only the 新生儿出生 bundle (optionally under another version)."""
    import json

    from app.catalog import BUNDLED_CATALOG

    (dest / "bundles").mkdir(parents=True, exist_ok=True)
    (dest / "materials").mkdir(exist_ok=True)
    header = json.loads((BUNDLED_CATALOG / "catalog.json").read_text(encoding="utf-8"))
    if version:
        header["version"] = version
    (dest / "catalog.json").write_text(json.dumps(header, ensure_ascii=False), encoding="utf-8")
    for f in ("common.json", "personal_life.json"):
        shutil.copy(BUNDLED_CATALOG / "materials" / f, dest / "materials")
    shutil.copy(BUNDLED_CATALOG / "bundles" / "newborn_birth.json", dest / "bundles")
    return dest


def station(
    base: Path, code: str, clock: Any, catalog: Path, secrets: Any = None
) -> tuple[Any, Any]:
    """A station's store with its local station and one clerk: (context, clerk). SECRETS: where
    its keys live (a local_db.keys store; default: the OS keyring)."""
    from app.context import build_context

    base.mkdir(parents=True, exist_ok=True)
    ctx = build_context(base / "intake.sqlite3", clock=clock, catalog_path=catalog, secrets=secrets)
    _st, admin = ctx.staff.setup_station(
        code=code,
        name=f"{code}便民服务中心",
        centre_name="新乡县政务服务中心",
        jurisdiction="xinxiang",
        admin_username=f"admin{code.lower()}",
        admin_display_name="管理员",
        admin_password="admin1234",
    )
    clerk = ctx.staff.create_account(
        admin,
        username=f"clerk{code.lower()}",
        display_name="王芳",
        role="clerk",
        password="clerk1234",
    )
    return ctx, clerk


def complete_newborn_draft(ctx: Any, clerk: Any) -> str:
    """A 新生儿出生 draft for 张三 with every material collected, ready to finish."""
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
    ctx.intake.mark_many(clerk, sid, {m.id: "collected" for m in lines if m.produced_by is None})
    return sid


def intake_with_pages(
    ctx: Any,
    clerk: Any,
    rng: random.Random,
    page_sizes: tuple[int, int] = (2000, 40000),
    big: int | None = None,
) -> str:
    """One received intake of 新生儿出生 whose paper materials all get pages (so it is digitised)."""
    sid = complete_newborn_draft(ctx, clerk)
    ctx.intake.finish(clerk, sid)
    first = True
    for m in ctx.intake.checklist(sid).materials:
        if m.needs_pages:
            size = big if (big and first) else rng.randint(*page_sizes)
            first = False
            ctx.pages.attach_page(clerk, sid, m.id, rng.randbytes(size), "image/jpeg")
    return sid


def assert_mirrored(ctx: Any, store: Any, read_blob: Any, code: str = "XX01") -> dict[str, Any]:
    """Every local event exactly once at the hub (same content), every page byte-identical,
    at most one "pushed" event per intake. Returns the local events by id."""
    import json

    from sqlalchemy import select

    from local_db.models import Attachment, Event

    with ctx.sessions() as s:
        local = {e.id: e for e in s.scalars(select(Event))}
        pages = {a.sha256 for a in s.scalars(select(Attachment))}
    remote = store.events_of(code)
    assert len(remote) == len({e["id"] for e in remote}) == len(local), (len(remote), len(local))
    for e in remote:
        mine = local[e["id"]]
        assert (e["seq"], e["type"], e["submission_id"], e["payload"]) == (
            mine.station_seq,
            mine.type,
            mine.submission_id,
            json.loads(mine.payload),
        )
    for sha in pages:
        assert read_blob(sha) == ctx.attachments.get(sha), sha
    pushes: dict[str, int] = {}
    for ev in local.values():
        if ev.type == "pushed":
            pushes[ev.submission_id] = pushes.get(ev.submission_id, 0) + 1
    assert all(n == 1 for n in pushes.values())
    return local


# ----------------------------------------------------------------------------- fault proxy

FAULTS = (
    "reset",
    "drop",
    "delay",
    "error500",
    "error429",
    "error503",
    "html",
    "cut_answer",
    "trickle",
)
_CANNED = {
    "error500": (
        "500 Internal Server Error",
        "application/json",
        b'{"error":{"code":"x","message":"boom"}}',
        "",
    ),
    "error429": (
        "429 Too Many Requests",
        "application/json",
        b'{"error":{"code":"rate","message":"slow down","retry":true}}',
        "Retry-After: 1\r\n",
    ),
    "error503": (
        "503 Service Unavailable",
        "text/html",
        b"<html>maintenance</html>",
        "Retry-After: 1\r\n",
    ),
    "html": ("200 OK", "text/html", b"<html><body>proxy login</body></html>", ""),
}


class _Conn:
    """A socket with a read buffer, for reading HTTP heads and exact bodies."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buf = sock, b""

    def head(self) -> bytes | None:
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
            if len(self.buf) > 1 << 20:
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(max(65536, n - len(self.buf)))
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def _length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class FaultProxy:
    """An HTTP/1.1 relay on 127.0.0.1 that counts bytes each way and injects a fault into a
    request (drawn per request, so kept-alive connections are hit too).

    `faults` maps a fault name (FAULTS) to its probability per request: reset (RST instead of
    relaying), drop (part of the request reaches the hub, then both sides are cut), delay,
    error500/error429/error503/html (a canned answer; the hub never sees the request),
    cut_answer (the hub did the work, its answer is cut), trickle (the answer dribbles, then
    stalls for `stall` seconds).
    """

    def __init__(
        self,
        target_port: int,
        *,
        faults: dict[str, float] | None = None,
        seed: int = 0,
        target_host: str = "127.0.0.1",
        stall: float = 3.0,
    ) -> None:
        self.target = (target_host, target_port)
        self.faults = dict(faults or {})
        self.rng = random.Random(seed)
        self.stall = stall
        self.up = 0  # bytes station -> hub
        self.down = 0  # bytes hub -> station
        self.requests = 0
        self.cut_after: int | None = None  # cut the connection once, after this many bytes up
        self.injected: dict[str, int] = {}
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()
        self._thread.join(5)

    def reset_counts(self) -> None:
        with self._lock:
            self.up = self.down = self.requests = 0

    def _count(self, up: int = 0, down: int = 0) -> None:
        with self._lock:
            self.up += up
            self.down += down

    def _pick(self) -> str:
        with self._lock:
            self.requests += 1
            r = self.rng.random()
            for name, p in self.faults.items():
                if r < p:
                    self.injected[name] = self.injected.get(name, 0) + 1
                    return name
                r -= p
        return "pass"

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _rst(s: socket.socket) -> None:
        with contextlib.suppress(OSError):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()

    def _send(self, s: socket.socket, data: bytes, direction: str) -> None:
        with self._lock:
            cut = (
                self.cut_after is not None
                and direction == "up"
                and self.up + len(data) > self.cut_after
            )
            if cut:
                data = data[: max(0, self.cut_after - self.up)]  # type: ignore[operator]
                self.cut_after = None
        s.sendall(data)
        self._count(**{direction: len(data)})
        if cut:
            raise ConnectionAbortedError("cut by the proxy")

    def _serve(self, client_sock: socket.socket) -> None:
        with self._lock:
            self._conns.add(client_sock)
        client = _Conn(client_sock)
        up: _Conn | None = None
        client_sock.settimeout(120)
        try:
            while not self._stop.is_set():
                head = client.head()
                if head is None:
                    return
                body = client.exactly(_length(head))
                method = head.split(b" ", 1)[0]
                mode = self._pick()
                if mode == "reset":
                    self._rst(client_sock)
                    return
                if mode in _CANNED:
                    self._count(up=len(head) + len(body))
                    status, ctype, text, extra = _CANNED[mode]
                    resp = (
                        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(text)}\r\n"
                        f"{extra}Connection: close\r\n\r\n"
                    ).encode() + text
                    self._send(client_sock, resp, "down")
                    return
                if mode == "delay":
                    time.sleep(self.rng.uniform(0.2, 1.0))
                if up is None:
                    upstream = socket.create_connection(self.target, timeout=120)
                    upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    with self._lock:
                        self._conns.add(upstream)
                    up = _Conn(upstream)
                if mode == "drop":
                    whole = head + body
                    self._send(up.sock, whole[: self.rng.randint(0, len(whole))], "up")
                    time.sleep(0.05)
                    self._rst(up.sock)
                    self._rst(client_sock)
                    return
                self._send(up.sock, head + body, "up")
                rhead = up.head()
                if rhead is None:
                    return
                code = int(rhead.split(b" ", 2)[1])
                rbody = (
                    b""
                    if method == b"HEAD" or code in (204, 304) or code < 200
                    else up.exactly(_length(rhead))
                )
                answer = rhead + rbody
                if mode == "cut_answer":
                    self._send(client_sock, answer[: self.rng.randint(0, len(answer) - 1)], "down")
                    client_sock.close()
                    return
                if mode == "trickle":
                    for i in range(0, min(len(answer), 48), 16):
                        self._send(client_sock, answer[i : i + 16], "down")
                        time.sleep(0.02)
                    time.sleep(self.stall)
                    self._send(client_sock, answer[48:], "down")
                    continue
                self._send(client_sock, answer, "down")
        except (OSError, ConnectionError, ValueError, IndexError):
            return
        finally:
            with self._lock:
                self._conns.discard(client_sock)
            for sock in (client_sock, up.sock if up else None):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()


# ----------------------------------------------------------------------------- PostgreSQL


def _pg_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


class PgCluster:
    """A throwaway cluster (initdb + pg_ctl in a temporary directory, trust auth on loopback,
    fsync off). As root it runs as the `postgres` user through runuser."""

    def __init__(self) -> None:
        bindir = _pg_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bin = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="intake-pg-"))
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *cmd: str) -> None:
        subprocess.run(
            [*self._as, *cmd],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.dir,
        )

    def start(self) -> PgCluster:
        data = self.dir / "data"
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        return self

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"
            )
        shutil.rmtree(self.dir, ignore_errors=True)


def fresh_database(admin_url: str, name: str) -> str:
    """CREATE DATABASE name (dropping an old one) and return its URL; falls back to the admin
    database itself, emptied, when the role may not create databases."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    except Exception:  # no CREATEDB: use the given database, emptied
        from sync.hub.models import HubBase

        HubBase.metadata.drop_all(create_engine(admin_url))
        return admin_url
    finally:
        engine.dispose()


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with contextlib.suppress(Exception), engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@contextlib.contextmanager
def pg_server() -> Iterator[str]:
    """The PostgreSQL server the hub's tests use: INTAKE_TEST_PG_URL when set, else a throwaway
    cluster, stopped on leaving. Yields the admin URL."""
    url = os.environ.get("INTAKE_TEST_PG_URL")
    if url:
        yield url
        return
    cluster = PgCluster().start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@contextlib.contextmanager
def pg_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A fresh database named PREFIX_<random> on ADMIN_URL's server, dropped on leaving."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        yield fresh_database(admin_url, name)
    finally:
        drop_database(admin_url, name)


@contextlib.contextmanager
def hub_on(kind: str, tmp_path: Path, pg_admin_url: Callable[[], str]) -> Iterator[Any]:
    """A reference hub on loopback on KIND's database: "sqlite" in TMP_PATH, or "postgresql" on
    a fresh database (PG_ADMIN_URL is called for the server only then). h.kind says which."""
    from sync.hub.server import HubThread

    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path}/hub.sqlite3"
        else:
            url = stack.enter_context(pg_database(pg_admin_url(), "hubtest"))
        h = HubThread(url, tmp_path / "blobs").start()
        h.kind = kind  # type: ignore[attr-defined]
        stack.callback(h.stop)
        yield h
