import logging
import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings

# Tests never assert timings: no per-example deadline, and slow data generation on a loaded
# 2-core machine is not a failure of the code under test.
settings.register_profile("intake", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("intake")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Stores keep their data key in the keyring, and some tests run the app in subprocesses that must
# find it: the harness's own file keyring (tests/keyring_backend.py) under a per-test
# XDG_DATA_HOME (see the fixture below), never the developer's own keyring. The application
# refuses plaintext keyrings such as keyrings.alt's; this one is chosen here only, and the
# repository root goes on PYTHONPATH so subprocesses can load it.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["PYTHON_KEYRING_BACKEND"] = "tests.keyring_backend.TestFileKeyring"
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="yjs-keyring-")


@pytest.fixture(autouse=True)
def _own_keyring(tmp_path_factory, monkeypatch):
    """Each test starts with an empty keyring file of its own (inherited by its subprocesses)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg")))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def message_failures():
    """Fails a test in which an error rendered the catalog's generic text (a code without a
    text, a missing parameter); a test that means to do so takes this fixture and clears it."""
    handler = _Collect()
    logger = logging.getLogger("intake.messages")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)
    if handler.records:
        pytest.fail("message catalog: " + "; ".join(r.getMessage() for r in handler.records))


@pytest.fixture()
def newborn_catalog(tmp_path):
    """A catalog with just the 新生儿出生 bundle and its materials: small, and stable while the
    bundled catalog's other bundles change."""
    from app.catalog import BUNDLED_CATALOG

    root = tmp_path / "catalog"
    (root / "bundles").mkdir(parents=True)
    (root / "materials").mkdir()
    shutil.copy(BUNDLED_CATALOG / "catalog.json", root)
    for f in ("common.json", "personal_life.json"):
        shutil.copy(BUNDLED_CATALOG / "materials" / f, root / "materials")
    shutil.copy(BUNDLED_CATALOG / "bundles" / "newborn_birth.json", root / "bundles")
    return root


@pytest.fixture(scope="session")
def fake_vendor_libs(tmp_path_factory):
    """The fake ID card reader SDK and WLT decoder, compiled once per run (tests/fakes)."""
    from tests.fakes import build

    return build(tmp_path_factory.mktemp("fake_vendor_libs"))


@pytest.fixture()
def fake_reader(fake_vendor_libs, tmp_path, monkeypatch):
    """A fresh configuration for the fake reader library, no card on it."""
    from tests.fakes import FakeReader

    fake = FakeReader(tmp_path)
    monkeypatch.setenv("FAKE_IDREADER_CONFIG", str(fake.config))
    return fake
