"""Backup and restore of the hub on PostgreSQL (intake hub backup / restore): stations push, the
hub is backed up, stations push more and a department decides, then the database and the page
store are wiped and the backup restored. At their next sync every station finds nothing lost
(the events and pages the restored hub no longer held are sent again) and nothing twice, and a
decision recorded after the restore reaches its window.

PostgreSQL: INTAKE_TEST_PG_URL (installer/ci-postgres.sh prints it), else a throwaway cluster."""

import hashlib
import json
import logging
import os
import random
import shutil
import uuid

import pytest
import requests

from app.cli import main as intake_main
from local_db.keys import MemorySecretStore
from sync.engine import SyncConfig, SyncEngine
from sync.hub.blobs import BlobStore
from sync.hub.server import HubThread
from sync.keystore import MemoryTokenStore
from tests.sync_doubles import (
    assert_mirrored,
    drop_database,
    fresh_database,
    intake_with_pages,
    station,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.expect_log(
        logging.WARNING,
        "intake.sync",
        r"(^hub lacks acknowledged|^hub's status feed ends|^sync paused)",
    ),
]

FAST = SyncConfig(
    backoff_base=0.05, backoff_cap=0.3, connect_timeout=1, read_timeout=5,
    status_interval=0, catalog_interval=0,
)  # fmt: skip
CODES = ("XX01", "XX02", "XX03")


def sync_all(stations):
    for _ctx, _clerk, eng in stations.values():
        eng.run_until_idle(max_seconds=60)
        assert eng.status().waiting == 0 and not eng.needs_person()


def run(*argv: str) -> int:
    """`intake hub …` with the database URL in INTAKE_HUB_DB: a URL carrying a password is
    refused as a flag (it would show in the process list), as CI's PostgreSQL URL does."""
    args = list(argv)
    env = dict(os.environ)
    if "--db" in args:
        i = args.index("--db")
        env["INTAKE_HUB_DB"] = args[i + 1]
        del args[i : i + 2]
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return intake_main(["hub", *args])
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cli(capsys, *argv):
    assert run(*argv) == 0
    return json.loads(capsys.readouterr().out)


def test_backup_wipe_restore_and_every_station_syncs_without_loss_or_duplicates(
    tmp_path, clock, catalog, pg_admin_url, capsys
):
    name = f"hubbackup_{uuid.uuid4().hex[:8]}"
    db = fresh_database(pg_admin_url, name)
    blobs = tmp_path / "blobs"
    hub = HubThread(db, blobs).start()
    port = hub.port
    try:
        rng = random.Random(11)
        stations = {}
        for code in CODES:
            ctx, clerk = station(tmp_path / code, code, clock, catalog, MemorySecretStore())
            eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=clock)
            eng.enroll(hub.url, hub.store.issue_enroll_code(code))
            stations[code] = (ctx, clerk, eng)
            for _ in range(2):
                intake_with_pages(ctx, clerk, rng, page_sizes=(4000, 20000))
        sync_all(stations)
        dept = {"Authorization": "Bearer " + hub.store.issue_dept_key("县卫健委")}
        received = [e for e in hub.store.events_of("XX01") if e["type"] == "received"]
        subs = [e["submission_id"] for e in received]
        items = received[0]["payload"]["items"]
        decide = lambda sid, item, d: requests.post(  # noqa: E731
            f"{hub.url}/v1/dept/decisions",
            json={"submission_id": sid, "item_id": item, "decision": d},
            headers=dept,
            timeout=10,
        )
        assert decide(subs[0], items[0], "accepted").status_code == 201
        sync_all(stations)

        backup = cli(capsys, "backup", str(tmp_path / "backup"), "--db", db, "--blobs", str(blobs))
        assert backup["database"] == "postgresql" and backup["objects"] > 0

        # after the backup: one more intake per station, and a decision the backup misses
        for ctx, clerk, _eng in stations.values():
            intake_with_pages(ctx, clerk, rng, page_sizes=(4000, 20000))
        assert decide(subs[1], items[0], "accepted").status_code == 201
        sync_all(stations)
        held_before = {c: len(hub.store.events_of(c)) for c in CODES}
    finally:
        hub.stop()

    # the disaster: database and page store gone
    drop_database(pg_admin_url, name)
    db = fresh_database(pg_admin_url, name)
    shutil.rmtree(blobs)
    for _ctx, _clerk, eng in stations.values():
        assert eng.step().kind == "failed"  # the hub is away meanwhile

    restored = cli(capsys, "restore", str(tmp_path / "backup"), "--db", db, "--blobs", str(blobs))
    assert restored["objects"] == backup["objects"]
    hub = HubThread(db, blobs, port=port).start()
    try:
        lost = {c: held_before[c] - len(hub.store.events_of(c)) for c in CODES}
        assert all(n > 0 for n in lost.values())  # the restored hub misses the later intakes
        reports = {}
        for code, (_ctx, _clerk, eng) in stations.items():
            reports[code] = eng.run_until_idle(max_seconds=60)
            assert eng.status().waiting == 0 and not eng.needs_person()
        for code, (ctx, _clerk, _eng) in stations.items():
            assert reports[code].events_resent == lost[code]
            assert_mirrored(ctx, hub.store, hub.blobs.read, code)  # every event once, every page
        # a decision recorded after the restore reaches the window (the feed restarted lower)
        dept = {"Authorization": "Bearer " + hub.store.issue_dept_key("县卫健委")}
        r = requests.post(
            f"{hub.url}/v1/dept/decisions",
            json={"submission_id": subs[0], "item_id": items[1], "decision": "accepted"},
            headers=dept,
            timeout=10,
        )
        assert r.status_code == 201, r.text
        eng1 = stations["XX01"][2]
        report = eng1.run_until_idle(max_seconds=60)
        assert report.decisions_applied == 1
        assert stations["XX01"][0].queries.get(subs[0]).decisions[items[1]] == "accepted"
    finally:
        hub.stop()
        for ctx, _clerk, _eng in stations.values():
            ctx.close()
        drop_database(pg_admin_url, name)


