"""Backup and restore of a hub: the database (pg_dump custom format, or SQLite's online backup)
and every stored page, as stored (sealed: a backup is no less protected than the hub).

Order makes a backup consistent without stopping the hub: the database is dumped first, then the
pages copied. A page the dump names was stored before its row was written (a page is
acknowledged only once stored), so it is in the copy; pages stored during the copy are extra and
harmless. After a restore the hub holds less than it acknowledged to stations since the backup:
each station finds that out at its next sync (GET /v1/events/received below its cursor) and sends
those events and pages again; the status feed tells a station whose cursor is past its end to
read on from there. Nothing is lost, nothing is stored twice (sync/README.md, backups).

Layout of DEST: backup.json (what, when, checksums), database.pgdump or database.sqlite3,
objects/<aa>/<bb>/<sha256>. Backing up into the same DEST again copies only new pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from local_db.errors import DomainError
from sync.protocol import is_sha256

FORMAT = 1


class BackupError(DomainError):
    """A backup or restore that could not be made (nothing half-restored claims success)."""


# ----------------------------------------------------------------------------- pages as stored


def _local_files(root: Path) -> Iterator[tuple[str, Path]]:
    for path in root.glob("??/??/*"):
        if path.is_file() and is_sha256(path.name):
            yield path.name, path


class _Objects:
    """Stored pages, byte for byte (sealed), of a blob store: local directory or S3 bucket
    (with each object's metadata: the page's own size rides there)."""

    def __init__(self, blobs: Any) -> None:
        self.blobs = blobs
        self.backend = getattr(blobs, "backend", "local")

    def names(self) -> Iterator[str]:
        if self.backend == "local":
            for name, _p in _local_files(Path(self.blobs.root)):
                yield name
            return
        cfg = self.blobs.config
        pages = self.blobs.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=cfg.bucket, Prefix=cfg.prefix):
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if is_sha256(name) and item["Key"] == self.blobs.key(name):
                    yield name

    def get(self, name: str) -> tuple[bytes, dict[str, str]]:
        if self.backend == "local":
            return Path(self.blobs.path(name)).read_bytes(), {}
        obj = self.blobs.client.get_object(
            Bucket=self.blobs.config.bucket, Key=self.blobs.key(name)
        )
        return obj["Body"].read(), dict(obj.get("Metadata", {}))

    def put(self, name: str, data: bytes, meta: dict[str, str]) -> None:
        if self.backend == "local":
            from local_db.attachments import write_atomic

            path = Path(self.blobs.path(name))
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
            return
        ensure = getattr(self.blobs, "ensure_bucket", None)
        if ensure is not None and not getattr(self, "_bucket_ok", False):
            ensure()
            self._bucket_ok = True
        self.blobs.client.put_object(
            Bucket=self.blobs.config.bucket, Key=self.blobs.key(name), Body=data, Metadata=meta
        )


def _object_path(base: Path, name: str) -> Path:
    return base / "objects" / name[:2] / name[2:4] / name


# ----------------------------------------------------------------------------- the database


def _pg_env(url: Any) -> tuple[str, dict[str, str]]:
    """libpq connection string without the password (which goes by PGPASSWORD, never argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    conn = url.set(drivername="postgresql", password=None)
    return conn.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError("backup.tool_missing", cmd_0=cmd[0]) from exc
    if done.returncode != 0:
        # pg_* messages name tables and the server, never row contents
        raise BackupError(
            "backup.database_failed", what=what, done_stderr_strip_300=done.stderr.strip()[-300:]
        )


def _revision(db_url: str) -> str | None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            if not inspect(c).has_table("alembic_version"):
                return None
            return c.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- backup / restore


def backup(db_url: str, blobs: Any, dest: Path | str) -> dict[str, Any]:
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    url = make_url(db_url)
    started = dt.datetime.now(dt.UTC)
    if url.get_backend_name() == "postgresql":
        dump = dest / "database.pgdump"
        conn, env = _pg_env(url)
        tmp = dump.with_suffix(".part")
        _run(
            ["pg_dump", "--format=custom", "--no-owner", f"--file={tmp}", f"--dbname={conn}"],
            env,
            "备份",
        )
        tmp.replace(dump)
        kind = "postgresql"
    elif url.get_backend_name() == "sqlite" and url.database:
        dump = dest / "database.sqlite3"
        tmp = dump.with_suffix(".part")
        tmp.unlink(missing_ok=True)
        src, out = sqlite3.connect(url.database), sqlite3.connect(tmp)
        try:
            src.backup(out)
        finally:
            src.close()
            out.close()
        tmp.replace(dump)
        kind = "sqlite"
    else:
        raise BackupError("backup.database_kind")
    objects = _Objects(blobs)
    copied = kept = size = 0
    listing: list[list[Any]] = []
    # A previous backup into DEST: its pages are neither fetched nor read again (its listing
    # has their checksums; a nightly backup of a county's year would otherwise re-read
    # hundreds of GB). Restore checks every page against the listing before writing anything.
    try:
        before = {
            n: (d, z, m) for n, d, z, m in json.loads((dest / "objects.json").read_text("utf-8"))
        }
    except (OSError, ValueError):
        before = {}
    for name in objects.names():  # after the dump: every page it names is already stored
        target = _object_path(dest, name)
        known = before.get(name)
        if known is not None and target.is_file() and target.stat().st_size == known[1]:
            listing.append([name, *known])
            size += known[1]
            kept += 1
            continue
        meta: dict[str, str] = {}
        if known is None and target.is_file():  # left by a run cut before its listing
            data = target.read_bytes()
            kept += 1
        else:  # new, or the copy here is not the one listed (damaged): fetched from the store
            data, meta = objects.get(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_suffix(".part")
            part.write_bytes(data)
            part.replace(target)
            copied += 1
        size += len(data)
        listing.append([name, hashlib.sha256(data).hexdigest(), len(data), meta])
    (dest / "objects.json").write_text(json.dumps(listing), encoding="utf-8")
    info = {
        "format": FORMAT,
        "created_at": started.isoformat(timespec="seconds"),
        "database": kind,
        "dump": dump.name,
        "dump_sha256": _sha256_file(dump),
        "schema_revision": _revision(db_url),
        "objects": len(listing),
        "objects_copied": copied,
        "objects_already_there": kept,
        "object_bytes": size,
        "objects_sha256": _sha256_file(dest / "objects.json"),
    }
    (dest / "backup.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def _check(src: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    try:
        info = json.loads((src / "backup.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError("backup.not_a_backup", variant=2, src=src) from exc
    if info.get("format") != FORMAT:
        raise BackupError("backup.format", info_get_format=info.get("format"))
    dump = src / str(info.get("dump"))
    if not dump.is_file() or _sha256_file(dump) != info.get("dump_sha256"):
        raise BackupError("backup.damaged")
    listing_path = src / "objects.json"
    if not listing_path.is_file() or _sha256_file(listing_path) != info.get("objects_sha256"):
        raise BackupError("backup.damaged", variant=2)
    listing = json.loads(listing_path.read_text(encoding="utf-8"))
    for name, digest, size, _meta in listing:  # every page checked before anything is written
        path = _object_path(src, name)
        if not path.is_file() or path.stat().st_size != size or _sha256_file(path) != digest:
            raise BackupError("backup.damaged", variant=3, name_12=name[:12])
    return info, listing


def _empty(db_url: str) -> bool:
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            return not any(t.startswith("hub_") for t in inspect(c).get_table_names())
    finally:
        engine.dispose()


def restore(db_url: str, blobs: Any, src: Path | str) -> dict[str, Any]:
    """Into an empty database (never over a hub's data: that would mix two histories)."""
    src = Path(src)
    info, listing = _check(src)
    url = make_url(db_url)
    if not _empty(db_url):
        raise BackupError("backup.target_not_empty")
    dump = src / info["dump"]
    if info["database"] == "postgresql":
        if url.get_backend_name() != "postgresql":
            raise BackupError("backup.database_kind", variant=2)
        conn, env = _pg_env(url)
        _run(
            ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
             "--exit-on-error", f"--dbname={conn}", str(dump)],
            env,
            "恢复",
        )  # fmt: skip
    else:
        if url.get_backend_name() != "sqlite" or not url.database:
            raise BackupError("backup.database_kind", variant=3)
        target = Path(url.database)
        target.unlink(missing_ok=True)
        shutil.copyfile(dump, target.with_suffix(".part"))
        target.with_suffix(".part").replace(target)
    objects = _Objects(blobs)
    for name, _digest, _size, meta in listing:
        objects.put(name, _object_path(src, name).read_bytes(), meta)
    return {
        "restored_from": info["created_at"],
        "database": info["database"],
        "schema_revision": info["schema_revision"],
        "objects": len(listing),
    }
