#!/bin/sh
# Regenerate the hashed lock files in requirements/ from pyproject.toml (one command, after any
# change to the dependencies):   sh installer/lock.sh
# Needs uv (`pip install uv`, or the `dev` extra). Resolution is for Python 3.11 and for the
# platform floor: manylinux_2_28 wheels only (glibc 2.28, 统信 UOS 20), so a release that needs a
# newer glibc (PySide6 ≥ 6.10) is never locked. CI and the .deb build install from these files.
set -eu
cd "$(dirname "$0")/.."
UV="${UV:-$(command -v uv || ls build/venv/bin/uv .venv/bin/uv 2>/dev/null | head -1)}"
[ -n "$UV" ] || { echo "lock.sh: uv not found (pip install uv, or sh installer/build.sh bundle once)" >&2; exit 1; }
PY=3.11
compile() {  # OUT PLATFORM ARGS…
    out="$1"; platform="$2"; shift 2
    "$UV" pip compile pyproject.toml --quiet --generate-hashes --no-header --python-version "$PY" \
        --python-platform "$platform" --output-file "requirements/$out" "$@"
}
mkdir -p requirements
# What a counter runs (the frozen application is built from exactly this).
compile client.lock x86_64-manylinux_2_28 --extra client
# ARM64: PySide6 6.8.0.2 is the last release built for manylinux_2_31_aarch64 (银河麒麟 V10);
# later ones need glibc 2.39, and none was built for 2.28 (统信 UOS 20 on ARM64 is out of reach).
compile client-aarch64.lock aarch64-manylinux_2_31 --extra client
compile client-windows.lock x86_64-pc-windows-msvc --extra client --constraint requirements/client.lock
# CI: the client's pins plus hub, OCR and test packages (tests run what ships).
compile ci.lock x86_64-manylinux_2_28 --extra client --extra hub --extra ocr --extra test --extra lint \
    --constraint requirements/client.lock
# The hub alone (deploy/Containerfile, the systemd install in sync/README.md): no Qt.
compile hub.lock x86_64-manylinux_2_28 --extra hub
# The build tools (PyInstaller) beside the client's pins.
compile build.lock x86_64-manylinux_2_28 --extra client --extra dev \
    --constraint requirements/client.lock
echo "locked: $(ls requirements/*.lock | tr '\n' ' ')"
