#!/bin/sh
# One script behind the README's two set-up commands (Debian 12 / UOS, as root):
#   sh installer/debian-setup.sh run    install everything, start the window in demo mode
#   sh installer/debian-setup.sh test   install everything, run the whole test suite
# Anything after the mode is passed on (to intake-window or to pytest).
set -eu
mode="${1:-run}"
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# System libraries: zbar for barcodes, CJK fonts (WQY for text, HanaMin for rare name characters
# in Extensions A/B), the X/EGL libraries Qt needs, PulseAudio client for QtMultimedia.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    python3 python3-venv python3-dev libzbar0 fonts-wqy-microhei fonts-hanazono \
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 \
    libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-image0 \
    libxcb-render-util0 libglib2.0-0 libpulse0 >/dev/null

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,ocr]"

case "$mode" in
    run)
        exec .venv/bin/intake-window --demo "$@"
        ;;
    test)
        export QT_QPA_PLATFORM=offscreen
        export INTAKE_DATA_DIR="${INTAKE_DATA_DIR:-$(mktemp -d)}"
        exec .venv/bin/python -m pytest -q "$@"
        ;;
    *)
        echo "usage: sh installer/debian-setup.sh run|test" >&2
        exit 2
        ;;
esac
