#!/bin/sh
# Smoke test of the built package (CI runs it after the test suite), as root on Debian 12:
#   sh installer/smoke-deb.sh [dist/yijianshi-intake_<version>_<arch>.deb]
# Installs the .deb with dpkg (maintainer scripts included) into a clean root — a fresh directory
# tree with its own dpkg database, never the build or test venv — over a "previous release"
# (the same bundle relabelled 0.0.0, holding a counter's intakes), then: starts the frozen window
# offscreen to its login dialog, runs `intake --version`, prints a receipt with the frozen CLI
# (and that of an intake whose pages the previous release captured: its 页数 are still there),
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
# One intake with captured pages (two scans of the 户口簿), through the frozen CLI.
echo '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAoAB4DASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDtr69FmIAIJZ3nk8tEi25J2s38RA6Ke9Q/2jdf9Aa+/wC+4P8A45RqX/H9pP8A19t/6IlrQoAz/wC0br/oDX3/AH3B/wDHKsWN2t7bCZY5IvndCkmNylWKkHBI6g9DVis/RP8Ajxk/6+7n/wBHvQAal/x/aT/19t/6IlrQrP1L/j+0n/r7b/0RLWhQAVn6J/x4yf8AX3c/+j3rQrP0T/jxk/6+7n/0e9AEmo2k1ybZ7eaOGW3l8xTJGXU/Iy4IDD+969qj8nWP+f6x/wDAN/8A47RRQAeTrH/P9Y/+Ab//AB2ptNtXs7TypJVlcySSMyptBLuWOBk4+960UUAf/9k=' | base64 -d > "$work/hukou.jpg"
cat > "$work/intake.json" <<'JSON'
{"clerk": "wangfang",
 "applicant": {"name": "张秀英", "resident_id": "11010519491231002X", "phone": "13812345678"},
 "bundle": "新生儿出生",
 "items": ["birth_medical_certificate_issue", "birth_hukou_registration"],
 "answers": {"parents_married": true, "applied_by_agent": false, "parents_local_insured": true},
 "marks": {"application_form": "collected", "resident_id_card.father": "exempt",
           "resident_id_card.mother": "exempt", "birth_medical_certificate_application": "collected",
           "marriage_certificate": "collected", "household_register": "collected"},
 "pages": {"household_register": ["hukou.jpg", "hukou.jpg"]}}
JSON
paged="$("$root/usr/bin/intake" submit "$work/intake.json" --json | python3 -c '
import json, sys
out = json.load(sys.stdin)
print(out["number"] if out.get("pages") == 2 else "")')" || fail "an intake with pages with the previous release"
[ -n "$paged" ] || fail "the intake with pages was not stored"
counts() {
    python3 - "$data/intake.sqlite3" <<'PY'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(" ".join(f"{t}={con.execute(f'select count(*) from {t}').fetchone()[0]}"
               for t in ("submissions", "events", "audit_entries", "attachments")))
PY
}
before_counts="$(counts)"
case "$before_counts" in *"audit_entries=0"*|*"attachments=0"*) fail "nothing to keep: $before_counts" ;; esac
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
# The intakes, their events and pages are as they were; the audit log may only have grown (the
# window's probe logs a clerk in, and a login is audited), which `audit verify` below checks.
kept() { echo "$1" | tr ' ' '\n' | grep -v '^audit_entries=' | tr '\n' ' '; }
audit_of() { echo "$1" | tr ' ' '\n' | sed -n 's/^audit_entries=//p'; }
after_counts="$(counts)"
[ "$(kept "$after_counts")" = "$(kept "$before_counts")" ] \
    || fail "intakes changed: $before_counts -> $after_counts"
[ "$(audit_of "$after_counts")" -ge "$(audit_of "$before_counts")" ] \
    || fail "audit entries lost: $before_counts -> $after_counts"
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
# The intake with pages: its receipt, printed by the new release, counts the two scans.
"$root/usr/bin/intake" print receipt "$paged" --out "$work/paged.pdf" >/dev/null || fail "print $paged"
python3 - "$work/paged.pdf" <<'PY' || fail "the pages of $paged are not on its receipt"
import re, subprocess, sys
text = subprocess.run(["pdftotext", "-layout", sys.argv[1], "-"], capture_output=True, text=True).stdout
sys.exit(0 if re.search(r"居民户口簿\s+原件及复印件\s+1\s+2\s", text) else 1)  # 份数 1, 页数 2
PY

# A licence QR through the frozen CLI; zxing-cpp (the primary decoder) must be in the bundle.
find "$app" -name 'zxingcpp*.so' | grep -q . || fail "zxing-cpp extension not bundled"
echo 'iVBORw0KGgoAAAANSUhEUgAAAI8AAACPAQAAAADrGLU+AAABeUlEQVRIx+3WsW3DMBAF0C+oYBcvQIBrsNNK4gKmtYC8kjquQUALyJ0KQpfPIHbsNOF1LkKoEF5x4PGOJ0F+rwP/9GZUAHcVjMO6AVFDUWxM6+xzqO8KGo27pcJYt8Vq6YISUw5qsvA4GzVFcdvQH+YloRYCbEj1GZ+OsIHq2pCB/qVof1MJyW2QGZnHraQcUjntFkOOGjoxlheWZxygIeFJMcppYeb3hJqIsfprkmnpL37VkFw8G0I24yb5Lm0blSD9DLkmNxuo6GzWw/Ts+xH3fTWR3JKbFnR77nZR0TGsx2BPC3sxRw0JW3C3gUEFKmIsJswKjWYVDW0G8O7i3bTfN9FG81B4RcPOCkFDJSz9tXZG6fasIZk4Fzw7Kf80ZhPVWBsK08aj2k3EVT48qcSlRAXVGc1rFgQhQUV1fhnbMdBjKLQRJyZbf+JQgCiJtXG3+m14+io0kWV5wl7ngoq4+6+JkLvnhBqIM/pcLwwpRwX9/2K8NX0C+6SPJq5D/AAAAAAASUVORK5CYII=' | base64 -d > "$work/licence-qr.png"
"$root/usr/bin/intake" capture process "$work/licence-qr.png" --out "$work/qr-out" --json \
    | grep -q 'uniscid=91350100M000100Y43' || fail "the licence QR was not decoded"

# 5. Remove and purge: the program goes, the clerk's data stays as it was.
kept="$(snapshot)"
dpkg_root -r "$pkg"
dpkg_root -P "$pkg"
[ ! -e "$app" ] && [ ! -e "$root/usr/bin/intake" ] || fail "files left after purge"
[ "$kept" = "$(snapshot)" ] || fail "removing the package changed the data directory"
echo "smoke-deb: OK ($pkg $version: installed over 0.0.0, window to login, $ver, receipt $number, pages of $paged kept, removed; data directory untouched; $before_counts)"
rm -rf "$work"
