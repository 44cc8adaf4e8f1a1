"""The catalog the hub distributes to its stations."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from sqlalchemy import select, update

from app.catalog_files import packed_bytes, read_packed
from app.catalog_load import build_catalog
from app.errors import CatalogError
from sync.hub.db import (
    StoreBase,
)
from sync.hub.errors import HubError
from sync.hub.models import (
    HubCatalog,
)

log = logging.getLogger("intake.hub")


class CatalogOps(StoreBase):
    # ------------------------------------------------------------------ catalog

    def publish_catalog(self, source: Path | str, *, force: bool = False) -> dict[str, str]:
        """Publish a catalog directory or packed file (validated exactly as stations will)."""
        try:
            packed = read_packed(Path(source))
            cat = build_catalog(packed, Path(source).name)
        except CatalogError as exc:
            raise HubError(422, exc.code, exc.message) from exc
        body = packed_bytes(packed)
        current = self.current_catalog()
        if current and not force and cat.version < current[1]:
            raise HubError(
                409, "catalog.older", f"目录版本 {cat.version} 早于已发布的 {current[1]}"
            )
        with self.write() as s:
            if s.get(HubCatalog, cat.digest) is None:
                s.add(
                    HubCatalog(
                        digest=cat.digest, version=cat.version, packed=body, published_at=self.now()
                    )
                )
            else:
                s.execute(
                    update(HubCatalog)
                    .where(HubCatalog.digest == cat.digest)
                    .values(published_at=self.now())
                )
        self._catalog_head = None  # this process's stations see it at once
        log.info("catalog %s published (%s)", cat.version, cat.digest[:12])
        return {"digest": cat.digest, "version": cat.version}

    def publish_catalog_bytes(self, body: bytes, *, force: bool = False) -> dict[str, str]:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "catalog.json"
            path.write_bytes(body)
            return self.publish_catalog(path, force=force)

    _catalog_head: tuple[float, tuple[str, str] | None] | None = None

    def catalog_head(self) -> tuple[str, str] | None:
        """The digest and version of the catalog in force, without its body: what a station that
        holds it already (If-None-Match, a 304) costs — one small row, no ORM object."""
        with self.engine.connect() as c:
            row = c.execute(
                select(HubCatalog.digest, HubCatalog.version)
                .order_by(HubCatalog.published_at.desc())
                .limit(1)
            ).first()
        head = (str(row[0]), str(row[1])) if row is not None else None
        self._catalog_head = (time.monotonic(), head)
        return head

    def cached_catalog_head(self, max_age: float) -> tuple[str, str] | None:
        """The head catalog_head read less than MAX_AGE seconds ago (None: read it), without
        touching the database (callable from the event loop)."""
        found = self._catalog_head
        if found is None or time.monotonic() - found[0] >= max_age:
            return None
        return found[1]

    def catalog_body(self, digest: str) -> bytes | None:
        with self.engine.connect() as c:
            found = c.scalar(select(HubCatalog.packed).where(HubCatalog.digest == digest))
        return bytes(found) if found is not None else None

    def current_catalog(self) -> tuple[str, str, bytes] | None:
        with self.sessions() as s:
            row = s.scalars(
                select(HubCatalog).order_by(HubCatalog.published_at.desc()).limit(1)
            ).first()
            return (row.digest, row.version, row.packed) if row else None
