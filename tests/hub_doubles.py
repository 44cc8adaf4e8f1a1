"""Hub test machinery: a real S3-compatible server on loopback (tests, the load benchmark), a
station's enrolled HTTP session, and a self-signed certificate for a TLS endpoint on loopback."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class S3Server:
    """A real S3-compatible server (moto's server mode) in its own process on loopback, so a
    test can stop it mid-upload. Its objects live in that process's memory."""

    ACCESS, SECRET = "intake-test", "intake-test-secret"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, bucket: str = "intake-pages") -> dict[str, str]:
        """The hub's configuration for this server (sync/hub/s3.py)."""
        return {
            "INTAKE_HUB_S3_ENDPOINT": self.endpoint,
            "INTAKE_HUB_S3_BUCKET": bucket,
            "INTAKE_HUB_S3_ACCESS_KEY": self.ACCESS,
            "INTAKE_HUB_S3_SECRET_KEY": self.SECRET,
            "INTAKE_HUB_S3_REGION": "us-east-1",
        }

    def start(self) -> S3Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the S3 server did not start")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.05)
        raise RuntimeError("the S3 server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def self_signed(tmp: Path, common_name: str, stem: str) -> tuple[Path, Path]:
    """A self-signed CA certificate for 127.0.0.1 and its key, written to TMP as STEM.crt and
    STEM.key (PEM): what a county's private CA gives a service on loopback."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    crt, pem = tmp / f"{stem}.crt", tmp / f"{stem}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt, pem


def station_session(
    url: str, code: str, store_id: str | None = None, station_code: str | None = None
) -> Any:
    """A station's requests.Session on the hub at URL, enrolled with the one-time CODE (as
    STATION_CODE when given); its store_id attribute is the store it enrolled as."""
    import requests

    store_id = store_id or str(uuid.uuid4())
    body = {"code": code, "store_id": store_id}
    if station_code:
        body["station_code"] = station_code
    r = requests.post(f"{url}/v1/enrollments", json=body, timeout=30)
    assert r.status_code == 201, r.text
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + r.json()["token"]
    s.store_id = store_id  # type: ignore[attr-defined]
    return s
