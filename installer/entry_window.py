"""Frozen entry point of the window (PyInstaller script; `intake-window`)."""

import sys

from ui.main import main

sys.exit(main())
