"""The hub's own disk fills up (the page directory, or the spool in front of S3): stations are
told so truthfully (503 blob.disk_full with retry, the reason in their queue), nothing is half
stored, /readyz and /metrics show it to the operator, and once space is freed every page
arrives whole and every event once.

A real small file system (tmpfs) when the test may mount one (root, as CI runs); otherwise
the spool's writes fail with ENOSPC past the same budget."""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import logging
import random
import subprocess
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from sync.engine import SyncConfig, SyncEngine
from sync.hub.server import HubThread
from sync.keystore import MemoryTokenStore
from tests.sync_doubles import assert_mirrored, intake_with_pages, station

pytestmark = pytest.mark.integration

FAST = SyncConfig(backoff_base=0.05, backoff_cap=0.3, status_interval=0, catalog_interval=0)
KEY = "kd " + base64.b64encode(b"D" * 32).decode()
BUDGET = 700 * 1024  # room for about three of the eight pages below


class _SmallDisk:
    """A directory with BUDGET bytes of room, and `grow()` to free space."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        root.mkdir()
        try:
            self.mounted = not subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={BUDGET}", "tmpfs", str(root)],
                capture_output=True,
            ).returncode
        except OSError:  # no mount(8)
            self.mounted = False
        self.left = BUDGET
        if not self.mounted:
            monkeypatch.setattr("sync.hub.spool.open", self._open, raising=False)

    def _open(self, path: Path, mode: str, buffering: int = -1) -> io.FileIO:
        disk = self

        class Limited(io.FileIO):
            def write(self, b):  # type: ignore[no-untyped-def]
                n = min(len(b), disk.left)
                if n == 0:
                    raise OSError(errno.ENOSPC, "No space left on device")
                disk.left -= n
                return super().write(memoryview(b)[:n])

        return Limited(path, mode.replace("b", ""))  # FileIO: "a+", always unbuffered

    def grow(self) -> None:
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,size=256m", str(self.root)], check=True)
        self.left = 1 << 40

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.root)], check=False)


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    disk = _SmallDisk(tmp_path / "disk", monkeypatch)
    yield disk
    disk.close()


def blob_write_errors(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "intake_hub_blob_store_errors_total" and s.labels == {
                "operation": "write"
            }:
                return s.value
    raise AssertionError("no blob store error counter")


@pytest.mark.expect_log(logging.ERROR, "intake.hub.blobs", r"^page store disk full \(ENOSPC\)$")
@pytest.mark.expect_log(logging.WARNING, "intake.sync", r"^sync paused: sync.server_error")
def test_a_full_disk_is_a_503_to_retry_and_once_freed_every_page_arrives(
    tmp_path, clock, catalog, small_disk, caplog, monkeypatch
):
    monkeypatch.setattr("sync.hub.routes.pages.DISK_FULL_RETRY", 1)  # a minute in service
    hub = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", small_disk.root / "blobs").start()
    try:
        ctx, clerk = station(tmp_path / "XX01", "XX01", clock, catalog)
        eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock)
        eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
        rng = random.Random(5)
        for _ in range(4):
            intake_with_pages(ctx, clerk, rng, page_sizes=(150_000, 200_000))
        eng.run_until_idle(max_seconds=5)

        status = eng.status()
        assert status.waiting > 0  # not everything fitted
        assert status.problem is not None
        assert "平台页面存储空间已满" in status.problem.message  # the hub's reason, not "内部出错"
        assert status.problem.code == "sync.server_error"
        assert not [r for r in caplog.records if r.getMessage() == "internal error"]
        assert blob_write_errors(hub.url) >= 1
        if small_disk.mounted:  # the operator sees it: not ready, and how much room is left
            ready = requests.get(f"{hub.url}/readyz", timeout=10)
            assert ready.status_code == 503 and ready.json()["checks"]["spool"] == "disk_full"
        # nothing half-stored: every page the hub names as stored reads back whole
        for sha in [p.name for p in (small_disk.root / "blobs").glob("??/??/*")]:
            assert hub.blobs.read(sha) == ctx.attachments.get(sha)

        small_disk.grow()
        eng.run_until_idle(max_seconds=120)
        assert eng.status().waiting == 0 and eng.status().problem is None
        assert_mirrored(ctx, hub.store, hub.blobs.read)
        if small_disk.mounted:
            assert requests.get(f"{hub.url}/readyz", timeout=10).status_code == 200
        ctx.close()
    finally:
        hub.stop()


@pytest.mark.expect_log(logging.ERROR, "intake.hub.blobs", r"^page store disk full \(ENOSPC\)$")
def test_a_store_step_failing_on_a_full_disk_puts_the_pages_back_in_the_spool(
    tmp_path, monkeypatch
):
    """Storing a verified batch fails at its flush with ENOSPC: every page goes back to its
    partial file as it was, and the next attempt stores them whole."""
    from sync.hub.blobs import BlobError, BlobStore
    from sync.hub.crypto import MasterKeys
    from sync.hub.store import HubStore

    (tmp_path / "data").mkdir()
    store = HubStore(f"sqlite:///{tmp_path}/data/hub.sqlite3", masters=MasterKeys.parse(KEY))
    try:
        blobs = BlobStore(tmp_path / "blobs", sealer=store.sealer)
        rng = random.Random(7)
        pages = [rng.randbytes(90_000), rng.randbytes(120_000)]
        deferred: list[str] = []
        parts = []
        for page in pages:
            sha = hashlib.sha256(page).hexdigest()
            writer = blobs.open_append(sha, "s1", "330106")
            writer.write(page)
            writer.close()
            blobs.finish(sha, len(page), sha, deferred, "s1", "330106")
            part = blobs.partial_dir / f"{sha}.s1.part"
            parts.append((sha, part, part.read_bytes()))

        def full(_self, _paths):
            raise OSError(errno.ENOSPC, "No space left on device")

        with monkeypatch.context() as m:
            m.setattr(BlobStore, "_sync", full)
            with pytest.raises(BlobError) as refused:
                blobs.commit(list(deferred))
        assert refused.value.code == "blob.disk_full" and refused.value.retry
        for sha, part, before in parts:
            assert part.read_bytes() == before  # back in the spool, tag not appended
            assert not blobs.has(sha)
        assert not list(blobs.root.glob("??/??/*.tmp"))
        assert sorted(blobs.commit(deferred)) == sorted(sha for sha, _, _ in parts)
        for (sha, _, _), page in zip(parts, pages, strict=True):
            assert blobs.read(sha) == page
    finally:
        store.close()
