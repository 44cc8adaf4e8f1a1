"""The catalog from the hub (GET /v1/catalog with the digests we hold or refused): checked,
installed and kept in the archive so it is put back at the next start; a broken one is refused
once and parked for a person, an older one is ignored."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from pathlib import Path

from app.catalog_files import read_packed
from app.catalog_load import CatalogProvider
from app.errors import CatalogError
from local_db import messages
from sync.client import HubClient
from sync.jobs.shared import Work
from sync.outbox import Failure

log = logging.getLogger("intake.sync")


class CatalogPull:
    def __init__(self, work: Work, catalogs: CatalogProvider, archive: Path | None) -> None:
        self.work = work
        self.catalogs = catalogs
        self.archive = archive
        self.due = 0.0  # time.monotonic() of the next pull

    def restore(self) -> None:
        """Put back the catalog last installed from the hub (the composition root loads the
        bundled one at start)."""
        digest = self.work.outbox.get("catalog_digest")
        if not digest or not self.archive or self.catalogs.current.digest == digest:
            return
        path = self.archive / f"{digest}.json"
        if not path.exists():
            return
        try:
            self.catalogs.replace(read_packed(path))
        except CatalogError as exc:
            log.info("synced catalog not restored: %s", exc.code)

    def pull(self, client: HubClient) -> None:
        outbox = self.work.outbox
        self.due = time.monotonic() + self.work.config.catalog_interval
        refused = outbox.get("catalog_refused")
        got = client.catalog([self.catalogs.current.digest, refused or ""])
        if got is None:
            return
        digest, version, body = got
        actual = hashlib.sha256(body).hexdigest()
        if actual != digest:
            self._refuse(actual, f"内容校验不符（版本 {version[:32]}）")
            return
        try:
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "catalog.json"
                path.write_bytes(body)
                packed = read_packed(path)
            new = self.catalogs.replace(packed)
        except CatalogError as exc:
            if exc.code == "catalog.older":
                outbox.set(catalog_refused=digest)
                return
            self._refuse(digest, exc.message)
            return
        except Exception as exc:  # a catalog that passed the schema yet breaks the builder
            self._refuse(digest, exc.__class__.__name__)
            return
        outbox.set(catalog_digest=new.digest, catalog_refused=None)
        self.work.report.catalog_installed = new.version
        log.info("catalog %s installed from the hub", new.version)

    def _refuse(self, digest: str, why: str) -> None:
        message, fix = messages.render("sync.bad_catalog"), messages.fix("sync.bad_catalog")
        self.work.outbox.set(catalog_refused=digest)
        self.work.outbox.record_failure(
            Failure("catalog", digest, "sync.bad_catalog", f"{message}（{why[:200]}）", fix),
            self.work.now(),
            1,
            None,
            park=True,
        )
        log.warning("catalog %s refused", digest[:12])
