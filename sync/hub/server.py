"""Running the hub: `intake hub serve` / `python -m sync.hub`, or in a thread (tests, bench)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from app.paths import data_dir
from sync.hub.app import create_app
from sync.hub.blobs import BlobStore
from sync.hub.crypto import MasterKeys
from sync.hub.notify import start_sender
from sync.hub.ops import setup_access_log
from sync.hub.s3 import make_blob_store
from sync.hub.settings import HubSettings
from sync.hub.store import HubStore

log = logging.getLogger("intake.hub")


def default_db_url() -> str:
    return "sqlite:///" + str(data_dir() / "hub.sqlite3")


def default_blobs_dir() -> Path:
    return data_dir() / "hub-blobs"


def build(
    db_url: str | None = None,
    blobs_dir: Path | str | None = None,
    settings: HubSettings | None = None,
) -> tuple[Any, HubStore, BlobStore]:
    settings = settings or HubSettings()
    store = open_store(settings, db_url)
    blobs = open_blobs(settings, store, blobs_dir)
    app = create_app(
        store,
        blobs,
        hub_id=settings.hub_id,
        metrics=settings.metrics,
        log_access=settings.access_log,
        platform_token=settings.platform_token_value(),
    )
    return app, store, blobs


def open_store(settings: HubSettings, db_url: str | None = None) -> HubStore:
    """The hub's database with the master keys the settings name (env, file or TOML)."""
    masters = MasterKeys.load(settings.component_env(), default_file=data_dir() / "hub-master.keys")
    return HubStore(
        db_url or settings.db_url() or default_db_url(),
        masters=masters,
        pool_size=settings.db_pool_size,
    )


def open_blobs(
    settings: HubSettings, store: HubStore | Any, blobs_dir: Path | str | None = None
) -> BlobStore:
    """The page store the settings name: S3 when a bucket is set, else the local directory
    (which is also the spool of unfinished uploads for S3)."""
    spool = blobs_dir or settings.blobs or default_blobs_dir()
    return make_blob_store(spool, store.sealer, settings.component_env())


# Seconds between the server's housekeeping turns (the Date header, the exit check); uvicorn's
# own 0.1 s woke an idle process ten times a second, each wake-up after a gap costing several
# times the same work run hot. An exit request wakes the loop at once instead.
TICK = 1.0

# On SIGTERM: stop accepting at once, give requests in flight this long to finish, then cut the
# rest (a cut upload keeps its bytes; the station resumes). Well inside systemd's and docker's
# patience, and short enough that a restart is not felt at the counters.
SHUTDOWN_GRACE = 1.0


def event_loop() -> str:
    """uvloop where it is installed (Linux; the hub extra brings it): its event loop and
    transports cost less CPU per request than asyncio's."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _config(app: Any, host: str, port: int, **kw: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=event_loop(),
        log_level=kw.pop("log_level", "warning"),
        access_log=False,
        # Nothing reads the client's address or scheme (the access log names the station, never
        # an address), so X-Forwarded-* from nginx need no rewriting: one layer less a request.
        proxy_headers=False,
        timeout_keep_alive=30,
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_GRACE + 0.3,  # type: ignore[arg-type]  # a float works
        **kw,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, but a SIGTERM/SIGINT ends `run` normally: uvicorn re-raises the signal
    after its shutdown, which killed the process before the database pool was closed. Its
    housekeeping turns come every TICK, and an exit request wakes it at once."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self._wake()

    def request_exit(self) -> None:
        """Stop serving, from any thread."""
        self.should_exit = True
        self._wake()

    def _wake(self) -> None:
        loop, woken = self._loop, self._woken
        if loop is not None and woken is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(woken.set)

    async def main_loop(self) -> None:
        self._loop, self._woken = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), TICK)
            self._woken.clear()
            # on_tick refreshes the Date header on every tenth of uvicorn's turns: each of ours
            counter = (counter + 10) % 864000
            should_exit = await self.on_tick(counter)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Requests still reading their body when the grace is over answer 503 (retry later)
        # themselves, so nothing is cancelled mid-write; uvicorn's own timeout is the backstop.
        stopping = getattr(getattr(self.config.app, "state", None), "stopping", None)
        if stopping is not None:
            asyncio.get_running_loop().call_later(SHUTDOWN_GRACE, stopping.set)
        await super().shutdown(sockets)


def _listen_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it a response written in two parts waits for
    # the station's delayed ACK (40 ms per request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(512)
    return sock


def serve(settings: HubSettings, *, ready_file: Path | None = None) -> None:
    """Run until interrupted (SIGINT/SIGTERM end it cleanly; uploads in flight keep their bytes).
    `settings.workers` > 1 forks that many processes in all onto the same listening socket; each
    has its own database pool and keeps nothing another needs (the kernel spreads the
    connections). The app is built (schema migrated, master key in place) before the address is
    announced: whoever waits for "hub listening" may use the hub at once, and the first process
    makes the default master-key file the others read."""
    host, port, workers = settings.host, settings.port, settings.workers
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    if settings.access_log:
        setup_access_log()
    app, store, _blobs = build(settings=settings)
    sock = _listen_socket(host, port)
    bound = sock.getsockname()[1]
    children = [_fork_worker(sock, store, settings) for _ in range(workers - 1)]
    log.info("hub listening on %s:%s (%d processes)", host, bound, workers)
    if ready_file is not None:
        ready_file.write_text(str(bound))
    print(f"hub listening on http://{host}:{bound}", flush=True)
    server = _Server(_config(app, host, bound))
    sender = start_sender(store, settings)
    try:
        server.run(sockets=[sock])
    finally:
        if sender is not None:
            sender.stop()
        store.close()
        for pid in children:  # the workers stop as this one did: gracefully
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        sock.close()
    log.info("hub stopped")
    if server.should_exit:
        # Everything is closed; skip the interpreter's module teardown (~1 s with FastAPI,
        # pydantic and SQLAlchemy loaded) so a SIGTERM ends the process within 2 s.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _fork_worker(sock: socket.socket, parent: HubStore, settings: HubSettings) -> int:
    pid = os.fork()
    if pid == 0:  # the worker: its own app and pool; serve until told to stop, then leave
        parent.engine.dispose(close=False)  # the parent's connections stay the parent's
        code = 0
        try:
            app, store, _blobs = build(settings=settings)
            host, port = sock.getsockname()[:2]
            sender = start_sender(store, settings)
            try:
                _Server(_config(app, host, port)).run(sockets=[sock])
            finally:
                if sender is not None:
                    sender.stop()
                store.close()
        except BaseException:
            log.exception("hub worker failed")
            code = 1
        finally:
            logging.shutdown()
            os._exit(code)
    return pid


class HubThread:
    """The real hub on loopback in a background thread, on an ephemeral port (tests, bench)."""

    def __init__(
        self, db_url: str, blobs_dir: Path | str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.settings = HubSettings()
        self.app, self.store, self.blobs = build(db_url, blobs_dir, self.settings)
        self.sender: Any = None
        self._sock = _listen_socket(host, port)
        self.host, self.port = host, self._sock.getsockname()[1]
        self.server = _Server(_config(self.app, host, self.port))
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HubThread:
        self.sender = start_sender(self.store, self.settings)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("hub did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.request_exit()
        if self.sender is not None:
            self.sender.stop()
        self._thread.join(10)
        self._sock.close()
        self.store.close()

    def __enter__(self) -> HubThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
