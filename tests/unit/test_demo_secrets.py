import stat

import keyring
import keyring.backends.null

from app.demo import demo_secrets
from local_db.keys import FileSecretStore, KeyringSecretStore
from tests.expected_logs import NO_OS_KEYRING

# The failures these tests provoke are logged, as in production (tests/conftest.py).
pytestmark = NO_OS_KEYRING


def test_demo_without_a_keyring_keeps_its_keys_in_an_owner_only_file(tmp_path):
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.null.Keyring())
    try:
        store = demo_secrets(tmp_path)
        assert isinstance(store, FileSecretStore)
        store.set("data-key:x", "secret")
        assert FileSecretStore(tmp_path / "demo-keys.json").get("data-key:x") == "secret"
        assert stat.S_IMODE((tmp_path / "demo-keys.json").stat().st_mode) == 0o600
    finally:
        keyring.set_keyring(previous)


def test_demo_with_a_keyring_uses_it(tmp_path):
    assert isinstance(demo_secrets(tmp_path), KeyringSecretStore)  # the tests' file keyring works
    assert not (tmp_path / "demo-keys.json").exists()
