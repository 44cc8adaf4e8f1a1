"""What the frozen application is made of, in one place: the PyInstaller spec (Linux and
Windows), the .deb (installer/build.sh) and the Inno Setup script all read it, so their version
and file lists cannot drift apart. A test (tests/unit/test_installer_manifest.py) holds them equal.

    python installer/manifest.py version          the client's version
    python installer/manifest.py iss > installer/windows/yijianshi-intake.iss
    python installer/manifest.py deb-control ARCH  the .deb's control file
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PACKAGE = "yijianshi-intake"  # .deb package, bundle folder, Windows install folder
APP_ID = "cn.yijianshi.intake"  # 统信/麒麟: installed under /opt/apps/<APP_ID>/
DISPLAY_NAME = "一件事一次办综合受理窗口"
PUBLISHER = "一件事一次办综合受理"
# Inno Setup AppId: fixed forever, so an upgrade replaces the installed version.
WINDOWS_APP_GUID = "{{8C1B5E2A-4F7D-4B6E-9A53-2D61E0C7A4F1}"

# (name, entry script, windowed)
EXECUTABLES = (
    ("intake-window", "installer/entry_window.py", True),
    ("intake", "installer/entry_cli.py", False),
)

# (source under the repository, destination folder inside the bundle)
DATA = (
    ("resources/catalog", "resources/catalog"),
    ("local_db/migrations", "local_db/migrations"),  # alembic reads the scripts as files
    ("installer/icons/yijianshi-intake.svg", "resources/icons"),
    # the window's texts, compiled by build.sh from resources/i18n/intake_zh_CN.ts
    ("resources/i18n/intake_zh_CN.qm", "resources/i18n"),
)

# Fonts the documents need (printing/fonts.py looks in the bundle's resources/fonts first):
# WQY MicroHei (Apache-2.0 / GPLv3 with font exception) for text, HanaMin A/B (free licence of
# the GlyphWiki project) for rare name characters in CJK Extensions A and B.
FONTS = ("wqy-microhei.ttc", "HanaMinA.ttf", "HanaMinB.ttf")
FONT_DIRS = (
    ROOT / "resources" / "fonts",  # a Windows build copies them here first (see README)
    Path("/usr/share/fonts/truetype/wqy"),
    Path("/usr/share/fonts/truetype/hanazono"),
)

# Never in a counter's bundle: the hub, test tools, OCR, Tk.
EXCLUDES = (
    "tkinter",
    "sync.hub",
    "fastapi",
    "uvicorn",
    "starlette",
    "psycopg",
    "pytest",
    "hypothesis",
    "keyrings.alt",
    "rapidocr",
    "onnxruntime",
    "IPython",
)

# The Qt modules the client uses (everything else of PySide6 stays out).
QT_MODULES = (
    "QtCore",
    "QtGui",
    "QtWidgets",
    "QtPrintSupport",
    "QtSvg",
    "QtCharts",
    "QtMultimedia",
    "QtNetwork",
    "QtPdf",  # QtPdf only where the PySide6 release ships it (printing/dispatch.py)
)


# Qt modules and plugins the client never loads (matched in the bundle path).
QT_DROPPED = re.compile(
    r"Qt6(Qml|Quick|VirtualKeyboard|Wayland|WlShell|EglFS|Designer|3D|Pdf(Quick|Widgets))"
    r"|plugins/(wayland-[a-z-]+|egldeviceintegrations|platforminputcontexts|qmltooling)/"
    r"|plugins/platformthemes/libqgtk3|/qml/"
)
# System libraries (Linux) taken from the target system, never from the build machine. Kept in the
# bundle: Python's own (libpython, libssl/libcrypto 3, libsqlite3, libffi, liblzma, libbz2,
# libmpdec, libexpat) and zbar with its camera libraries, which counters lack.
SYSTEM_LIBS = re.compile(
    r"^lib(stdc\+\+|gcc_s|atomic|X11|X11-xcb|xcb.*|Xau|Xdmcp|Xext|Xrender|Xrandr|Xi|Xfixes|Xcursor"
    r"|GL|GLX|EGL|OpenGL|GLdispatch|fontconfig|freetype|dbus-1|systemd|glib-2\.0|gio-2\.0"
    r"|gobject-2\.0|gmodule-2\.0|gthread-2\.0|cups|gnutls|krb5|krb5support|gssapi_krb5|k5crypto"
    r"|p11-kit|unistring|idn2|tasn1|nettle|hogweed|gmp|avahi-client|avahi-common|pulse|pulsecommon"
    r"|pulse-simple|sndfile|vorbis|vorbisenc|FLAC|ogg|opus|mp3lame|mpg123|asyncns|cairo|cairo-gobject"
    r"|atk-1\.0|atk-bridge-2\.0|atspi|gtk-3|gdk-3|gdk_pixbuf-2\.0|pango-1\.0|pangocairo-1\.0"
    r"|pangoft2-1\.0|harfbuzz|pixman-1|png16|brotli(common|dec|enc)|pcre2-8|selinux|mount|blkid"
    r"|cap|gcrypt|gpg-error|lz4|zstd|bsd|md|com_err|keyutils|uuid|xkbcommon|xkbcommon-x11"
    r"|wayland-(client|cursor|egl)|epoxy|fribidi|datrie|thai|graphite2|jbig|tiff|webp|Lerc"
    r"|deflate|sharpyuv|drm|gbm|xshmfence|Xxf86vm|xml2|icu(uc|i18n|data)|expat)[.-].*so"
)


def dropped_binary(dest: str, src: str) -> bool:
    """Whether a collected binary (bundle path DEST, source SRC) stays out of the bundle."""
    if QT_DROPPED.search(dest.replace("\\", "/")):
        return True
    if sys.platform.startswith("linux") and src.startswith(("/lib/", "/usr/lib/", "/lib64/")):
        return bool(SYSTEM_LIBS.match(Path(dest).name))
    return False


# Our packages, all of their modules bundled (the CLI imports its sub-commands by name); the hub
# and the migration scripts (shipped as files) are not modules of the bundle.
OWN_PACKAGES = ("app", "local_db", "printing", "sync", "ui")
OWN_EXCLUDED = ("sync/hub/", "local_db/migrations/")


def own_modules() -> list[str]:
    out = []
    for pkg in OWN_PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            rel = f.relative_to(ROOT).as_posix()
            if rel.startswith(OWN_EXCLUDED):
                continue
            name = rel[:-3].replace("/", ".")
            out.append(name.removesuffix(".__init__"))
    return out


def version() -> str:
    text = (ROOT / "app" / "version.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not match:
        raise SystemExit("app/version.py has no __version__")
    return match.group(1)


def font_files() -> list[Path]:
    """Each font of FONTS, from the first folder that has it; SystemExit naming what is missing."""
    found, missing = [], []
    for name in FONTS:
        hit = next((d / name for d in FONT_DIRS if (d / name).is_file()), None)
        (found if hit else missing).append(hit or name)
    if missing:
        raise SystemExit(
            f"fonts missing for the bundle: {', '.join(map(str, missing))} "
            "(Debian: apt-get install fonts-wqy-microhei fonts-hanazono; Windows: copy them to "
            "resources/fonts)"
        )
    return found  # type: ignore[return-value]


def bundle_files() -> list[tuple[str, str]]:
    """(source path, bundle folder) of every data file, fonts included: the spec's `datas`."""
    out: list[tuple[str, str]] = []
    for src, dest in DATA:
        path = ROOT / src
        files = (
            [path]
            if path.is_file()
            else sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        )
        for f in files:
            rel = f.relative_to(path).parent.as_posix() if path.is_dir() else "."
            out.append((str(f), dest if rel == "." else f"{dest}/{rel}"))
    out += [(str(f), "resources/fonts") for f in font_files()]
    return out


