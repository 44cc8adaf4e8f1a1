"""Nothing of a page or of personal data in clear on the hub's disk, not even mid-upload: a real
hub process killed (SIGKILL) while a page streams in leaves its spool sealed, a new process
resumes the upload where the old one stopped, and the page reads back identical. The audit
copy's free-text fields are sealed too. Old partial files in clear are discarded at start."""

from __future__ import annotations

import base64
import hashlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from app.audit import GENESIS, chain_hash
from sync.hub.crypto import ENV_KEYS, MasterKeys
from sync.protocol import frame_header

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NAME, RESIDENT_ID, PHONE = "欧阳明轩", "11010519491231002X", "13912345678"
KEY = "ka " + base64.b64encode(b"K" * 32).decode()


def page_with_personal_data(n: int = 300_000) -> bytes:
    """A page whose bytes carry the applicant's name, ID number and phone in UTF-8 (a scanned
    form with a text layer), among distinctive content."""
    text = f"申请人：{NAME} 身份证号：{RESIDENT_ID} 电话：{PHONE}".encode()
    body = hashlib.shake_256(b"spool-page").digest(n)
    return b"%PDF-1.7\n" + text + body[: n // 3] + text + body[n // 3 : n - 2 * len(text) - 9]


def clear_found(haystack: bytes, page: bytes, upto: int) -> list[str]:
    """Which plaintext needles HAYSTACK holds: personal data, or 64-byte runs of the page's first
    UPTO bytes."""
    needles = {"name": NAME.encode(), "resident_id": RESIDENT_ID.encode(), "phone": PHONE.encode()}
    found = [k for k, n in needles.items() if n in haystack]
    for off in range(0, upto - 64, 4096):
        if page[off : off + 64] in haystack:
            found.append(f"page@{off}")
            break
    return found


def everything_under(root: Path) -> bytes:
    """Every byte of every file under ROOT (spool, page store, database, its journal)."""
    return b"\x00".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def start_hub(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        ENV_KEYS: KEY,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sync.hub",
            "--port",
            "0",
            "--db",
            f"sqlite:///{tmp_path}/data/hub.sqlite3",
            "--blobs",
            str(tmp_path / "data" / "blobs"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "hub listening on" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, line.strip().rsplit(" ", 1)[-1]


def hub_store(tmp_path: Path):
    from sync.hub.store import HubStore

    return HubStore(f"sqlite:///{tmp_path}/data/hub.sqlite3", masters=MasterKeys.parse(KEY))


def enroll(url: str, code: str) -> requests.Session:
    store_id = str(uuid.uuid4())
    r = requests.post(f"{url}/v1/enrollments", json={"code": code, "store_id": store_id})
    assert r.status_code == 201, r.text
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + r.json()["token"]
    s.store_id = store_id  # type: ignore[attr-defined]
    return s


def audit_entries() -> list[dict]:
    """Entries whose target and detail carry personal data (a station's log keeps it out of
    them; the hub does not count on that)."""
    out, prev = [], GENESIS
    for i, (target, detail) in enumerate(
        [(RESIDENT_ID, f"申请人 {NAME}"), ("XX01-20261207-0001", f"电话 {PHONE}")], 1
    ):
        e = {
            "id": i,
            "at": f"2026-12-07T01:30:0{i}.000000Z",
            "staff_id": 1,
            "action": "intake.view",
            "target": target,
            "detail": detail,
            "prev_hash": prev,
        }
        e["hash"] = prev = chain_hash(prev, e["at"], 1, e["action"], target, detail)
        out.append(e)
    return out


def intake(sid: str) -> list[dict]:
    """An intake's first events: the applicant's name, ID number and phone."""
    applicant = {"name": NAME, "resident_id": RESIDENT_ID, "phone": PHONE}
    return [
        {
            "id": str(uuid.uuid4()),
            "seq": seq,
            "submission_id": sid,
            "type": etype,
            "payload": payload,
            "clerk_id": 1,
            "at": "2026-12-07T01:30:00.000000Z",
        }
        for seq, (etype, payload) in enumerate(
            [("created", {"bundle": "newborn"}), ("applicant_set", applicant)], 1
        )
    ]


def stalled_put(url: str, token: str, sha: str, page: bytes, sent: int) -> socket.socket:
    """A PUT of the whole page whose body has arrived only up to SENT bytes."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = (
        f"PUT /v1/blobs/{sha} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/octet-stream\r\nUpload-Offset: 0\r\n"
        f"Upload-Length: {len(page)}\r\nContent-Length: {len(page)}\r\n\r\n"
    ).encode()
    sock.sendall(head + page[:sent])
    return sock


def test_a_hub_killed_mid_upload_leaves_nothing_in_clear_and_the_upload_resumes(tmp_path):
    page = page_with_personal_data()
    sha = hashlib.sha256(page).hexdigest()
    (tmp_path / "data").mkdir()
    store = hub_store(tmp_path)
    code = store.issue_enroll_code("XX01", county="330106")
    store.close()
    proc, url = start_hub(tmp_path)
    try:
        s = enroll(url, code)
        token = s.headers["Authorization"][7:]
        r = s.post(f"{url}/v1/audit", json={"store_id": s.store_id, "entries": audit_entries()})
        assert r.status_code == 200 and r.json()["stored"] == 2, r.text
        sid = str(uuid.uuid4())
        r = s.post(f"{url}/v1/events", json={"store_id": s.store_id, "events": intake(sid)})
        assert r.status_code == 200 and r.json()["results"][1]["status"] == "stored", r.text
        sent = 200_000
        sock = stalled_put(url, token, sha, page, sent)
        deadline = time.monotonic() + 30
        held = 0
        while held < 100_000 and time.monotonic() < deadline:  # the hub is writing them
            time.sleep(0.05)
            held = int(s.head(f"{url}/v1/blobs/{sha}").headers["Upload-Offset"])
        assert held >= 100_000
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)  # killed mid-upload: no cleanup runs
        proc.wait(timeout=30)
        sock.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    spool = list((tmp_path / "data" / "blobs" / "partial").glob("*.part"))
    assert len(spool) == 1 and spool[0].stat().st_size > 100_000  # the bytes are there, sealed
    disk = everything_under(tmp_path)
    assert clear_found(disk, page, sent) == []
    # the check itself finds plaintext where there is some
    assert clear_found(disk + page[4096:4200] + NAME.encode(), page, sent) == ["name", "page@4096"]

    proc, url = start_hub(tmp_path)  # a new process on the same spool
    try:
        head = s.head(f"{url.rstrip('/')}/v1/blobs/{sha}")
        offset = int(head.headers["Upload-Offset"])
        # resumes where the old one stopped (what it had written when killed)
        assert head.status_code == 404 and held <= offset <= sent
        r = s.put(
            f"{url}/v1/blobs/{sha}",
            data=page[offset:],
            headers={"Upload-Offset": str(offset), "Upload-Length": str(len(page))},
        )
        assert r.status_code == 200 and r.json() == {
            "sha256": sha,
            "offset": len(page),
            "complete": True,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert clear_found(everything_under(tmp_path), page, len(page)) == []
    assert list((tmp_path / "data" / "blobs" / "partial").glob("*.part")) == []
    store = hub_store(tmp_path)
    try:
        from sync.hub.blobs import BlobStore

        blobs = BlobStore(tmp_path / "data" / "blobs", sealer=store.sealer)
        assert blobs.read(sha) == page  # identical, opened under the county's key
        stored = blobs.path(sha).read_bytes()
        assert stored.startswith(b"IHE1") and b"330106.ka" in stored[:20]
        # the audit copy reads back whole through the hub, its rows sealed in the database
        copy = store.audit_of("XX01")
        assert [(e["target"], e["detail"]) for e in copy] == [
            (e["target"], e["detail"]) for e in audit_entries()
        ]
    finally:
        store.close()


def test_an_upload_cut_in_several_places_is_sealed_once_and_reads_back(tmp_path, monkeypatch):
    """Resumed at offsets that are not on a 16-byte block (AES-CTR at that byte's position), in
    one batch and by PUT: the page stored is one sealed value that opens."""
    from sync.hub.server import HubThread

    monkeypatch.setenv(ENV_KEYS, KEY)
    page = page_with_personal_data(100_000)
    sha = hashlib.sha256(page).hexdigest()
    with HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "blobs") as hub:
        s = enroll(hub.url, hub.store.issue_enroll_code("XX01"))
        cuts = [0, 7, 16_389, 50_001, len(page)]
        for a, b in itertools.pairwise(cuts[:-1]):
            r = s.put(
                f"{hub.url}/v1/blobs/{sha}",
                data=page[a:b],
                headers={"Upload-Offset": str(a), "Upload-Length": str(len(page))},
            )
            assert r.status_code == 200 and r.json()["offset"] == b
            part = next((tmp_path / "blobs" / "partial").glob("*.part")).read_bytes()
            assert clear_found(part, page, b) == []
        body = frame_header(sha, cuts[-2], len(page) - cuts[-2], len(page)) + page[cuts[-2] :]
        r = s.post(
            f"{hub.url}/v1/blobs", data=body, headers={"Content-Type": "application/x-intake-blobs"}
        )
        assert r.status_code == 200 and r.json()["blobs"][0]["complete"] is True, r.text
        assert hub.blobs.read(sha) == page
        # opened by AES-GCM alone, from the sealed value's documented layout
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        stored = hub.blobs.path(sha).read_bytes()
        n = stored[4]
        key = data_key(hub.store, stored[5 : 5 + n].decode())
        opened = AESGCM(key).decrypt(
            stored[5 + n : 17 + n], stored[17 + n :], stored[: 5 + n] + sha.encode()
        )
        assert opened == page


def data_key(store, dkid: str) -> bytes:
    """A data key unwrapped with the master key by AES-GCM alone (the documented wrapping)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from sync.hub.models import HubDataKey

    with store.sessions() as q:
        wrapped = q.get(HubDataKey, dkid).wrapped
    master = MasterKeys.parse(KEY).current[1]
    return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], b"hub-data-key|" + dkid.encode())


def test_damaged_bytes_in_a_resumed_upload_are_dropped(tmp_path, monkeypatch):
    from sync.hub.server import HubThread

    monkeypatch.setenv(ENV_KEYS, KEY)
    page = page_with_personal_data(50_000)
    sha = hashlib.sha256(page).hexdigest()
    with HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "blobs") as hub:
        s = enroll(hub.url, hub.store.issue_enroll_code("XX01"))
        put = f"{hub.url}/v1/blobs/{sha}"
        length = {"Upload-Length": str(len(page))}
        assert s.put(put, data=page[:20_000], headers={"Upload-Offset": "0", **length}).ok
        # one ciphertext bit flipped in the spool: the decrypted page no longer matches its name
        part = next((tmp_path / "blobs" / "partial").glob("*.part"))
        raw = bytearray(part.read_bytes())
        raw[-100] ^= 1
        part.write_bytes(bytes(raw))
        r = s.put(put, data=page[20_000:], headers={"Upload-Offset": "20000", **length})
        assert r.status_code == 422 and r.json()["error"]["code"] == "blob.hash_mismatch"
        assert list(part.parent.glob("*.part")) == []
        assert s.head(put).headers["Upload-Offset"] == "0"
        r = s.put(put, data=page, headers={"Upload-Offset": "0", **length})
        assert r.json()["complete"] is True and hub.blobs.read(sha) == page


@pytest.mark.expect_log(logging.WARNING, "intake.hub.blobs", r"^spool: 1 partial uploads not seal")
def test_a_partial_upload_kept_in_clear_before_spool_sealing_is_discarded_at_start(
    tmp_path, monkeypatch
):
    from sync.hub.server import HubThread

    monkeypatch.setenv(ENV_KEYS, KEY)
    page = page_with_personal_data(50_000)
    sha = hashlib.sha256(page).hexdigest()
    db = f"sqlite:///{tmp_path}/hub.sqlite3"
    with HubThread(db, tmp_path / "blobs") as hub:
        s = enroll(hub.url, hub.store.issue_enroll_code("XX01"))
        assert s.put(
            f"{hub.url}/v1/blobs/{sha}",
            data=page[:10_000],
            headers={"Upload-Offset": "0", "Upload-Length": str(len(page))},
        ).ok
        sealed = next((tmp_path / "blobs" / "partial").glob("*.part"))
    # what a hub before spool sealing left: the same partial upload in clear
    clear = sealed.with_name(sealed.name.replace(sha, "ab" * 32))
    clear.write_bytes(page[:30_000])
    with HubThread(db, tmp_path / "blobs") as hub:
        assert not clear.exists() and sealed.exists()  # only the clear one is gone
        r = s.head(f"{hub.url}/v1/blobs/{sha}")
        assert r.headers["Upload-Offset"] == "10000"
    assert clear_found(everything_under(tmp_path), page, len(page)) == []


@pytest.mark.expect_log(logging.WARNING, "intake.hub", r"audit entry refused \(audit.conflict\)")
def test_audit_rows_hold_no_personal_data_and_old_clear_rows_still_read(tmp_path, monkeypatch):
    from sqlalchemy import select, update

    from sync.hub.models import HubAuditEntry
    from sync.hub.server import HubThread

    monkeypatch.setenv(ENV_KEYS, KEY)
    db = tmp_path / "hub.sqlite3"
    with HubThread(f"sqlite:///{db}", tmp_path / "blobs") as hub:
        s = enroll(hub.url, hub.store.issue_enroll_code("XX01", county="330106"))
        entries = audit_entries()
        audit = f"{hub.url}/v1/audit"
        assert s.post(audit, json={"store_id": s.store_id, "entries": entries}).ok
        with hub.store.sessions() as q:
            rows = q.execute(select(HubAuditEntry.target, HubAuditEntry.detail)).all()
        assert all(v.startswith("e1:") for row in rows for v in row)
        raw = b"".join(
            p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("hub.sqlite3")
        )
        assert clear_found(raw, b"", 0) == []
        # sent again: acknowledged as the same (compared opened); changed: refused
        r = s.post(audit, json={"store_id": s.store_id, "entries": entries})
        assert r.json()["duplicate"] == 2
        changed = [dict(entries[0], detail="别的")]
        r = s.post(audit, json={"store_id": s.store_id, "entries": changed})
        assert r.status_code == 409 and r.json()["error"]["code"] == "audit.conflict"
        # a row the hub stored in clear before it sealed them reads as it is
        with hub.store.write() as w:
            w.execute(
                update(HubAuditEntry)
                .where(HubAuditEntry.entry_id == 2)
                .values(target=entries[1]["target"], detail=entries[1]["detail"])
            )
        copy = hub.store.audit_of("XX01")
        assert [(e["target"], e["detail"]) for e in copy] == [
            (e["target"], e["detail"]) for e in entries
        ]
        assert s.post(audit, json={"store_id": s.store_id, "entries": entries}).ok


def test_a_partial_file_in_clear_met_mid_run_is_replaced_by_a_sealed_one(tmp_path):
    """A clear partial file that appears while the hub runs (an older hub process sharing the
    spool during an upgrade) counts as nothing: the page is sent from 0 and sealed."""
    from sync.hub.blobs import BlobStore

    (tmp_path / "data").mkdir()
    store = hub_store(tmp_path)
    try:
        blobs = BlobStore(tmp_path / "blobs", sealer=store.sealer)
        page = page_with_personal_data(70_000)
        sha = hashlib.sha256(page).hexdigest()
        part = blobs.partial_dir / f"{sha}.s1.part"
        part.write_bytes(page[:40_000])
        assert blobs.partial_offset(sha, "s1") == 0
        writer = blobs.open_append(sha, "s1", "330106")
        for i in range(0, len(page), 16_384):
            writer.write(page[i : i + 16_384])
        writer.close()
        assert clear_found(part.read_bytes(), page, len(page)) == []
        deferred: list[str] = []
        blobs.finish(sha, len(page), sha, deferred, "s1", "330106")
        assert blobs.commit(deferred) == [sha]
        assert blobs.read(sha) == page and not part.exists()
    finally:
        store.close()
