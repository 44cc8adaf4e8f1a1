#!/bin/sh
# Smoke test of the built package (CI runs it after the test suite), as root on Debian 12:
#   sh installer/smoke-deb.sh [dist/yijianshi-intake_<version>_<arch>.deb]
# Installs the .deb with dpkg (maintainer scripts included) into a clean root — a fresh directory
# tree with its own dpkg database, never the build or test venv — over a "previous release"
# (the same bundle relabelled 0.0.0, holding a counter's intakes), then: starts the frozen window
# offscreen to its login dialog, runs `intake --version`, prints a receipt with the frozen CLI,
# removes and purges the package, and checks that the clerk's data directory is untouched
# throughout. Keys live in a real Secret Service (gnome-keyring in a private D-Bus session), as
# on a counter's desktop.
set -eu
cd "$(dirname "$0")/.."
deb="${1:-$(ls -t dist/yijianshi-intake_*_*.deb | head -1)}"
[ -f "$deb" ] || { echo "smoke-deb: no package (run sh installer/build.sh deb)" >&2; exit 1; }

if [ -z "${SMOKE_IN_SESSION:-}" ]; then
    need=""
    command -v gnome-keyring-daemon >/dev/null 2>&1 || need="$need gnome-keyring"
    command -v dbus-run-session >/dev/null 2>&1 || need="$need dbus"
    command -v pdftotext >/dev/null 2>&1 || need="$need poppler-utils"
    if [ -n "$need" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
    fi
    SMOKE_IN_SESSION=1 exec dbus-run-session -- sh "$0" "$deb"
fi

work="$(mktemp -d)"
root="$work/root"
home="$work/home"                       # the clerk's home: data in ~/.local/share/yijianshi-intake
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$home"
touch "$root/var/lib/dpkg/status"
export HOME="$home" QT_QPA_PLATFORM=offscreen
unset INTAKE_DATA_DIR XDG_DATA_HOME PYTHON_KEYRING_BACKEND PYTHONPATH
data="$home/.local/share/yijianshi-intake"
printf 'smoke' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
# --force-depends: the clean root has no system libraries to satisfy Depends (the host's are used
# to run); --force-unsafe-io: no fsync per file of a throwaway root.
dpkg_root() {
    dpkg --root="$root" --force-script-chrootless --force-depends --force-unsafe-io \
        --log=/dev/null "$@" >>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; return 1; }
}
fail() { echo "smoke-deb: FAILED: $*" >&2; exit 1; }
snapshot() { (cd "$data" && find . -type f ! -path './logs/*' | sort | xargs sha256sum); }
pkg="$(dpkg-deb -f "$deb" Package)"
version="$(dpkg-deb -f "$deb" Version)"
dpkg-deb -c "$deb" > "$work/contents"
app="$root/opt/apps/$(grep -o -m1 'opt/apps/[^/][^/]*' "$work/contents" | cut -d/ -f3)"

# 1. The previous release, and a counter's day in its store.
old="$work/previous.deb"
dpkg-deb -R "$deb" "$work/old"
sed -i 's/^Version: .*/Version: 0.0.0/' "$work/old/DEBIAN/control"
dpkg-deb --root-owner-group -Znone -b "$work/old" "$old" >/dev/null
rm -rf "$work/old"
dpkg_root -i "$old"
"$root/usr/bin/intake" setup --station-code XX01 --station-name 城关镇便民服务中心 \
    --centre-name 新乡县政务服务中心 --jurisdiction xinxiang --admin-password smoke-admin-1234 \
    >/dev/null || fail "station set-up with the previous release"
"$root/usr/bin/intake" demo-data --count 12 --days 2 >/dev/null || fail "demo data with the previous release"
counts() {
    python3 - "$data/intake.sqlite3" <<'PY'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(" ".join(f"{t}={con.execute(f'select count(*) from {t}').fetchone()[0]}"
               for t in ("submissions", "events", "audit_entries", "attachments")))
PY
}
before_counts="$(counts)"
case "$before_counts" in *"audit_entries=0"*) fail "no audit entries to keep: $before_counts" ;; esac
before="$(snapshot)"

# 2. The new package over it.
dpkg_root -i "$deb"
[ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Version}' "$pkg")" = "$version" ] \
    || fail "dpkg does not list $pkg $version"
[ "$before" = "$(snapshot)" ] || fail "installing the package changed the data directory"
[ -x "$app/files/intake-window" ] && [ -L "$root/usr/bin/intake" ] || fail "files not under $app"
[ -f "$root/lib/udev/rules.d/60-yijianshi-intake-idcard.rules" ] || fail "udev rule missing"
desktop="$root/usr/share/applications/$(basename "$app").desktop"
[ -f "$desktop" ] && grep -q "^Exec=/opt/apps/" "$desktop" || fail "desktop entry missing"

# 3. The frozen window, offscreen, to its login dialog (store and catalog opened behind it).
out="$(timeout 120 "$root/usr/bin/intake-window" --startup-probe 2>&1)" || fail "window: $out"
echo "$out" | grep -q "startup-probe: login-shown" || fail "login dialog not shown: $out"
echo "$out" | grep -q "startup-probe: login-ready" || fail "store not opened: $out"

# 4. The frozen CLI: version, the intakes kept, the audit chain, a printed receipt.
ver="$("$root/usr/bin/intake" --version)"
echo "$ver" | grep -q "客户端 $version" || fail "intake --version: $ver"
[ "$(counts)" = "$before_counts" ] || fail "intakes changed: $before_counts -> $(counts)"
"$root/usr/bin/intake" audit verify >/dev/null || fail "audit chain"
number=""
for day in $(TZ=Asia/Shanghai date +%F) $(TZ=Asia/Shanghai date -d yesterday +%F); do
    number="$("$root/usr/bin/intake" ledger --json --date "$day" | python3 -c '
import json, sys
print(next((r["number"] for r in json.load(sys.stdin) if r["number"] and r["state"] == "received"), ""))')"
    [ -z "$number" ] || break
done
[ -n "$number" ] || fail "no received intake in the ledger"
"$root/usr/bin/intake" print receipt "$number" --out "$work/receipt.pdf" >/dev/null || fail "print"
pdftotext "$work/receipt.pdf" - | grep -q "$number" || fail "the receipt does not show $number"

# 5. Remove and purge: the program goes, the clerk's data stays as it was.
kept="$(snapshot)"
dpkg_root -r "$pkg"
dpkg_root -P "$pkg"
[ ! -e "$app" ] && [ ! -e "$root/usr/bin/intake" ] || fail "files left after purge"
[ "$kept" = "$(snapshot)" ] || fail "removing the package changed the data directory"
echo "smoke-deb: OK ($pkg $version: installed over 0.0.0, window to login, $ver, receipt $number, removed; data directory untouched; $before_counts)"
rm -rf "$work"
