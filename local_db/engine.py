"""Opening the local SQLite store: pragmas for durability, migrations, and clear failures."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import DomainError, StoreError
from app.keys import SecretStore
from local_db.crypto import DataKey, create_data_key, ensure_wrapped, load_data_key

log = logging.getLogger("intake.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _alembic_config() -> Any:
    # alembic costs ~17 MB resident: imported only when a store needs upgrading.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def known_revisions() -> list[str]:
    """Our revisions, oldest first, read from the file names (`0004_….py` is revision "0004"),
    which a test keeps equal to alembic's own chain."""
    return sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def head_revision() -> str:
    return known_revisions()[-1]


def _current_revision(conn: Any) -> str | None:
    has_table = conn.exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='alembic_version'"
    ).scalar_one()
    if not has_table:
        return None
    value = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return str(value) if value is not None else None


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the ledger read while the counter writes; synchronous=FULL makes a commit durable
    # across power loss (NORMAL in WAL mode may lose the last transactions).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _on_begin(conn: Any) -> None:
    # pysqlite's own transaction handling is off (see make_engine). Write transactions (opened
    # with write_tx) begin IMMEDIATE so two writers serialise on BEGIN instead of failing on a
    # lock upgrade; reads begin DEFERRED and in WAL mode never wait on a writer.
    immediate = conn.get_execution_options().get("immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(path: Path | str) -> Engine:
    url = "sqlite+pysqlite:///" + str(path) if str(path) != ":memory:" else "sqlite+pysqlite://"
    engine = create_engine(url, connect_args={"isolation_level": None, "check_same_thread": False})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def _classify(exc: BaseException, path: Path) -> StoreError:
    text = str(exc).lower()
    if "not a database" in text or "file is encrypted" in text or "malformed" in text:
        return StoreError(
            "store.not_a_database",
            f"文件“{path.name}”不是本系统的数据库或已损坏，请确认路径或从备份恢复。",
            file=path.name,
        )
    if "readonly" in text or "read-only" in text:
        return StoreError("store.read_only", f"数据库“{path.name}”只读，无法保存。", file=path.name)
    if "disk is full" in text or "database or disk is full" in text:
        return StoreError("store.disk_full", "磁盘空间不足，未能保存。请清理磁盘后重试。")
    if "unable to open" in text:
        return StoreError(
            "store.unavailable", f"无法打开数据库“{path.name}”：目录不存在或无权限。", file=path.name
        )
    return StoreError("store.error", f"数据库错误：{exc.__class__.__name__}", file=path.name)


def open_store(path: Path | str, *, secrets: SecretStore | None = None, migrate: bool = True) -> sessionmaker[Session]:
    """Open (and create or upgrade) the database at PATH; returns a session factory.

    SECRETS holds the store's data key (default: the OS keyring); a new store gets a new key.
    Raises StoreError for a file that is not a database, a schema newer than this program, a
    location that cannot be written, or a data key that is missing or wrong (with what to do).
    """
    if secrets is None:
        from app.keys import KeyringSecretStore

        secrets = KeyringSecretStore()
    path = Path(path)
    if path.exists() and path.is_dir():
        raise StoreError("store.is_directory", f"“{path.name}”是目录，不是数据库文件。", file=path.name)
    if not path.parent.exists():
        raise StoreError(
            "store.unavailable", f"数据库所在目录“{path.parent}”不存在。", file=path.name
        )
    engine = make_engine(path)
    try:
        with engine.connect() as conn:
            current = _current_revision(conn)
            known, head = set(known_revisions()), head_revision()
            if current is not None and current not in known:
                raise StoreError(
                    "store.newer_schema",
                    "数据库来自更新版本的程序（结构版本未知），本程序不能打开。请升级程序。",
                    revision=current,
                )
            if current is None:
                # An existing non-empty database without our version table is not ours.
                tables = conn.exec_driver_sql(
                    "SELECT count(*) FROM sqlite_master WHERE type='table'"
                ).scalar_one()
                if tables:
                    raise StoreError(
                        "store.foreign_database",
                        f"“{path.name}”是其他程序的数据库，不能作为受理数据库使用。",
                        file=path.name,
                    )
            if migrate and current != head:
                from alembic import command

                from local_db.upgrade_backup import (
                    backup_before_upgrade,
                    restore_after_failed_upgrade,
                )

                # An existing store is copied (encrypted, verified) before it is changed.
                backup = (
                    backup_before_upgrade(path, secrets, current, head) if current else None
                )
                engine.dialect.yjs_upgrade_backup = backup  # type: ignore[attr-defined]
                cfg = _alembic_config()
                cfg.attributes["connection"] = conn
                cfg.attributes["data_key_factory"] = lambda cur: create_data_key(cur, secrets)
                try:
                    command.upgrade(cfg, "head")
                    conn.commit()
                except Exception as exc:
                    if backup is None:
                        raise
                    conn.rollback()
                    conn.close()
                    engine.dispose()
                    raise restore_after_failed_upgrade(path, backup, secrets, exc) from exc
                # Move the rewritten pages into the main file now: until a checkpoint, the file
                # still holds what 0004 encrypted.
                conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
                log.info("store migrated from %s to %s", current, head)
            if _current_revision(conn) == head:
                key = _data_key(conn, secrets)
                engine.dialect.yjs_data_key = key  # type: ignore[attr-defined]
    except DomainError:  # StoreError, or the keyring refusing the data key
        engine.dispose()
        raise
    except (DatabaseError, OperationalError, sqlite3.DatabaseError) as exc:
        engine.dispose()
        raise _classify(exc, path) from exc
    return sessionmaker(engine, expire_on_commit=False)


def _data_key(conn: Any, secrets: SecretStore) -> DataKey:
    dbapi = conn.connection.dbapi_connection
    key = load_data_key(dbapi, secrets)
    if ensure_wrapped(dbapi, key, secrets):  # inside the connection's open transaction
        conn.commit()
        log.info("data key wrapped again with this machine's backup key")
    return key


def upgrade_backup(sessions: sessionmaker[Session]) -> Path | None:
    """The backup open_store wrote before upgrading this store, if it upgraded one."""
    return getattr(sessions.kw["bind"].dialect, "yjs_upgrade_backup", None)


def store_key(sessions: sessionmaker[Session]) -> DataKey:
    """The data key of the store behind SESSIONS (see open_store)."""
    from local_db.crypto import dialect_key

    return dialect_key(sessions.kw["bind"].dialect)


def classify_error(exc: BaseException, path: Path | str = "intake.sqlite3") -> StoreError:
    return _classify(exc, Path(path))


class write_tx:  # noqa: N801 - used like a function: `with write_tx(sessions) as s:`
    """A write transaction; SQLite errors (disk full, locked, corrupt) become StoreError and the
    transaction is rolled back whole."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._cm: Any = None

    def __enter__(self) -> Session:
        self._cm = self._sessions.begin()
        session: Session = self._cm.__enter__()
        session.connection(execution_options={"immediate": True})
        return session

    def __exit__(self, et: Any, ev: Any, tb: Any) -> None:
        try:
            self._cm.__exit__(et, ev, tb)
        except (OperationalError, DatabaseError) as exc:
            raise classify_error(exc) from exc
        if isinstance(ev, (OperationalError, DatabaseError)):
            raise classify_error(ev) from ev
