"""Logging: named loggers per subsystem into a rotating file, with a last-line scrubber.

Code logs intake numbers, never names, ID numbers or phones; the filter below is a safety net
that masks anything shaped like an ID number, USCC or mobile number that slips into a message.
"""

from __future__ import annotations

import logging
import logging.handlers
import re

from app.options import LOG_PROPAGATE, from_env
from app.paths import data_dir

_PATTERNS = [
    (re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])"), r"\1********\2"),
    (
        re.compile(
            r"(?<![0-9A-Za-z])([0-9A-HJ-NPQRTUWXY]{2}\d{6})[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Za-z])"
        ),
        r"\1*********",
    ),
    (re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),
]


def scrub(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_configured = False


def setup_logging(level: int = logging.INFO) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    root = logging.getLogger("intake")
    root.setLevel(level)
    root.propagate = from_env(LOG_PROPAGATE) is True
    try:
        logs = data_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            logs / "intake.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubFilter())
    root.addHandler(handler)
