"""The suite's own discipline (tests/conftest.py): an undeclared WARNING or ERROR log record fails
the test that caused it, `expect_log` declares the expected ones, and tests that use qtbot are
marked gui. The cases run under the real conftest in one separate pytest process."""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

CASES = """
import logging
import pytest

def test_undeclared_warning():
    logging.getLogger("intake.sync").warning("sync paused: %s", "sync.offline")

@pytest.fixture
def resource():
    yield
    logging.getLogger("other").error("could not close")

def test_error_in_teardown(resource):
    pass

def test_declared(expect_log):
    expect_log(logging.WARNING, "intake.capture", r"^camera lost")
    logging.getLogger("intake.capture.camera").warning("camera lost")

@pytest.mark.expect_log(logging.WARNING, "intake.capture", r"^camera lost")
def test_declared_by_marker():
    logging.getLogger("intake.capture.camera").warning("camera lost")

@pytest.mark.expect_log(logging.WARNING, "intake.capture", r"^camera lost")
def test_other_level():
    logging.getLogger("intake.capture.camera").error("camera lost")

@pytest.mark.expect_log(logging.WARNING, "intake.capture", r"^camera lost")
def test_other_logger():
    logging.getLogger("intake.sync").warning("camera lost")

def test_info_is_no_failure():
    logging.getLogger("intake").info("backup written")

def test_non_propagating_intake_logger():
    logging.getLogger("intake").propagate = False  # as app.logsetup leaves it
    try:
        logging.getLogger("intake.printing").warning("printer off")
    finally:
        logging.getLogger("intake").propagate = True

def test_window(qtbot, request):
    assert request.node.get_closest_marker("gui") is not None

def test_plain(request):
    assert request.node.get_closest_marker("gui") is None
"""


@pytest.fixture
def result(pytester: pytest.Pytester) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_cases=CASES)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "-rA")


def test_the_log_discipline_of_the_suite(result: pytest.RunResult) -> None:
    out = result.stdout.str()
    for name in (
        "test_declared",
        "test_declared_by_marker",
        "test_info_is_no_failure",
        "test_window",
        "test_plain",
    ):
        assert f"test_cases.py::{name} PASSED" in out, name
    # undeclared, other level, other logger, and a logger that does not propagate: failures
    for name in (
        "test_undeclared_warning",
        "test_other_level",
        "test_other_logger",
        "test_non_propagating_intake_logger",
    ):
        assert f"FAILED test_cases.py::{name}" in out, name
    # a record logged in teardown fails the teardown
    assert "ERROR test_cases.py::test_error_in_teardown" in out
    # the failure names the record, so the offender is found without a rerun
    assert "WARNING intake.sync: sync paused: sync.offline" in out
    assert "ERROR other: could not close" in out
    result.assert_outcomes(passed=6, failed=4, errors=1)
