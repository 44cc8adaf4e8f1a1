import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from local_db.attachments import AttachmentStore
from local_db.crypto import DataKey
from local_db.engine import _alembic_config, head_revision, known_revisions, open_store
from local_db.errors import StoreError

pytestmark = pytest.mark.integration


def test_migrations_from_empty_database(tmp_path):
    sessions = open_store(tmp_path / "a.db")
    with sessions() as s:
        assert (
            s.execute(text("select version_num from alembic_version")).scalar_one()
            == head_revision()
        )
        tables = {
            r[0] for r in s.execute(text("select name from sqlite_master where type='table'"))
        }
    assert {
        "submissions",
        "events",
        "applicants",
        "staff",
        "stations",
        "material_marks",
        "attachments",
        "audit_entries",
        "counters",
        "answers",
        "submission_items",
        "documents",
    } <= tables


def test_revision_list_read_from_file_names_is_alembics_chain():
    # open_store reads the revisions from the file names so that alembic is imported only to
    # upgrade; the two must agree.
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    chain = [rev.revision for rev in script.walk_revisions()][::-1]
    assert known_revisions() == chain
    assert head_revision() == script.get_current_head()


def test_opening_a_current_store_does_not_import_alembic(tmp_path):
    import subprocess
    import sys

    open_store(tmp_path / "a.db")
    code = (
        "import sys; from local_db.engine import open_store; "
        f"open_store({str(tmp_path / 'a.db')!r}); "  # the test keyring, inherited
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_pragmas_durable_wal_and_foreign_keys(tmp_path):
    sessions = open_store(tmp_path / "a.db")
    with sessions() as s:
        assert s.execute(text("pragma journal_mode")).scalar_one() == "wal"
        assert s.execute(text("pragma foreign_keys")).scalar_one() == 1
        assert s.execute(text("pragma synchronous")).scalar_one() == 2  # FULL


def test_reopening_is_idempotent(tmp_path):
    open_store(tmp_path / "a.db")
    sessions = open_store(tmp_path / "a.db")
    with sessions() as s:
        assert s.execute(text("select count(*) from alembic_version")).scalar_one() == 1


def test_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"this is a text file, not sqlite" * 200)
    with pytest.raises(StoreError) as exc:
        open_store(bad)
    assert exc.value.code == "store.not_a_database" and "notes.db" in exc.value.message


def test_database_from_a_newer_schema(tmp_path):
    path = tmp_path / "a.db"
    open_store(path)
    con = sqlite3.connect(path)
    con.execute("update alembic_version set version_num='9999_future'")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as exc:
        open_store(path)
    assert exc.value.code == "store.newer_schema" and "更新版本" in exc.value.message


def test_someone_elses_database(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("create table customers (id integer)")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as exc:
        open_store(path)
    assert exc.value.code == "store.foreign_database"


def test_missing_directory(tmp_path):
    with pytest.raises(StoreError) as exc:
        open_store(tmp_path / "nope" / "a.db")
    assert exc.value.code == "store.unavailable"


def test_attachment_store_content_addressed_and_atomic(tmp_path):
    store = AttachmentStore(tmp_path / "blobs", DataKey(os.urandom(32)))
    sha = store.put(b"page one")
    assert store.put(b"page one") == sha and store.get(sha) == b"page one"
    assert not list((tmp_path / "blobs").rglob(".tmp-*"))
    store.path(sha).write_bytes(b"tampered")
    with pytest.raises(StoreError) as exc:
        store.get(sha)
    assert exc.value.code == "store.attachment_corrupt"