def test_restore_refuses_a_damaged_backup_and_a_database_in_use(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/hub.sqlite3"
    hub = HubThread(db, tmp_path / "blobs").start()
    hub.store.issue_enroll_code("XX01")
    hub.blobs.put(b"a page")
    hub.stop()
    cli(capsys, "backup", str(tmp_path / "bk"), "--db", db, "--blobs", str(tmp_path / "blobs"))
    # into the database it came from (not empty): refused, nothing touched
    assert run("restore", str(tmp_path / "bk"), "--db", db, "--json") == 1
    out = capsys.readouterr()
    assert "backup.target_not_empty" in out.out and "已有平台数据" in out.out
    # a page of the backup altered: refused before anything is written
    page = next(p for p in (tmp_path / "bk" / "objects").rglob("*") if p.is_file())
    page.write_bytes(page.read_bytes() + b"x")
    empty = f"sqlite:///{tmp_path}/new.sqlite3"
    assert run("restore", str(tmp_path / "bk"), "--db", empty, "--json") == 1
    out = capsys.readouterr()
    assert "backup.damaged" in out.out and "未做任何恢复" in out.out
    assert not (tmp_path / "new.sqlite3").exists() or (tmp_path / "new.sqlite3").stat().st_size == 0


def test_a_backup_into_the_same_place_copies_new_pages_only_and_reads_none_it_has(
    tmp_path, monkeypatch
):
    """Nightly into the same directory: the pages already there are neither fetched nor read
    (their checksums come from the last listing), a page whose copy there is damaged is
    fetched again, and the result restores whole."""
    from pathlib import Path

    from sync.hub.backup import backup, restore

    db = f"sqlite:///{tmp_path}/hub.sqlite3"
    hub = HubThread(db, tmp_path / "blobs").start()
    try:
        first = [hub.blobs.put(f"page {i}".encode() * 500) for i in range(5)]
        dest = tmp_path / "bk"
        assert backup(db, hub.blobs, dest)["objects_copied"] == 5
        new = hub.blobs.put(b"a page after the first backup" * 500)
        damaged = dest / "objects" / first[0][:2] / first[0][2:4] / first[0]
        damaged.write_bytes(damaged.read_bytes()[:-1])  # shorter: not the copy listed

        reads: list[Path] = []
        real = Path.read_bytes

        def counting(self: Path) -> bytes:
            if dest in self.parents:
                reads.append(self)
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", counting)
        again = backup(db, hub.blobs, dest)
        monkeypatch.undo()
        assert again["objects"] == 6
        assert again["objects_copied"] == 2 and again["objects_already_there"] == 4  # new+damaged
        assert [p for p in reads if p.parent.parent.parent.name == "objects"] == []
    finally:
        hub.stop()
    blobs = BlobStore(tmp_path / "restored", sealer=None)
    assert restore(f"sqlite:///{tmp_path}/restored.sqlite3", blobs, dest)["objects"] == 6
    for sha in [*first, new]:
        assert (
            hashlib.sha256(blobs.path(sha).read_bytes()).hexdigest()
            == hashlib.sha256(hub.blobs.path(sha).read_bytes()).hexdigest()
        )


# Warnings these tests provoke on purpose (the log-failure fixture fails any other).
