"""What open_store and the CLI do with files that are not a healthy store of ours: an empty file
left by a failed copy, another program's database, a version stamp that lies (issue 12, 2-4)."""

import json
import logging
import sqlite3

import pytest

from app.cli import main
from local_db.engine import open_store
from local_db.errors import StoreError

pytestmark = pytest.mark.integration


def cli(capsys, *argv):
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_zero_byte_file_is_refused_not_turned_into_a_new_store(tmp_path, capsys):
    db = tmp_path / "z.sqlite3"
    db.write_bytes(b"")
    code, data = cli(capsys, "ledger", "--db", str(db))
    assert code == 1 and data["error"]["code"] == "store.empty_file"
    assert "空文件" in data["error"]["message"] and "z.sqlite3" in data["error"]["message"]
    assert db.stat().st_size == 0  # untouched: no new store, no new data key
    with pytest.raises(StoreError) as exc:
        open_store(db)  # the library default (the window's first run) refuses it too
    assert exc.value.code == "store.empty_file"


def test_creating_a_store_is_explicit_on_the_command_line(tmp_path, capsys):
    db = tmp_path / "typo.sqlite3"
    code, data = cli(capsys, "ledger", "--db", str(db))
    assert code == 1 and data["error"]["code"] == "store.missing" and not db.exists()
    code, data = cli(capsys, "ledger", "--db", str(db), "--create")
    assert code == 0 and data == []
    empty = tmp_path / "e.sqlite3"
    empty.write_bytes(b"")
    code, data = cli(capsys, "ledger", "--db", str(empty), "--create")
    assert code == 0 and data == [] and empty.stat().st_size > 0


def test_first_run_setup_creates_the_store(tmp_path, capsys):
    db = tmp_path / "new.sqlite3"
    code, data = cli(
        capsys,
        "setup",
        "--station-code",
        "XX01",
        "--station-name",
        "城关镇便民服务中心",
        "--centre-name",
        "新乡县政务服务中心",
        "--admin-password",
        "admin1234",
        "--db",
        str(db),
    )
    assert code == 0 and data["station"] == "XX01"


def _foreign(path, journal="delete"):
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA journal_mode={journal}")
    con.execute("create table customers (id integer primary key, name text)")
    con.execute("insert into customers (name) values ('x')")
    con.commit()
    con.close()


def test_another_programs_database_is_refused_without_being_changed(tmp_path, capsys):
    db = tmp_path / "crm.db"
    _foreign(db)
    before = db.read_bytes()
    code, data = cli(capsys, "ledger", "--db", str(db))
    assert code == 1 and data["error"]["code"] == "store.foreign_database"
    assert db.read_bytes() == before  # still in rollback-journal mode: header bytes 18-19 = 1
    assert before[18:20] == b"\x01\x01"
    assert not (tmp_path / "crm.db-wal").exists()


def test_file_with_our_tables_but_another_application_id_is_refused(tmp_path):
    db = tmp_path / "a.sqlite3"
    open_store(db).kw["bind"].dispose()
    con = sqlite3.connect(db)
    con.execute("PRAGMA application_id = 1234")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as exc:
        open_store(db)
    assert exc.value.code == "store.foreign_database"


def test_our_stores_carry_our_application_id(tmp_path):
    db = tmp_path / "a.sqlite3"
    open_store(db, create=True).kw["bind"].dispose()
    assert int.from_bytes(db.read_bytes()[68:72], "big") == 0x594A5331  # "YJS1"


def store_at(path, revision):
    """A store as an earlier release made it: migrated up to REVISION only."""
    from alembic import command

    from local_db.crypto import create_data_key, load_data_key
    from local_db.engine import _alembic_config, make_engine
    from local_db.keys import KeyringSecretStore

    engine = make_engine(path)
    with engine.connect() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        cfg.attributes["data_key_factory"] = lambda cur: create_data_key(cur, KeyringSecretStore())
        cfg.attributes["data_key_loader"] = lambda cur: load_data_key(cur, KeyringSecretStore())
        command.upgrade(cfg, revision)
        conn.commit()
    engine.dispose()


def test_store_made_before_the_stamp_is_recognised_and_stamped(tmp_path):
    db = tmp_path / "old.sqlite3"
    store_at(db, "0005")  # as the previous release made it: no application id
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0
    con.close()
    open_store(db).kw["bind"].dispose()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x594A5331
    con.close()


@pytest.mark.expect_log(logging.ERROR, "intake.store", r"^upgrade from \d+ failed: ")
def test_older_stamp_over_a_newer_schema_is_named(tmp_path, capsys):
    db = tmp_path / "a.sqlite3"
    open_store(db).kw["bind"].dispose()
    con = sqlite3.connect(db)  # 0005's columns are there, the stamp says 0004
    con.execute("update alembic_version set version_num='0004'")
    con.commit()
    con.close()
    code, data = cli(capsys, "ledger", "--db", str(db))
    assert code == 1 and data["error"]["code"] == "store.schema_mismatch"
    assert "0004" in data["error"]["message"] and "OperationalError" not in data["error"]["message"]
    con = sqlite3.connect(db)  # nothing half-written: the stamp is still the one it was
    assert con.execute("select version_num from alembic_version").fetchone()[0] == "0004"
    assert "items_accepted" in {r[1] for r in con.execute("pragma table_info(submissions)")}
    con.close()
