"""Every option of the client, declared once: name, type, default, Chinese description and where
a value may come from — a command-line flag, an `INTAKE_*` environment variable, a station
setting (the window's settings store). The window's flags, `--help`, the settings screens and
the environment are all read through this table; nothing else names a flag, a variable or a key.

Precedence: flag > environment > station setting > default. A malformed stored or environment
value falls back to the next source (logged by option name, never by value); a malformed flag or
a value typed in a settings screen is refused with an `OptionError`.

Stored settings carry a version (`settings/version`); `upgrade_settings` migrates the keys of
older versions step by step (`UPGRADES`).

Qt-free and light: imported at start-up before the login dialog is shown.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

from local_db.errors import DomainError

log = logging.getLogger("intake.options")

T = TypeVar("T")


class OptionError(DomainError):
    """A value that does not fit its option (a flag, or a value typed in a settings screen)."""


class SettingsStore(Protocol):
    """Where station settings are kept. `PySide6.QtCore.QSettings` satisfies it (the window's
    store); `MemorySettings` is the Qt-free one (tests, the CLI)."""

    def value(self, key: str, defaultValue: Any = None) -> Any: ...

    def setValue(self, key: str, value: Any) -> None: ...

    def remove(self, key: str) -> None: ...

    def contains(self, key: str) -> bool: ...

    def allKeys(self) -> list[str]: ...

    def sync(self) -> None: ...


class MemorySettings:
    """A settings store in a dict (QSettings' interface, Qt-free)."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = dict(values or {})

    def value(self, key: str, defaultValue: Any = None) -> Any:
        return self.data.get(key, defaultValue)

    def setValue(self, key: str, value: Any) -> None:
        self.data[key] = value

    def remove(self, key: str) -> None:
        self.data.pop(key, None)

    def contains(self, key: str) -> bool:
        return key in self.data

    def allKeys(self) -> list[str]:
        return list(self.data)

    def sync(self) -> None:
        pass


# ----------------------------------------------------------------------------- conversion


def _text(raw: object) -> str:
    return str(raw).strip()


def _optional_text(raw: object) -> str | None:
    text = str(raw).strip()
    return text or None


def _optional_path(raw: object) -> Path | None:
    text = str(raw).strip()
    return Path(text) if text else None


def _bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(text)


def _float(raw: object) -> float:
    value = float(str(raw).strip())
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return value


def _int(raw: object) -> int:
    return int(str(raw).strip())


@dataclass(frozen=True, eq=False)
class Option(Generic[T]):
    """One option. `parse` turns a flag's, a variable's or a stored text into the value (raises
    ValueError on nonsense); `check` refuses values out of range or outside `choices`."""

    name: str
    parse: Callable[[object], T]
    default: T
    description: str  # Chinese: the settings screen's label and `--help`
    flag: str | None = None  # e.g. "--card-port"; None: not a flag
    env: str | None = None  # e.g. "INTAKE_CARD_PORT"; None: not from the environment
    setting: str | None = None  # key in the station settings; None: not stored
    choices: tuple[T, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    metavar: str | None = None
    hidden: bool = False  # a flag for benchmarks, left out of `--help`

    def convert(self, raw: object) -> T:
        """RAW (text or value) as this value; OptionError (Chinese) when it does not fit."""
        try:
            value = self.parse(raw)
        except (TypeError, ValueError):
            raise OptionError(
                "options.invalid", self_description=self.description, shown_raw=_shown(raw)
            ) from None
        self.check(value)
        return value

    def check(self, value: T) -> None:
        if self.choices and value not in self.choices:
            allowed = "、".join(str(c) for c in self.choices)
            raise OptionError(
                "options.not_a_choice", self_description=self.description, allowed=allowed
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise OptionError(
                    "options.too_small",
                    self_description=self.description,
                    self_minimum=self.minimum,
                )
            if self.maximum is not None and value > self.maximum:
                raise OptionError(
                    "options.too_large",
                    self_description=self.description,
                    self_maximum=self.maximum,
                )

    def to_stored(self, value: T) -> object:
        """What is written to the settings store (text for paths; None as "")."""
        if value is None:
            return ""
        if isinstance(value, Path):
            return str(value)
        return value


def _shown(raw: object) -> str:
    text = str(raw)
    return text if len(text) <= 40 else text[:40] + "…"


# ----------------------------------------------------------------------------- the table

DEMO: Option[bool] = Option(
    "demo", _bool, False, "演示模式：演示站点、账号和模拟读卡器", flag="--demo"
)
DB_PATH: Option[Path | None] = Option(
    "db_path", _optional_path, None, "数据库文件路径", flag="--db", metavar="PATH"
)
DATA_DIR: Option[Path | None] = Option(
    "data_dir",
    _optional_path,
    None,
    "数据目录（数据库、附件、打印件、日志）",
    env="INTAKE_DATA_DIR",
)
IDLE_LOCK_MINUTES: Option[float] = Option(
    "idle_lock_minutes",
    _float,
    10.0,
    "无操作多少分钟后锁定（0 为不锁定）",
    flag="--idle-lock",
    setting="session/idle_lock_minutes",
    minimum=0,
    maximum=24 * 60,
    metavar="MINUTES",
)
PAPER: Option[str] = Option(
    "paper",
    _text,
    "A4",
    "文书纸张",
    flag="--paper",
    setting="print/paper",
    choices=("A4", "A5"),
)
PRINTER_DIR: Option[Path | None] = Option(
    "printer_dir",
    _optional_path,
    None,
    "打印输出为 PDF 文件到该目录（不用打印机）",
    flag="--print-to",
    setting="print/to_dir",
    metavar="DIR",
)
PRINTER_NAME: Option[str | None] = Option(
    "printer_name",
    _optional_text,
    None,
    "打印机名称（默认为系统默认打印机）",
    flag="--printer",
    setting="print/printer",
)
CARD_PORT: Option[str | None] = Option(
    "card_port",
    _optional_text,
    None,
    "身份证读卡器串口，如 /dev/ttyUSB0 或 COM3",
    flag="--card-port",
    env="INTAKE_CARD_PORT",
    setting="devices/card_port",
)
CARD_SDK: Option[str | None] = Option(
    "card_sdk",
    _optional_text,
    None,
    "身份证读卡器厂商 SDK 接口（cvr 或 sdt；空为串口或不用）",
    flag="--card-sdk",
    env="INTAKE_CARD_SDK",
    setting="devices/card_sdk",
    choices=(None, "cvr", "sdt"),
)
CARD_SDK_LIB: Option[Path | None] = Option(
    "card_sdk_lib",
    _optional_path,
    None,
    "读卡器厂商 SDK 库文件（.dll / .so）",
    flag="--card-sdk-lib",
    env="INTAKE_CARD_SDK_LIB",
    setting="devices/card_sdk_lib",
    metavar="PATH",
)
WLT_LIB: Option[Path | None] = Option(
    "wlt_lib",
    _optional_path,
    None,
    "身份证照片解码库（libwlt.so / WltRS.dll）",
    flag="--wlt-lib",
    env="INTAKE_WLT_LIB",
    setting="devices/wlt_lib",
    metavar="PATH",
)
CAMERA: Option[str | None] = Option(
    "camera",
    _optional_text,
    None,
    "高拍仪：设备序号（如 0）或设备名称的一部分",
    flag="--camera",
    env="INTAKE_CAMERA",
    setting="devices/camera",
)
HOT_FOLDER: Option[Path | None] = Option(
    "hot_folder",
    _optional_path,
    None,
    "扫描仪输出文件夹（自动导入新扫描件；空为不监视）",
    flag="--hot-folder",
    env="INTAKE_HOT_FOLDER",
    setting="devices/hot_folder",
    metavar="DIR",
)
RECEIPT_QUERY_URL: Option[str | None] = Option(
    "receipt_query_url",
    _optional_text,
    None,
    "回执二维码的查询网址（空为本站登记的同步中心）",
    env="INTAKE_RECEIPT_QUERY_URL",
    setting="receipt/query_url",
)
BACKUP_FOLDER: Option[str] = Option(
    "backup_folder",
    _text,
    "",
    "备份文件夹（空为数据库旁的 backups）",
    setting="backup/folder",
)
BACKUP_INTERVAL_HOURS: Option[int] = Option(
    "backup_interval_hours",
    _int,
    24,
    "定时备份间隔（小时，1–168）",
    setting="backup/interval_hours",
    minimum=1,
    maximum=24 * 7,
)
FONT_SCALE: Option[int] = Option(
    "font_scale",
    _int,
    100,
    "字体大小（%）",
    flag="--font-scale",
    setting="display/font_scale",
    choices=(100, 125, 150),
)
HIGH_CONTRAST: Option[bool] = Option(
    "high_contrast",
    _bool,
    False,
    "高对比度配色",
    flag="--high-contrast",
    setting="display/high_contrast",
)
STATION_ADDRESS: Option[str] = Option(
    "station_address",
    _text,
    "",
    "办理地点（打印在办事指南上，如“××县政务服务中心一楼综合受理窗口”）",
    env="INTAKE_STATION_ADDRESS",
    setting="station/address",
)
REUSE_MAX_AGE_DAYS: Option[int] = Option(
    "reuse_max_age_days",
    _int,
    180,
    "一人一档：早前收取的材料在多少天内可复用（目录未规定期限的材料）",
    flag="--reuse-max-age",
    env="INTAKE_REUSE_MAX_AGE_DAYS",
    setting="reuse/max_age_days",
    minimum=1,
    maximum=3650,
    metavar="DAYS",
)
STARTUP_PROBE: Option[bool] = Option(
    "startup_probe",
    _bool,
    False,
    "启动测量：登录窗口显示、可用时输出并退出",
    flag="--startup-probe",
    hidden=True,
)
LOG_PROPAGATE: Option[bool] = Option(
    "log_propagate",
    _bool,
    False,
    "日志同时交给上级日志器（测试用）",
    env="INTAKE_LOG_PROPAGATE",
)
OPTIONS: tuple[Option[Any], ...] = (
    DEMO,
    DB_PATH,
    DATA_DIR,
    IDLE_LOCK_MINUTES,
    PAPER,
    PRINTER_DIR,
    PRINTER_NAME,
    CARD_PORT,
    CARD_SDK,
    CARD_SDK_LIB,
    WLT_LIB,
    CAMERA,
    HOT_FOLDER,
    RECEIPT_QUERY_URL,
    BACKUP_FOLDER,
    BACKUP_INTERVAL_HOURS,
    FONT_SCALE,
    HIGH_CONTRAST,
    STATION_ADDRESS,
    REUSE_MAX_AGE_DAYS,
    STARTUP_PROBE,
    LOG_PROPAGATE,
)
BY_NAME: dict[str, Option[Any]] = {o.name: o for o in OPTIONS}


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Options:
    """Resolved values, read by option: `options[CARD_PORT]` (typed by the option)."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, option: Option[T]) -> T:
        if option.name in self.values:
            return cast(T, self.values[option.name])
        return option.default

    @classmethod
    def of(cls, **values: Any) -> Options:
        """Options with VALUES by name (tests, programs); unknown names are a TypeError."""
        unknown = set(values) - set(BY_NAME)
        if unknown:
            raise TypeError(f"unknown options: {sorted(unknown)}")
        return cls(dict(values))

    def replace(self, **values: Any) -> Options:
        return Options({**self.values, **Options.of(**values).values})


def from_env(option: Option[T], environ: Mapping[str, str] | None = None) -> T | None:
    """The environment's value for OPTION, or None when unset or malformed (logged)."""
    if option.env is None:
        return None
    raw = (os.environ if environ is None else environ).get(option.env, "")
    if not raw.strip():
        return None
    try:
        return option.convert(raw)
    except OptionError:
        log.warning("ignoring malformed environment variable %s", option.env)
        return None


def stored(option: Option[T], settings: SettingsStore) -> T | None:
    """The station setting for OPTION, or None when unset, empty or malformed (logged)."""
    if option.setting is None or not settings.contains(option.setting):
        return None
    raw = settings.value(option.setting)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return option.convert(raw)
    except OptionError:
        log.warning("ignoring malformed stored setting %s", option.setting)
        return None


def store(settings: SettingsStore, option: Option[T], value: T) -> None:
    """Save VALUE for OPTION as a station setting (checked first: OptionError when it does not
    fit). Call `settings.sync()` after a batch."""
    if option.setting is None:
        raise ValueError(f"{option.name} is not a station setting")
    option.check(value)
    settings.setValue(option.setting, option.to_stored(value))


def resolve(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    settings: SettingsStore | None = None,
) -> Options:
    """Every option's value: FLAGS (by option name; None = not given) > ENVIRON > SETTINGS >
    the default."""
    flags = flags or {}
    values: dict[str, Any] = {}
    for option in OPTIONS:
        given = flags.get(option.name)
        if given is not None and given is not False:
            values[option.name] = given
            continue
        env_value = from_env(option, environ)
        if env_value is not None:
            values[option.name] = env_value
            continue
        if settings is not None:
            kept = stored(option, settings)
            if kept is not None:
                values[option.name] = kept
    return Options(values)


# ----------------------------------------------------------------------------- flags


def add_flags(parser: argparse.ArgumentParser, options: Iterable[Option[Any]] = OPTIONS) -> None:
    """Add a flag to PARSER for every option of OPTIONS that has one."""
    for option in options:
        if option.flag is None:
            continue
        # argparse formats help with %: a literal % (字体大小（%）) is doubled
        help_text = argparse.SUPPRESS if option.hidden else option.description.replace("%", "%%")
        if option.parse is _bool:
            parser.add_argument(
                option.flag, dest=option.name, action="store_true", default=None, help=help_text
            )
            continue
        parser.add_argument(
            option.flag,
            dest=option.name,
            type=_flag_type(option),
            default=None,
            metavar=option.metavar,
            choices=[c for c in option.choices if c is not None] or None,
            help=help_text,
        )


def _flag_type(option: Option[Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return option.convert(text)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    return convert


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given on the command line, by option name (unset flags left out)."""
    return {
        o.name: getattr(args, o.name)
        for o in OPTIONS
        if o.flag is not None and getattr(args, o.name, None) is not None
    }


# ----------------------------------------------------------------------------- versions

VERSION_KEY = "settings/version"
SETTINGS_VERSION = 2


def _upgrade_1_to_2(settings: SettingsStore) -> None:
    """Version 1 (unversioned, up to 2026-12): the idle lock at the top level, the camera and the
    scanner folder under `capture/`. Version 2 groups them with the other devices."""
    for old, new in (
        ("idle_lock_minutes", IDLE_LOCK_MINUTES.setting),
        ("capture/camera", CAMERA.setting),
        ("capture/hot_folder", HOT_FOLDER.setting),
    ):
        assert new is not None
        if settings.contains(old):
            if not settings.contains(new):
                settings.setValue(new, settings.value(old))
            settings.remove(old)


# version N → N+1
UPGRADES: dict[int, Callable[[SettingsStore], None]] = {1: _upgrade_1_to_2}


def settings_version(settings: SettingsStore) -> int:
    if not settings.contains(VERSION_KEY):
        # Stores written before versions existed are version 1; an empty one is new.
        return 1 if settings.allKeys() else SETTINGS_VERSION
    try:
        return int(str(settings.value(VERSION_KEY)).strip())
    except ValueError:
        log.warning("unreadable settings version; treating the store as version 1")
        return 1


def upgrade_settings(settings: SettingsStore) -> int:
    """Bring SETTINGS to SETTINGS_VERSION, one step at a time; returns the version found. A
    store from a newer client is left as it is (its unknown keys are ignored)."""
    found = version = settings_version(settings)
    while version < SETTINGS_VERSION:
        UPGRADES[version](settings)
        version += 1
        settings.setValue(VERSION_KEY, version)
    if not settings.contains(VERSION_KEY) and found <= SETTINGS_VERSION:
        settings.setValue(VERSION_KEY, SETTINGS_VERSION)
    if found != version or found == SETTINGS_VERSION:
        settings.sync()
    if found < SETTINGS_VERSION:
        log.info("station settings upgraded from version %d to %d", found, SETTINGS_VERSION)
    return found


def declared_keys() -> set[str]:
    """Every station settings key in use (the version key too)."""
    return {o.setting for o in OPTIONS if o.setting is not None} | {VERSION_KEY}
