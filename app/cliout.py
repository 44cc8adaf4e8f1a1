"""What the command-line tools print: one shape for all of them."""

from __future__ import annotations

import argparse
import json
from typing import Any


def emit(args: argparse.Namespace | None, data: Any, text: str | None = None) -> None:
    """DATA as JSON when --json was given or there is no text form; else TEXT."""
    if text is None or getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)
