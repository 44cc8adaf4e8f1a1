"""Opening the local SQLite store: pragmas for durability, migrations, and clear failures."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from local_db.crypto import DataKey, create_data_key, ensure_wrapped, load_data_key
from local_db.errors import DomainError, StoreError
from local_db.keys import SecretStore

log = logging.getLogger("intake.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# PRAGMA application_id of our stores ("YJS1"), stamped by migration 0007: a file is recognised
# as ours by its header before anything in it is changed.
APPLICATION_ID = 0x594A5331
SQLITE_MAGIC = b"SQLite format 3\x00"
# Tables every store of ours has had since 0001: an unstamped file (made before 0007) counts as
# ours only when it has them and an alembic revision of our numbering.
_OUR_TABLES = {"settings", "submissions", "events", "audit_entries"}
_OUR_REVISION = re.compile(r"^\d{4}(_|$)")


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


@dataclass
class FileFacts:
    """What a read-only look at a database file found (nothing in it was changed)."""

    exists: bool
    size: int = 0
    sqlite: bool = False
    application_id: int = 0
    tables: set[str] = field(default_factory=set)
    revision: str | None = None
    error: BaseException | None = None

    @property
    def blank(self) -> bool:
        """No bytes at all, or an SQLite file without a single table: holds nothing."""
        return self.exists and (
            self.size == 0 or (self.sqlite and not self.tables and not self.application_id)
        )


def inspect_file(path: Path) -> FileFacts:
    """Header, application id, tables and alembic revision of PATH, read without writing: no
    journal-mode switch, no -wal file left behind on someone else's database."""
    if not path.exists():
        return FileFacts(exists=False)
    size = path.stat().st_size
    facts = FileFacts(exists=True, size=size)
    if size == 0:
        return facts
    with path.open("rb") as f:
        # A file cut inside the 100-byte header is damaged, not an empty database.
        facts.sqlite = f.read(16) == SQLITE_MAGIC and size >= 100
    if not facts.sqlite:
        return facts
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            facts.application_id = con.execute("PRAGMA application_id").fetchone()[0]
            facts.tables = {
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if "alembic_version" in facts.tables:
                row = con.execute("SELECT version_num FROM alembic_version").fetchone()
                facts.revision = str(row[0]) if row and row[0] is not None else None
        finally:
            con.close()
    except sqlite3.Error as exc:
        facts.error = exc
    return facts


def _refuse_unless_ours(path: Path, facts: FileFacts) -> None:
    """StoreError for a file that is not one of our stores, decided from FACTS alone."""
    if not facts.sqlite:
        raise StoreError("store.not_a_database", variant=2, file=path.name)
    if facts.error is not None:
        raise _classify(facts.error, path)
    foreign = StoreError("store.foreign_database", file=path.name)
    if facts.application_id not in (0, APPLICATION_ID):
        raise foreign
    # application_id 0: made before 0007 stamped stores, or not ours at all
    if facts.application_id == 0 and (
        facts.revision is None
        or not _OUR_REVISION.match(facts.revision)
        or not facts.tables >= _OUR_TABLES
    ):
        raise foreign


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
        return StoreError("store.not_a_database", variant=2, file=path.name)
    if "readonly" in text or "read-only" in text:
        return StoreError("store.read_only", file=path.name)
    if "disk is full" in text or "database or disk is full" in text:
        return StoreError("store.disk_full", variant=2)
    if "unable to open" in text:
        return StoreError("store.unavailable", file=path.name)
    return StoreError("store.error", file=path.name, error_type=exc.__class__.__name__)


class UpgradeGuard(Protocol):
    """Keeps a copy of a store before alembic upgrades it and puts it back after a failure
    (app/upgrade_backup.py: an encrypted, verified backup beside the store)."""

    def before(self, db: Path, from_revision: str, to_revision: str) -> Path:
        """Write the copy; StoreError (nothing upgraded) when it cannot be written."""
        ...

    def restore(self, db: Path, backup: Path, cause: BaseException) -> StoreError:
        """Put DB back from BACKUP (the engine is disposed); the error to raise."""
        ...


def open_store(
    path: Path | str,
    *,
    secrets: SecretStore | None = None,
    migrate: bool = True,
    create: bool | None = None,
    upgrade_guard: UpgradeGuard | None = None,
) -> sessionmaker[Session]:
    """Open (and create or upgrade) the database at PATH; returns a session factory.

    SECRETS holds the store's data key (default: the OS keyring); a new store gets a new key.
    CREATE: True = make a new store at PATH even over an empty (0-byte) file; None = make one
    only where no file exists; False = never make one (the command line without --create).
    UPGRADE_GUARD copies an existing store before it is upgraded and restores it after a failed
    upgrade (the app's context always passes one; None: no copy).
    The file is inspected read-only first: nothing is changed in a file that is not ours.
    Raises StoreError for a file that is not a database, is empty, belongs to another program,
    has a schema newer than this program or not matching its version, a location that cannot be
    written, or a data key that is missing or wrong (with what to do).
    """
    if secrets is None:
        from local_db.keys import KeyringSecretStore

        secrets = KeyringSecretStore()
    path = Path(path)
    _refuse_file(path, create)
    engine = make_engine(path)
    try:
        with engine.connect() as conn:
            current = _current_revision(conn)
            head = head_revision()
            if migrate and current != head:
                _upgrade(engine, conn, path, secrets, current, head, upgrade_guard)
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


def _refuse_file(path: Path, create: bool | None) -> None:
    """StoreError for a location or file open_store must not use (read-only checks)."""
    if path.exists() and path.is_dir():
        raise StoreError("store.is_directory", file=path.name)
    if not path.parent.exists():
        raise StoreError("store.unavailable", variant=2, file=path.name, path_parent=path.parent)
    facts = inspect_file(path)
    if not facts.exists and create is False:
        raise StoreError("store.missing", file=path.name)
    if facts.exists and facts.size == 0 and create is not True:
        raise StoreError("store.empty_file", file=path.name)
    if facts.exists and facts.size and facts.blank and create is False:
        raise StoreError("store.empty_file", variant=2, file=path.name)
    if facts.exists and not facts.blank:
        _refuse_unless_ours(path, facts)
        if facts.revision is not None and facts.revision not in set(known_revisions()):
            raise StoreError("store.newer_schema", revision=facts.revision)


def _upgrade(
    engine: Engine,
    conn: Any,
    path: Path,
    secrets: SecretStore,
    current: str | None,
    head: str,
    guard: UpgradeGuard | None,
) -> None:
    from alembic import command

    # An existing store is copied (encrypted, verified) before it is changed.
    backup = guard.before(path, current, head) if current and guard else None
    engine.dialect.yjs_upgrade_backup = backup  # type: ignore[attr-defined]
    cfg = _alembic_config()
    cfg.attributes["connection"] = conn
    cfg.attributes["data_key_factory"] = lambda cur: create_data_key(cur, secrets)
    cfg.attributes["data_key_loader"] = lambda cur: load_data_key(cur, secrets)
    try:
        command.upgrade(cfg, "head")
        conn.commit()
    except Exception as exc:
        conn.rollback()
        text = str(exc).lower()
        mismatch = (
            isinstance(exc, (DatabaseError, OperationalError, sqlite3.DatabaseError))
            and current is not None
            and "disk" not in text
            and "readonly" not in text
        )
        if mismatch and current is not None:  # rolled back: the file is as it was, no backup needed
            raise _schema_mismatch(path, current, exc) from exc
        if backup is None or guard is None:
            raise
        conn.close()
        engine.dispose()
        raise guard.restore(path, backup, exc) from exc
    # Move the rewritten pages into the main file now: until a checkpoint, the file
    # still holds what 0004 encrypted.
    conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    log.info("store migrated from %s to %s", current, head)


def _schema_mismatch(path: Path, revision: str, exc: BaseException) -> StoreError:
    log.error("upgrade from %s failed: %s", revision, exc.__class__.__name__)
    return StoreError("store.schema_mismatch", file=path.name, revision=revision)


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


class write_tx:
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
