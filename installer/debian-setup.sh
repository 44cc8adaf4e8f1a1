#!/bin/sh
# One script behind the README's two set-up commands (Debian 12 / UOS), from a source checkout:
#   sh installer/debian-setup.sh run    set up once (as root), then start the window in demo mode
#   sh installer/debian-setup.sh test   set up once, run the whole test suite (what CI runs):
#                                       the unit tier first (-x), then integration and GUI, each
#                                       spread over the cores with pytest-xdist
# Anything after the mode is passed on (to intake-window or to pytest).
# The first run installs system libraries (apt, needs root) and the locked Python packages
# (requirements/*.lock, hashes checked) into .venv; later runs find them in place and start at
# once, without root or package registries. A counter installs the .deb instead (README).
set -eu
mode="${1:-run}"
case "$mode" in
    run) lock=requirements/client.lock ;;
    test) lock=requirements/ci.lock ;;
    *)
        echo "usage: sh installer/debian-setup.sh run|test [ARGS…]" >&2
        exit 2
        ;;
esac
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."

# What is installed is recorded beside the venv: the lock, this script and pyproject.
stamp=".venv/.setup-$mode"
want="$(cat "$lock" installer/debian-setup.sh pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # System libraries: zbar for barcodes, CJK fonts (WQY for text, HanaMin for rare name
    # characters in Extensions A/B), the X/EGL libraries Qt needs, PulseAudio for QtMultimedia.
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends \
        python3 python3-venv python3-dev libzbar0 fonts-wqy-microhei fonts-hanazono \
        libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 \
        libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-image0 \
        libxcb-render-util0 libglib2.0-0 libpulse0 >/dev/null
    # The hub's deployment test runs the real nginx with deploy/nginx's site; backups use pg_dump.
    if [ "$mode" = test ]; then
        $SUDO apt-get install -y -qq --no-install-recommends nginx-light postgresql-client >/dev/null
    fi
    PY="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        "$PY" -m venv .venv
    fi
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q --require-hashes -r "$lock"
    .venv/bin/python -m pip install -q --no-deps -e .
    echo "$want" > "$stamp"
fi

case "$mode" in
    run)
        exec .venv/bin/intake-window --demo "$@"
        ;;
    test)
        export QT_QPA_PLATFORM=offscreen
        export INTAKE_DATA_DIR="${INTAKE_DATA_DIR:-$(mktemp -d)}"
        # ci.lock carries the ocr extra: its real-engine test must run, not skip
        export INTAKE_TEST_REQUIRE_OCR=1
        # Arguments given: pytest with them, as they are.
        [ $# -gt 0 ] && exec .venv/bin/python -m pytest -q "$@"
        # The whole suite in two tiers, each on every core (pytest-xdist: tests own their
        # tmp dirs, keyring file, ports and PostgreSQL databases): the unit tier first, stopping
        # at its first failure, then the integration and GUI tiers.
        .venv/bin/python -m pytest -q -x -n auto tests/unit
        exec .venv/bin/python -m pytest -q -n auto tests/integration tests/gui
        ;;
esac
