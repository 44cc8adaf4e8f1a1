"""A hub that cannot reach its database or its page store at start says so in Chinese (where it
looked, what the other side answered; never a password or key) and exits 1, which systemd's
Restart=on-failure retries: no traceback, no "内部错误" with a log nobody has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub_doubles import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_HUB_")}
    return subprocess.run(
        [sys.executable, "-m", "sync.hub", "--port", "0"],
        cwd=ROOT,
        env={**clean, "XDG_DATA_HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_database_that_is_not_there_stops_the_start_with_where_and_why(tmp_path):
    port = free_port()  # nothing listens there
    out = start(tmp_path, INTAKE_HUB_DB=f"postgresql+psycopg://hub:s3cretpw@127.0.0.1:{port}/hub")
    assert out.returncode == 1
    assert f"无法连接平台数据库 127.0.0.1:{port}/hub" in out.stderr
    assert "Connection refused" in out.stderr and "自动重试" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert "s3cretpw" not in out.stderr + out.stdout


def test_a_database_on_a_unix_socket_is_named_with_its_password_masked(tmp_path):
    url = f"postgresql+psycopg://hub:s3cretpw@/hub?host={tmp_path}/no-socket-here"
    out = start(tmp_path, INTAKE_HUB_DB=url)
    assert (
        out.returncode == 1 and "无法连接平台数据库 postgresql+psycopg://hub:***@/hub" in out.stderr
    )
    assert "s3cretpw" not in out.stderr + out.stdout and "Traceback" not in out.stderr


def test_a_page_store_that_is_not_there_stops_the_start_with_where_and_why(tmp_path):
    port = free_port()
    out = start(
        tmp_path,
        INTAKE_HUB_S3_ENDPOINT=f"http://127.0.0.1:{port}",
        INTAKE_HUB_S3_BUCKET="intake-pages",
        INTAKE_HUB_S3_ACCESS_KEY="hub-access",
        INTAKE_HUB_S3_SECRET_KEY="hub-secret-key-value",
        AWS_MAX_ATTEMPTS="1",
    )
    assert out.returncode == 1
    assert f"无法使用页面存储 http://127.0.0.1:{port} 的桶 intake-pages" in out.stderr
    assert "EndpointConnectionError" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert "hub-secret-key-value" not in out.stderr + out.stdout
