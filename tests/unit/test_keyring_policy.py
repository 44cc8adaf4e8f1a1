"""Production refuses keyrings that keep secrets in a plaintext file (issue 12, item 6)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import keyrings.alt.file
import pytest

from app.demo import demo_secrets
from local_db.keys import FileSecretStore, KeyringSecretStore, SecretKeyError
from tests.expected_logs import NO_OS_KEYRING

# The failures these tests provoke are logged, as in production (tests/conftest.py).
pytestmark = NO_OS_KEYRING

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def plaintext_keyring(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    previous = keyring.get_keyring()
    keyring.set_keyring(keyrings.alt.file.PlaintextKeyring())
    yield tmp_path / "xdg"
    keyring.set_keyring(previous)


def test_plaintext_keyring_is_refused_before_a_secret_is_written(plaintext_keyring):
    with pytest.raises(SecretKeyError) as exc:
        KeyringSecretStore().set("data-key:x", "c2VjcmV0")
    assert exc.value.code == "keys.insecure_keyring"
    assert "明文" in exc.value.message and "Secret Service" in exc.value.message
    assert exc.value.details["backend"] == "keyrings.alt.file.PlaintextKeyring"
    assert not list(plaintext_keyring.rglob("*.cfg"))  # nothing reached the keyring's file
    with pytest.raises(SecretKeyError):
        KeyringSecretStore().get("data-key:x")


def test_demo_mode_keeps_its_own_key_file_when_the_keyring_is_plaintext(
    plaintext_keyring, tmp_path
):
    store = demo_secrets(tmp_path)
    assert isinstance(store, FileSecretStore)
    assert not list(plaintext_keyring.rglob("*.cfg"))


def test_command_line_refuses_the_plaintext_keyring(tmp_path):
    xdg = tmp_path / "xdg"
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(xdg),
        "INTAKE_DATA_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "setup",
            "--station-code",
            "XX01",
            "--station-name",
            "城关镇",
            "--centre-name",
            "新乡县政务服务中心",
            "--admin-password",
            "admin1234",
            "--db",
            str(tmp_path / "a.sqlite3"),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert out.returncode == 1, out.stderr[-2000:]
    assert json.loads(out.stdout)["error"]["code"] == "keys.insecure_keyring"
    assert not list(xdg.rglob("keyring_pass.cfg"))  # no data key in base64 on disk
    assert "Traceback" not in out.stderr


def test_the_tests_keyring_is_not_what_a_plain_run_gets(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import keyring; k = keyring.get_keyring(); print(type(k).__module__)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    )
    assert "tests" not in out.stdout
