"""The hub process ends promptly and cleanly on SIGTERM (what systemd and `docker stop` send):
a request in flight is answered, a stalled one is cut, the database pool is closed, exit 0."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def start_hub(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INTAKE_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sync.hub",
            "--port",
            "0",
            "--db",
            f"sqlite:///{tmp_path}/hub.sqlite3",
            "--blobs",
            str(tmp_path / "blobs"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    line = proc.stdout.readline()
    assert "hub listening on" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, line.strip().rsplit(" ", 1)[-1]


def partial_request(url, body, sent):
    """A POST whose body has arrived only up to SENT bytes (the rest is still on its way)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = (
        f"POST /v1/enrollments HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:sent])
    return sock


def read_response(sock, timeout):
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def test_sigterm_answers_the_request_in_flight_and_exits_within_two_seconds(tmp_path):
    proc, url = start_hub(tmp_path)
    try:
        idle = requests.Session()  # a station's idle keep-alive connection
        assert idle.get(f"{url}/healthz").status_code == 200
        body = b'{"code": "AAAA-BBBB-CCCC", "store_id": "00000000-0000-4000-8000-000000000000"}'
        in_flight = partial_request(url, body, 10)
        stalled = partial_request(url, body, 10)
        time.sleep(0.3)  # both requests are being read by the hub
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        in_flight.sendall(body[10:])  # the rest of its body arrives after the signal
        answer = read_response(in_flight, 3)
        cut = read_response(stalled, 3)
        rc = proc.wait(timeout=10)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    print(f"SIGTERM → exit {rc} in {took:.2f} s")
    assert answer.startswith(b"HTTP/1.1 403"), answer[
        :200
    ]  # an unknown code: answered, not dropped
    assert "enroll.code_invalid" in answer.decode("utf-8", "replace")
    assert rc == 0, err[-2000:]
    # The hub's own grace is 1 s (measured 1.1-1.2 s, printed above); the bound only tells that
    # it no longer waits for a stalled body (60 s before), with slack for a loaded CI machine.
    assert took < 5.0
    assert "Traceback" not in err
    # the pool was closed: SQLite removes its WAL file when the last connection closes
    assert (tmp_path / "hub.sqlite3").exists() and not (tmp_path / "hub.sqlite3-wal").exists()
    # the stalled one is told to come back (a 503 the station retries), not left hanging
    assert cut.startswith(b"HTTP/1.1 503"), cut[:200]
    assert b'"hub.stopping"' in cut and b'"retry":true' in cut and b"retry-after: 5" in cut.lower()
    in_flight.close()
    stalled.close()
