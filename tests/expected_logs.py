"""Log records that several test modules expect, declared once. A module lists the ones its
tests cause in its pytestmark (the expect_log marker: tests/conftest.py)."""

from __future__ import annotations

import logging

import pytest

_expect = pytest.mark.expect_log

# the station's sync: a hub that is away or refuses pauses it, and it says why
SYNC_PAUSED = _expect(logging.WARNING, "intake.sync", r"^sync paused: ")
STATUS_UPDATE_REFUSED = _expect(logging.WARNING, "intake.sync", r"^status update \d+ refused: ")
# two stations of one test share the test keyring's receipt key: the hub keeps the first
RECEIPT_KEY_REFUSED = _expect(logging.WARNING, "intake.sync", r"^receipt key \w+ refused")
AUDIT_ENTRY_REFUSED = _expect(logging.WARNING, "intake.hub", r"audit entry refused")
# the null keyring of the tests cannot hold the audit checkpoint
NO_KEYRING_CHECKPOINT = _expect(
    logging.WARNING, "intake.audit", r"^audit checkpoint not kept in the keyring"
)
NO_OS_KEYRING = _expect(logging.WARNING, "intake.demo", r"^no OS keyring")
# a garbled answer from a fault proxy
BAD_HEADERS = _expect(logging.WARNING, "urllib3.connection", r"^Failed to parse headers")
S3_PAGE_NOT_TAKEN = _expect(logging.WARNING, "intake.hub.s3", r"^object store did not take page")
# a role refused an action it may not take
STAFF_REFUSED = _expect(logging.WARNING, "intake.staff", r"^refused ")
# a background task that crashes is logged by the task runner
TASK_FAILED = _expect(logging.ERROR, "intake.ui.tasks", r"^task failed with ")
IDCARD_PROBLEM = _expect(logging.WARNING, "intake.capture.idcard", r"^idcard ")
IDCARD_WATCHER_CRASHED = _expect(
    logging.ERROR, "intake.capture.idcard", r"^idcard watcher unexpected"
)
CAMERA_LOST = _expect(logging.WARNING, "intake.capture.camera", r"^camera lost")
OPENCV_FAILED = _expect(logging.WARNING, "intake.capture.pages", r"^opencv failed")
