"""The catalog the hub distributes to its stations."""

from __future__ import annotations

import logging
import tempfile
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
        log.info("catalog %s published (%s)", cat.version, cat.digest[:12])
        return {"digest": cat.digest, "version": cat.version}

    def publish_catalog_bytes(self, body: bytes, *, force: bool = False) -> dict[str, str]:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "catalog.json"
            path.write_bytes(body)
            return self.publish_catalog(path, force=force)

    def current_catalog(self) -> tuple[str, str, bytes] | None:
        with self.sessions() as s:
            row = s.scalars(
                select(HubCatalog).order_by(HubCatalog.published_at.desc()).limit(1)
            ).first()
            return (row.digest, row.version, row.packed) if row else None