def iss() -> str:
    """The Inno Setup script (installer/windows/yijianshi-intake.iss), generated: same version,
    executables and bundle folder as the spec. User data (%LOCALAPPDATA%\\yijianshi-intake) is
    never listed, so neither an upgrade nor an uninstall touches it."""
    window, cli = EXECUTABLES[0][0], EXECUTABLES[1][0]
    return f"""; Generated by `python installer/manifest.py iss` — do not edit; a test compares it.
; Build on Windows after `pyinstaller installer/yijianshi-intake.spec` (see README):
;   iscc installer\\windows\\yijianshi-intake.iss   ->  dist\\{PACKAGE}-{version()}-setup.exe
#define AppVersion "{version()}"

[Setup]
AppId={WINDOWS_APP_GUID}
AppName={DISPLAY_NAME}
AppVersion={{#AppVersion}}
AppPublisher={PUBLISHER}
DefaultDirName={{autopf}}\\{PACKAGE}
DefaultGroupName={DISPLAY_NAME}
OutputDir=..\\..\\dist
OutputBaseFilename={PACKAGE}-{{#AppVersion}}-setup
Compression=lzma2
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
WizardStyle=modern
UninstallDisplayIcon={{app}}\\{window}.exe
CloseApplications=yes

[Languages]
Name: "chs"; MessagesFile: "compiler:Languages\\ChineseSimplified.isl"

[Files]
Source: "..\\..\\dist\\{PACKAGE}\\*"; DestDir: "{{app}}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the program folder whole (stale libraries of the old Qt must not stay).
Type: filesandordirs; Name: "{{app}}\\_internal"

[Icons]
Name: "{{group}}\\{DISPLAY_NAME}"; Filename: "{{app}}\\{window}.exe"
Name: "{{autodesktop}}\\{DISPLAY_NAME}"; Filename: "{{app}}\\{window}.exe"

[Registry]
; `{cli}` on the PATH of every user (cmd, PowerShell).
Root: HKLM; Subkey: "SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{{olddata}};{{app}}"; Check: NeedsAddPath(ExpandConstant('{{app}}'))

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKLM, 'SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment', 'Path', Path) then
    Result := True
  else
    Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;
"""


