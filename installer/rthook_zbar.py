# PyInstaller runtime hook: pyzbar finds libzbar with ctypes.util.find_library, which on Linux
# asks ldconfig and never looks inside the bundle; the bundled copy is found first here.
import ctypes.util
import os
import sys

_find_library = ctypes.util.find_library


def _bundle_first(name):
    base = getattr(sys, "_MEIPASS", "")
    for candidate in (f"lib{name}.so.0", f"lib{name}.so", f"lib{name}-64.dll", f"lib{name}.dll"):
        path = os.path.join(base, candidate)
        if os.path.isfile(path):
            return path
    return _find_library(name)


ctypes.util.find_library = _bundle_first
