#!/bin/sh
# Build the frozen client and the Debian/统信/麒麟 package (x86_64; ARM64 on an ARM64 machine):
#   sh installer/build.sh deb      -> dist/yijianshi-intake_<version>_<arch>.deb
#   sh installer/build.sh bundle   -> dist/yijianshi-intake/ (the frozen application only)
# Installs its build tools from requirements/build.lock (hashes checked) into build/venv; as root
# it also installs the few Debian packages it needs (zbar, fonts, objdump). The build fails when
# the bundle needs a newer glibc than GLIBC_FLOOR (the floor stated in the README).
set -eu
cd "$(dirname "$0")/.."
what="${1:-deb}"
case "$what" in deb|bundle) ;; *) echo "usage: sh installer/build.sh deb|bundle" >&2; exit 2 ;; esac

GLIBC_FLOOR="${GLIBC_FLOOR:-2.35}"
PY="${PYTHON:-python3}"
VENV="${BUILD_VENV:-build/venv}"
start=$(date +%s)

need=""
[ -e /usr/lib/"$(uname -m)"-linux-gnu/libzbar.so.0 ] || need="$need libzbar0"
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need="$need fonts-wqy-microhei"
[ -e /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ] || need="$need fonts-hanazono"
command -v objdump >/dev/null 2>&1 || need="$need binutils"
"$PY" -c 'import venv, ensurepip' 2>/dev/null || need="$need python3-venv"
if [ -n "$need" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "build.sh: missing Debian packages:$need (apt-get install them, or run as root)" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "build.sh: $PY is older than Python 3.11 (set PYTHON=python3.11)" >&2; exit 1; }

# Build tools, reinstalled only when the lock changes.
stamp="$VENV/.lock-sha256"
lock_sum="$(sha256sum requirements/build.lock | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    # uv (pinned and hashed in the same lock) installs the rest in parallel: minutes saved.
    awk '/^uv==/{p=1} p&&/^[a-z]/&&!/^uv==/{p=0} p' requirements/build.lock > "$VENV/uv.txt"
    if "$VENV/bin/python" -m pip install -q --require-hashes -r "$VENV/uv.txt"; then
        "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --require-hashes \
            -r requirements/build.lock
    else
        "$VENV/bin/python" -m pip install -q --require-hashes -r requirements/build.lock
    fi
    echo "$lock_sum" > "$stamp"
fi
echo "build tools ready after $(( $(date +%s) - start )) s"

version="$("$VENV/bin/python" installer/manifest.py version)"
app_id="$("$VENV/bin/python" installer/manifest.py app-id)"
bundle="dist/yijianshi-intake"
rm -rf "$bundle"
# The window's texts: the spec compiles resources/i18n/intake_zh_CN.ts (lrelease from PySide6)
# into the .qm it bundles; a stale one from a run from source must not slip in instead.
rm -f resources/i18n/intake_zh_CN.qm
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    installer/yijianshi-intake.spec

# The platform floor: the highest GLIBC_ symbol version any ELF file of the bundle requires.
echo "bundle frozen after $(( $(date +%s) - start )) s"
floor="$(sh installer/glibc-floor.sh "$bundle")"
size_mb="$(du -sm "$bundle" | cut -f1)"
echo "bundle: $bundle, ${size_mb} MB, needs glibc $floor (floor allowed: $GLIBC_FLOOR)"
if [ "$(printf '%s\n%s\n' "$floor" "$GLIBC_FLOOR" | sort -V | tail -1)" != "$GLIBC_FLOOR" ]; then
    echo "build.sh: the bundle needs glibc $floor, above the stated floor $GLIBC_FLOOR" >&2
    exit 1
fi
[ "$what" = bundle ] && exit 0

arch="$(dpkg --print-architecture)"
stage="build/deb/root"
rm -rf build/deb && mkdir -p "$stage/DEBIAN"
opt="$stage/opt/apps/$app_id"
mkdir -p "$opt/entries/applications" "$opt/entries/icons/hicolor/scalable/apps" \
    "$stage/usr/bin" "$stage/usr/share/applications" "$stage/usr/share/icons/hicolor/scalable/apps" \
    "$stage/lib/udev/rules.d" "$stage/usr/share/doc/yijianshi-intake"
cp -a "$bundle" "$opt/files"
cp installer/icons/yijianshi-intake.svg "$opt/entries/icons/hicolor/scalable/apps/$app_id.svg"
cat > "$opt/entries/applications/$app_id.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=Comprehensive Intake Window
Name[zh_CN]=综合受理窗口
GenericName[zh_CN]=一件事一次办综合受理
Comment[zh_CN]=一件事一次办 综合受理窗口客户端
Exec=/opt/apps/$app_id/files/intake-window
Icon=$app_id
Terminal=false
Categories=Office;
StartupWMClass=intake-window
DESKTOP
cat > "$opt/info" <<INFO
{
    "appid": "$app_id",
    "name": "综合受理窗口",
    "version": "$version",
    "arch": ["$arch"],
    "permissions": {"autostart": false, "notification": false, "trayicon": false,
                    "clipboard": true, "account": false, "bluetooth": false, "camera": true,
                    "audio_record": false, "installed_apps": false}
}
INFO
# Debian and 麒麟 read the desktop entry and icon from /usr/share; 统信 from entries/.
ln -s "../../../opt/apps/$app_id/entries/applications/$app_id.desktop" \
    "$stage/usr/share/applications/$app_id.desktop"
ln -s "../../../../../../opt/apps/$app_id/entries/icons/hicolor/scalable/apps/$app_id.svg" \
    "$stage/usr/share/icons/hicolor/scalable/apps/$app_id.svg"
ln -s "../../opt/apps/$app_id/files/intake" "$stage/usr/bin/intake"
ln -s "../../opt/apps/$app_id/files/intake-window" "$stage/usr/bin/intake-window"
cp installer/deb/60-yijianshi-intake-idcard.rules "$stage/lib/udev/rules.d/"
printf '%s\n' "Bundle needs glibc $floor; Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'), Qt $("$VENV/bin/python" -c 'import PySide6; print(PySide6.__version__)') inside." \
    > "$stage/usr/share/doc/yijianshi-intake/PLATFORM"
install -m 0755 installer/deb/postinst installer/deb/postrm "$stage/DEBIAN/"
kib="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
"$VENV/bin/python" installer/manifest.py deb-control "$arch" "$kib" "$floor" > "$stage/DEBIAN/control"
deb="dist/yijianshi-intake_${version}_${arch}.deb"
# gzip: the dpkg of 统信 UOS 20 and 麒麟 V10 predates zstd support; level 1: the libraries are
# already compressed, higher levels cost minutes for a few per cent.
dpkg-deb --root-owner-group -Zgzip -z1 --build "$stage" "$deb" >/dev/null
echo "built $deb ($(du -m "$deb" | cut -f1) MB) in $(( $(date +%s) - start )) s"