def deb_control(arch: str, installed_kib: int = 0, glibc: str = "2.28") -> str:
    size = f"Installed-Size: {installed_kib}\n" if installed_kib else ""
    return (
        f"Package: {PACKAGE}\n"
        f"Version: {version()}\n"
        f"Architecture: {arch}\n"
        "Maintainer: 一件事一次办综合受理 <it@localhost>\n"
        f"{size}"
        "Section: misc\n"
        "Priority: optional\n"
        # The bundle carries Python, Qt, zbar and the fonts; only the C library, X/EGL and
        # fontconfig come from the system (present on every desktop install).
        f"Depends: libc6 (>= {glibc}), libstdc++6, libfontconfig1, libfreetype6, libegl1, libgl1, "
        "libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0, "
        "libxcb-randr0, libxcb-image0, libxcb-render-util0, libdbus-1-3, libglib2.0-0, libcups2, libexpat1, "
        "libpulse0\n"
        f"Description: {DISPLAY_NAME}（一件事一次办 intake client）\n"
        " The counter client of the comprehensive intake window: ID card reading, merged\n"
        " checklists, receipts and notices, offline store with sync to the county hub.\n"
        " Frozen application (no Python or Qt needed); data stays in each user's data\n"
        " directory and is never touched by installing, upgrading or removing the package.\n"
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["version"]:
        print(version())
    elif argv[:1] == ["iss"]:
        sys.stdout.write(iss())
    elif argv[:1] == ["deb-control"] and len(argv) >= 2:
        sys.stdout.write(deb_control(argv[1], int(argv[2]) if len(argv) > 2 else 0, *argv[3:4]))
    elif argv[:1] == ["app-id"]:
        print(APP_ID)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    if os.environ.get("PYTHONUTF8") is None and sys.stdout.encoding.lower() != "utf-8":
        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    raise SystemExit(main(sys.argv[1:]))
