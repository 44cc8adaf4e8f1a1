"""Frozen entry point of the command line (PyInstaller script; `intake`)."""

import sys

from app.cli import main

sys.exit(main())
