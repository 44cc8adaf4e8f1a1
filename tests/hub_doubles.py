"""Hub test machinery: a real S3-compatible server on loopback (tests, the load benchmark)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time


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
