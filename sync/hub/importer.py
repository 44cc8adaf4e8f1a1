"""Import a station's USB export into the hub: verify the signature, store pages, then events
and the audit log's tail through the same idempotent paths as an online upload (what already
arrived is a duplicate)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sync.export import ExportError, read_export, read_header
from sync.hub.blobs import BlobStore
from sync.hub.errors import HubError
from sync.hub.store import HubStore
from sync.protocol import MAX_AUDIT_PER_BATCH, MAX_EVENTS_PER_BATCH

log = logging.getLogger("intake.hub.import")


def import_file(store: HubStore, blobs: BlobStore, path: Path | str) -> dict[str, Any]:
    header = read_header(path)
    token_id = header.get("token_id")
    if not isinstance(token_id, str):
        raise ExportError("export.header", variant=2)
    principal, key = store.token_for_import(token_id)
    if (
        header.get("store_id") != principal.store_id
        or header.get("station_code") != principal.station_code
    ):
        raise ExportError("export.station")
    doc: dict[str, Any] | None = None
    pages = 0
    sent: list[str] = []
    for kind, value in read_export(path, key):
        if kind == "doc":
            doc = value
        else:
            sent.append(blobs.put(value[1], principal.scope))
            pages += 1
    store.add_holder(principal, sent)  # the station sent these bytes (in its signed file)
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        raise ExportError("export.frame", variant=2)
    manifests = doc.get("manifests") or []
    for i in range(0, len(manifests), 1000):
        store.manifests(principal, manifests[i : i + 1000], blobs)
    counts = {"stored": 0, "duplicate": 0, "refused": 0, "skipped": 0}
    refused: list[dict[str, Any]] = []
    events = doc["events"]
    for i in range(0, len(events), MAX_EVENTS_PER_BATCH):
        res = store.ingest_events(
            principal, principal.store_id, events[i : i + MAX_EVENTS_PER_BATCH], blobs, via="usb"
        )
        for r in res["results"]:
            counts[r["status"]] += 1
            if r["status"] == "refused":
                refused.append(
                    {"id": r.get("id"), "code": r.get("code"), "message": r.get("message")}
                )
    audit = _import_audit(store, principal, doc.get("audit") or [])
    first = store.record_import(str(header["export_id"]), principal, counts["stored"], pages)
    log.info("import %s from station %s: %s", header["export_id"], principal.station_code, counts)
    return {
        "export_id": header["export_id"],
        "station_code": principal.station_code,
        "first_import": first,
        "events": counts,
        "pages": pages,
        "refused": refused[:50],
        "audit": audit,
    }


def _import_audit(store: HubStore, principal: Any, entries: Any) -> dict[str, Any]:
    """Append the file's audit entries to the station's copy; a refused link (an altered or
    missing entry) keeps what came before it and is reported, the events stay imported."""
    out: dict[str, Any] = {"stored": 0, "duplicate": 0, "refused": None}
    if not isinstance(entries, list):
        out["refused"] = {
            "code": "audit.batch",
            "message": "导出文件中的审计记录不是列表",
            "entry_id": None,
        }
        return out
    for i in range(0, len(entries), MAX_AUDIT_PER_BATCH):
        try:
            res = store.ingest_audit(
                principal, principal.store_id, entries[i : i + MAX_AUDIT_PER_BATCH]
            )
        except HubError as exc:
            out["stored"] += int(exc.details.get("stored", 0))
            out["refused"] = {
                "code": exc.code,
                "message": exc.message,
                "entry_id": exc.details.get("entry_id"),
            }
            log.warning("import: audit entry refused (%s)", exc.code)
            break
        out["stored"] += res["stored"]
        out["duplicate"] += res["duplicate"]
    return out


__all__ = ["ExportError", "HubError", "import_file"]
