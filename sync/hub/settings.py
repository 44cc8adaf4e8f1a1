"""The hub's configuration, declared once: every setting, its type, default and description.

Read (highest first) from the command line's non-secret flags, environment variables
`INTAKE_HUB_<NAME>`, and an optional TOML file (`--config PATH` or `INTAKE_HUB_CONFIG`). Secrets
(the database URL when it carries a password, keys, storage credentials) come only from the file
or the environment — systemd's EnvironmentFile, compose's env_file — never from a flag, where
`ps` and shell history would show them. deploy/ and tests/integration/test_deploy_files.py check
the deployment files against this schema.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

from local_db.errors import DomainError

ENV_PREFIX = "INTAKE_HUB_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"


class SettingsError(DomainError):
    """The hub's configuration is missing, malformed, or puts a secret where it must not be."""


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, toml_file=None
    )

    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8700, ge=0, le=65535, description="port to listen on (0: any free one)")
    db: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL of the hub database (secret when it carries a password); "
        "default sqlite:///<data dir>/hub.sqlite3, a county uses postgresql+psycopg://…",
        json_schema_extra={"secret": True},
    )
    blobs: Path | None = Field(
        None,
        description="directory of pages for the local blob store (default <data dir>/hub-blobs)",
    )
    workers: int = Field(
        1, ge=1, le=64, description="processes sharing this port (forked; one database pool each)"
    )
    hub_id: str = Field("hub", max_length=32, description="this process's name in logs and metrics")
    access_log: bool = Field(True, description="one JSON line per request on stderr")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info")
    metrics: bool = Field(True, description="serve /metrics (Prometheus text format)")
    db_pool_size: int = Field(10, ge=1, le=200, description="database connections per process")
    # Encryption at rest (sync/hub/crypto.py): master keys wrap the per-county data keys.
    master_keys: SecretStr | None = Field(
        None,
        description='master keys "id:base64key;id2:base64key", newest last',
        json_schema_extra={"secret": True},
    )
    master_key_file: Path | None = Field(
        None,
        description="file of master keys, one 'id base64key' a line, newest last "
        "(default <data dir>/hub-master.keys, made on first start)",
    )
    # The online channel (sync/hub/routes/online.py): the 一体化政务服务平台's credential.
    platform_token: SecretStr | None = Field(
        None,
        min_length=24,
        description="token the online platform sends (Bearer) to submit applications and read "
        "answers; unset: the online channel is closed",
        json_schema_extra={"secret": True},
    )
    # Pages in S3-compatible storage (sync/hub/s3.py) when a bucket is named; else `blobs`.
    s3_endpoint: str | None = Field(None, description="e.g. http://127.0.0.1:9000 (MinIO)")
    s3_bucket: str | None = Field(None, description="bucket of the pages; unset: local directory")
    s3_prefix: str = Field("pages/", description="key prefix of the pages in the bucket")
    s3_region: str = Field("us-east-1")
    s3_access_key: SecretStr | None = Field(None, json_schema_extra={"secret": True})
    s3_secret_key: SecretStr | None = Field(None, json_schema_extra={"secret": True})
    # Notices to applicants (sync/hub/notify): "log" only logs (tests, demonstrations), "sms"
    # sends through the county's gateway, "off" keeps them queued unsent.
    notify_provider: Literal["log", "sms", "off"] = Field(
        "log", description="how notices to applicants (短信告知) go out"
    )
    notify_interval: float = Field(
        30.0,
        gt=0,
        le=300,
        description="seconds between backstop polls of the outbox (a notice this process queues "
        "wakes its sender at once; the poll finds what others queued without a sender)",
    )
    notify_backoff: float = Field(30.0, gt=0, description="first retry delay of a failed notice")
    notify_backoff_max: float = Field(3600.0, gt=0, description="longest retry delay")
    notify_max_attempts: int = Field(
        20, ge=1, le=1000, description="attempts before a notice is marked failed (kept, listed)"
    )
    sms_url: str | None = Field(None, description="the SMS gateway's send URL (https://…)")
    sms_key_id: str = Field("", max_length=64, description="key id the gateway issued")
    sms_secret: SecretStr | None = Field(
        None, description="signing secret of the gateway", json_schema_extra={"secret": True}
    )
    sms_secret_file: Path | None = Field(None, description="file holding the signing secret")
    sms_templates: dict[str, str] = Field(
        default_factory=dict,
        description='template id per kind, e.g. {"accepted": "SMS_1", "rejected": "SMS_2", '
        '"completed": "SMS_3", "collected": "SMS_4"}',
    )
    sms_sign_name: str = Field("", max_length=32, description="短信签名 registered for the county")
    sms_timeout: float = Field(10.0, gt=0, le=60, description="seconds to wait for the gateway")

    @field_validator("db", mode="before")
    @classmethod
    def _url(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        try:
            make_url(raw)
        except Exception as exc:
            raise ValueError("not a database URL") from exc
        return raw

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @classmethod
    def secret_fields(cls) -> set[str]:
        return {
            name
            for name, f in cls.model_fields.items()
            if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("secret")
        }

    @classmethod
    def env_names(cls) -> set[str]:
        return {ENV_PREFIX + name.upper() for name in cls.model_fields} | {CONFIG_ENV}

    def component_env(self) -> dict[str, str]:
        """These settings as the INTAKE_HUB_* mapping the crypto and S3 modules read, so a value
        from the TOML file reaches them as one from the environment does."""
        out = {}
        for name in (
            "master_keys",
            "master_key_file",
            *(n for n in type(self).model_fields if n.startswith("s3_")),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            out[ENV_PREFIX + name.upper()] = str(value)
        return out

    def sms_secret_value(self) -> str:
        """The gateway's signing secret, from the setting or its file."""
        if self.sms_secret is not None:
            return self.sms_secret.get_secret_value()
        if self.sms_secret_file is not None:
            try:
                return self.sms_secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError("hub.sms_secret_file", path=self.sms_secret_file) from exc
        return ""

    def platform_token_value(self) -> str | None:
        return self.platform_token.get_secret_value() if self.platform_token else None

    def db_url(self) -> str | None:
        return self.db.get_secret_value() if self.db is not None else None


def load(config: Path | str | None = None, **flags: Any) -> HubSettings:
    """The settings from FLAGS (None: not given), the environment and the TOML file CONFIG (or
    $INTAKE_HUB_CONFIG). A bad value or file is a SettingsError with a Chinese message."""
    given = {k: v for k, v in flags.items() if v is not None}
    for name in given.keys() & HubSettings.secret_fields():
        check_not_secret_flag(name, given[name])
    path = config or os.environ.get(CONFIG_ENV) or None
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise SettingsError("hub.config_missing", path=path)
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError("hub.config_malformed", path=path, exc=exc) from exc

    class _Loaded(HubSettings):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        return _Loaded(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "?"
        if first["type"] == "extra_forbidden":
            raise SettingsError("hub.config_unknown", field=where) from exc
        raise SettingsError(
            "hub.config_invalid", field=where, ENV_PREFIX=ENV_PREFIX, where_upper=where.upper()
        ) from exc


def check_not_secret_flag(name: str, value: Any) -> None:
    """Refuse a secret given as a command-line flag. A database URL without a password (SQLite, a
    PostgreSQL peer login) is no secret and may be given as --db."""
    if name == "db":
        try:
            if make_url(str(value)).password is None:
                return
        except Exception:
            return  # not a URL at all: the schema check says so
    env = ENV_PREFIX + name.upper()
    raise SettingsError("hub.secret_on_command_line", field=name, env=env)
