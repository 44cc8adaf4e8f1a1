"""A hub process trusts a station token it checked for a few seconds (no database round trip per
request); revocations still take: at once in the process that made them, and within
AUTH_CACHE_SECONDS in every other hub process."""

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sync.hub import enrolment
from sync.hub.crypto import ENV_KEYS, MasterKeys
from sync.hub.enrolment import AUTH_CACHE_SECONDS, PrincipalCache
from sync.hub.errors import HubError
from sync.hub.store import HubStore

pytestmark = pytest.mark.integration

KEYS = "t1:" + base64.b64encode(bytes(range(32))).decode()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock(monkeypatch):
    """The process's principal cache on a clock the test moves."""
    now = [1000.0]
    monkeypatch.setattr(enrolment, "PRINCIPALS", PrincipalCache(clock=lambda: now[0]))
    return now


@pytest.fixture
def store(tmp_path):
    s = HubStore(f"sqlite:///{tmp_path}/hub.sqlite3", masters=MasterKeys.parse(KEYS))
    yield s
    s.close()


def enrolled(store: HubStore, code: str = "XX01") -> tuple[str, str]:
    enroll_code = store.issue_enroll_code(code)
    return enroll_code, store.enroll(enroll_code, str(uuid.uuid4()), code)["token"]


def test_a_token_revoked_by_another_process_is_refused_within_the_cache_window(
    store, clock, tmp_path
):
    _code, token = enrolled(store)
    p = store.authenticate(token)
    assert store.cached_principal(token) == p
    # `intake hub revoke` run as the administrator would: another process, same database
    env = {**os.environ, ENV_KEYS: KEYS, "INTAKE_DATA_DIR": str(tmp_path / "admin")}
    done = subprocess.run(
        [sys.executable, "-m", "app", "hub", "revoke", "--db", store.url, "--station", "XX01"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # this process checked the token a moment ago: it still holds it (the documented window)
    assert store.authenticate(token) == p
    clock[0] += AUTH_CACHE_SECONDS + 0.5
    with pytest.raises(HubError) as refused:
        store.authenticate(token)
    assert refused.value.status == 401 and refused.value.code == "auth.revoked"
    assert store.cached_principal(token) is None


def test_a_revocation_in_this_process_is_refused_at_once(store, clock):
    _code, token = enrolled(store)
    _other_code, other = enrolled(store, "XX02")
    store.authenticate(token)
    store.authenticate(other)
    assert store.revoke("XX01") == 1
    with pytest.raises(HubError) as refused:  # no time has passed on the cache's clock
        store.authenticate(token)
    assert refused.value.code == "auth.revoked"
    assert store.authenticate(other).station_code == "XX02"  # the others are checked again


def test_the_token_a_repeated_enrolment_replaced_is_refused_at_once(store, clock):
    code, first = enrolled(store)
    store_id = store.authenticate(first).store_id
    second = store.enroll(code, store_id, "XX01")["token"]  # the first answer was lost
    with pytest.raises(HubError) as refused:
        store.authenticate(first)
    assert refused.value.code == "auth.revoked"
    assert store.authenticate(second).station_code == "XX01"


def test_an_unknown_token_is_never_cached(store, clock):
    with pytest.raises(HubError) as refused:
        store.authenticate("ist1." + "A" * 43)
    assert refused.value.code == "auth.invalid"
    assert store.cached_principal("ist1." + "A" * 43) is None
