import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs a QApplication is a gui test, wherever it lives (`-m "not gui"`)."""
    for item in items:
        if "qtbot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gui)


class _LogFail(logging.Handler):
    """Collects WARNING and ERROR records during a test; one the test did not declare with
    `expect_log` fails it (after qutebrowser's logfail): a warning nobody looks at is a bug."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.allowed: list[tuple[int, str, re.Pattern[str]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not any(r is record for r in self.records):  # on root and "intake": seen twice
            self.records.append(record)

    def allow(self, level: int, logger: str, pattern: str) -> None:
        self.allowed.append((level, logger, re.compile(pattern)))

    def unexpected(self) -> list[logging.LogRecord]:
        def declared(r: logging.LogRecord) -> bool:
            return any(
                r.levelno == level
                and (r.name == name or r.name.startswith(name + "."))
                and pattern.search(r.getMessage())
                for level, name, pattern in self.allowed
            )

        return [r for r in self.records if not declared(r)]


# "intake" stops propagating once app.logsetup has configured it (the CLI in-process), so the
# collector sits on both.
_LOGFAIL_LOGGERS = ("", "intake")
_logfail_key = pytest.StashKey[_LogFail]()


def _logfail_check(item: pytest.Item, phase: str) -> None:
    handler = item.stash.get(_logfail_key, None)
    if handler is None:
        return
    bad = handler.unexpected()
    handler.records.clear()
    if bad:
        lines = "\n".join(f"  {r.levelname} {r.name}: {r.getMessage()}" for r in bad)
        pytest.fail(
            f"unexpected log record(s) during {phase} "
            f"(declare with expect_log(level, logger, pattern)):\n{lines}",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    handler = _LogFail()
    # A hub started without key configuration makes its master-key file and says so: the
    # one-machine default, expected wherever a test starts a hub without keys.
    handler.allow(logging.WARNING, "intake.hub.crypto", r"^no master key configured: made ")
    # Qt's offscreen platform (every GUI test here) lacks some window-system calls.
    handler.allow(logging.WARNING, "intake.qt", r"^This plugin does not support ")
    for mark in item.iter_markers("expect_log"):
        handler.allow(*mark.args)
    item.stash[_logfail_key] = handler
    for name in _LOGFAIL_LOGGERS:
        logging.getLogger(name).addHandler(handler)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield  # a test that failed already keeps its own failure
    _logfail_check(item, "call")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    try:
        result = yield
    finally:
        handler = item.stash.get(_logfail_key, None)
        for name in _LOGFAIL_LOGGERS:
            if handler is not None:
                logging.getLogger(name).removeHandler(handler)
    _logfail_check(item, "setup/teardown")
    return result


@pytest.fixture()
def expect_log(request: pytest.FixtureRequest):
    """`expect_log(logging.WARNING, "intake.sync", "pattern")`: records at that level from that
    logger (or below it) whose message matches are part of what the test expects. The marker
    `@pytest.mark.expect_log(level, logger, pattern)` does the same for a test or a module."""
    handler = request.node.stash[_logfail_key]

    return handler.allow


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
