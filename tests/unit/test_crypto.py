"""Field and file encryption, blind indexes and the data key's keeping (local_db.crypto).

Pinned values come from outside the code under test: the derived keys and HMACs were computed with
the OpenSSL command line (`openssl kdf … HKDF`, `openssl dgst -mac HMAC`) for the master key
0x11 × 32; ciphertexts are built here with the `cryptography` AES-GCM primitive in the format the
module documents (version/magic byte(s) · 12-byte nonce · ciphertext and tag)."""

import base64
import datetime as dt
import sqlite3

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from local_db.crypto import (
    BACKUP_KEY_NAME,
    DataKey,
    EncryptedDate,
    EncryptedText,
    applicant_index,
    create_data_key,
    dialect_key,
    ensure_wrapped,
    key_name,
    load_data_key,
    recover_data_key,
    unwrap,
    wrap,
)
from local_db.errors import StoreError
from local_db.keys import MemorySecretStore, SecretKeyError

MASTER = bytes([0x11]) * 32
# openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:1111…11 -kdfopt info:"<info>" HKDF
FIELDS_KEY = bytes.fromhex("e597d03f12031dfb6fecbe321965a2bd356d58cd24f267e794c1857ae7210ea9")
BLOBS_KEY = bytes.fromhex("7e3491e2dcf6334e20796875fbf3a73981c31e20d4f1d337480e080011d46758")
# openssl dgst -sha256 -mac HMAC with the derived keys (and the master for the check value)
BIDX_ID = bytes.fromhex("5f2e36f34385d1b9e44278555a433145")  # resident_id \0 11010519491231002X
BLOB_NAME_AB = "531260b1411374cb210519c219e86c2e794e08bed378b368f8bbb9622bbf070e"  # "ab" × 32
CHECK = "9ed402cbda729d733a2c0e5549229952"  # "yjs data key check v1"
NONCE = bytes(range(12))


def _code(exc_info):
    return exc_info.value.code


# ----------------------------------------------------------------------------- derived values


def test_derived_values_are_the_ones_openssl_computes():
    key = DataKey(MASTER)
    assert key.check == CHECK
    assert key.blind("resident_id", "11010519491231002X") == BIDX_ID
    assert key.blob_name("ab" * 32) == BLOB_NAME_AB


def test_a_data_key_is_32_bytes():
    with pytest.raises(ValueError, match=r"^data key must be 32 bytes$"):
        DataKey(MASTER[:31])
    with pytest.raises(ValueError, match=r"^data key must be 32 bytes$"):
        DataKey(MASTER + b"\x11")


def test_blind_index_separates_kinds_and_keys():
    key = DataKey(MASTER)
    assert len(key.blind("name", "张三")) == 16
    assert key.blind("name", "张三") == key.blind("name", "张三")
    assert key.blind("name", "张三") != key.blind("phone", "张三")
    assert key.blind("name", "张三") != DataKey(bytes(32)).blind("name", "张三")


def test_applicant_index_normalises_name_and_id_number():
    key = DataKey(MASTER)
    idx = applicant_index(
        key, name=" 张 三 ", resident_id="11010519491231002x", phone="13800000000"
    )
    assert idx["resident_id_bidx"] == BIDX_ID  # lower-case x is the same number
    assert idx["name_bidx"] == key.blind("name", "张三")
    assert idx["phone_bidx"] == key.blind("phone", "13800000000")
    assert applicant_index(key, name=" ", resident_id=None, phone="") == {
        "name_bidx": None,
        "resident_id_bidx": None,
        "phone_bidx": None,
    }


# ----------------------------------------------------------------------------- fields


def test_a_field_made_outside_decrypts_under_its_column_only():
    key = DataKey(MASTER)
    blob = b"\x01" + NONCE + AESGCM(FIELDS_KEY).encrypt(NONCE, "张三".encode(), b"applicants.name")
    assert key.decrypt_text(blob, b"applicants.name") == "张三"
    # the column name is the associated data: the same bytes under another column do not open
    with pytest.raises(StoreError) as exc:
        key.decrypt_text(blob, b"applicants.phone")
    assert _code(exc) == "store.decrypt_failed"


def test_a_field_encrypted_here_carries_its_column_as_associated_data():
    key = DataKey(MASTER)
    blob = key.encrypt_text("11010519491231002X", b"applicants.resident_id")
    assert blob[:1] == b"\x01" and len(blob) == 1 + 12 + 18 + 16
    plain = AESGCM(FIELDS_KEY).decrypt(blob[1:13], blob[13:], b"applicants.resident_id")
    assert plain == b"11010519491231002X"
    with pytest.raises(StoreError):
        key.decrypt_text(blob, b"applicants.address")
    assert key.encrypt_text("x", b"p")[1:13] != key.encrypt_text("x", b"p")[1:13]  # fresh nonce


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x02" + NONCE + bytes(16),  # unknown version
        b"\x01" + NONCE + bytes(15),  # shorter than a tag
        "not bytes",
    ],
)
def test_malformed_fields_are_refused_with_the_store_error(blob):
    with pytest.raises(StoreError) as exc:
        DataKey(MASTER).decrypt_text(blob, b"applicants.name")
    assert _code(exc) == "store.decrypt_failed"


def test_an_empty_text_still_opens():
    key = DataKey(MASTER)
    blob = b"\x01" + NONCE + AESGCM(FIELDS_KEY).encrypt(NONCE, b"", b"p")
    assert len(blob) == 29 and key.decrypt_text(blob, b"p") == ""


@pytest.fixture
def table_db(tmp_path):
    """A real SQLite file with two encrypted columns and a date, the key on the dialect."""
    engine = create_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    engine.dialect.yjs_data_key = DataKey(MASTER)
    meta = MetaData()
    people = Table(
        "people",
        meta,
        Column("id", Integer, primary_key=True),
        Column("name", EncryptedText("people.name")),
        Column("phone", EncryptedText("people.phone")),
        Column("born", EncryptedDate("people.born")),
    )
    meta.create_all(engine)
    yield engine, people
    engine.dispose()


def test_encrypted_columns_round_trip_and_store_ciphertext(table_db):
    engine, people = table_db
    with engine.begin() as con:
        con.execute(
            insert(people), {"id": 1, "name": "张三", "phone": None, "born": dt.date(1949, 12, 31)}
        )
    with engine.connect() as con:
        row = con.execute(select(people)).one()
        raw = con.execute(text("SELECT name, phone, born FROM people")).one()
    assert (row.name, row.phone, row.born) == ("张三", None, dt.date(1949, 12, 31))
    assert raw.phone is None and "张三".encode() not in raw.name and b"1949" not in raw.born
    assert AESGCM(FIELDS_KEY).decrypt(raw.born[1:13], raw.born[13:], b"people.born") == (
        b"1949-12-31"
    )


def test_a_ciphertext_moved_to_another_column_does_not_decrypt(table_db):
    engine, people = table_db
    with engine.begin() as con:
        con.execute(insert(people), {"id": 1, "name": "张三", "phone": "13800000000"})
        con.execute(text("UPDATE people SET phone = name"))  # what an intruder with the file does
    with engine.connect() as con, pytest.raises(StoreError) as exc:
        con.execute(select(people.c.phone)).one()
    assert _code(exc) == "store.decrypt_failed"


def test_no_key_on_the_store_is_named():
    class Dialect:
        pass

    with pytest.raises(StoreError) as exc:
        dialect_key(Dialect())
    assert _code(exc) == "keys.data_key_missing"


# ----------------------------------------------------------------------------- blobs


def test_a_blob_opens_under_its_own_hash_only():
    key = DataKey(MASTER)
    sha = "ab" * 32
    blob = b"YJB1" + NONCE + AESGCM(BLOBS_KEY).encrypt(NONCE, b"page", sha.encode())
    assert key.decrypt_blob(blob, sha) == b"page"
    with pytest.raises(StoreError) as exc:
        key.decrypt_blob(blob, "cd" * 32)  # a page file put in another page's place
    assert _code(exc) == "store.decrypt_failed"
    mine = key.encrypt_blob(b"page", sha)
    assert mine[:4] == b"YJB1"
    assert AESGCM(BLOBS_KEY).decrypt(mine[4:16], mine[16:], sha.encode()) == b"page"


@pytest.mark.parametrize("blob", [b"YJB2" + NONCE + bytes(16), b"YJB1" + NONCE + bytes(15)])
def test_malformed_blobs_are_refused(blob):
    with pytest.raises(StoreError) as exc:
        DataKey(MASTER).decrypt_blob(blob, "ab" * 32)
    assert _code(exc) == "store.decrypt_failed"


def test_an_empty_blob_still_opens():
    blob = b"YJB1" + NONCE + AESGCM(BLOBS_KEY).encrypt(NONCE, b"", b"s")
    assert len(blob) == 32 and DataKey(MASTER).decrypt_blob(blob, "s") == b""


# ----------------------------------------------------------------------------- the key's keeping

BACKUP = bytes([0x22]) * 32


def _settings_db(path=":memory:"):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)")
    return con


def test_the_wrap_is_bound_to_its_store():
    wrapped = wrap(MASTER, BACKUP, "store-a")
    raw = base64.b64decode(wrapped)
    assert AESGCM(BACKUP).decrypt(raw[:12], raw[12:], b"store-a") == MASTER
    assert unwrap(wrapped, BACKUP, "store-a") == MASTER
    with pytest.raises(SecretKeyError) as exc:
        unwrap(wrapped, BACKUP, "store-b")
    assert _code(exc) == "keys.recovery_mismatch"
    with pytest.raises(SecretKeyError) as exc:
        unwrap(wrapped, bytes(32), "store-a")
    assert _code(exc) == "keys.recovery_mismatch"
    with pytest.raises(SecretKeyError) as exc:
        unwrap(base64.b64encode(raw[:27]).decode(), BACKUP, "store-a")
    assert _code(exc) == "keys.recovery_mismatch"


def test_a_new_store_key_goes_to_the_keyring_and_its_wrap_to_the_database():
    secrets = MemorySecretStore({BACKUP_KEY_NAME: base64.b64encode(BACKUP).decode()})
    con = _settings_db()
    key = create_data_key(con, secrets)
    rows = dict(con.execute("SELECT key, value FROM settings").fetchall())
    store_id = rows["store.id"]
    master = base64.b64decode(secrets.get(key_name(store_id)))
    assert key_name(store_id) == f"data-key:{store_id}"
    assert len(master) == 32 and DataKey(master).check == key.check == rows["store.key_check"]
    assert unwrap(rows["store.key_wrapped"], BACKUP, store_id) == master
    loaded = load_data_key(con, secrets)
    assert loaded.check == key.check


def test_loading_names_each_missing_or_wrong_key():
    secrets = MemorySecretStore()
    con = _settings_db()
    with pytest.raises(StoreError) as exc:
        load_data_key(con, secrets)
    assert _code(exc) == "keys.store_without_key"
    create_data_key(con, secrets)
    store_id = con.execute("SELECT value FROM settings WHERE key='store.id'").fetchone()[0]
    secrets.values.pop(key_name(store_id))
    with pytest.raises(StoreError) as exc:
        load_data_key(con, secrets)
    assert _code(exc) == "keys.data_key_missing"
    secrets.set(key_name(store_id), base64.b64encode(MASTER).decode())
    with pytest.raises(StoreError) as exc:
        load_data_key(con, secrets)
    assert _code(exc) == "keys.data_key_wrong"


def test_the_wrap_follows_a_new_backup_key():
    secrets = MemorySecretStore({BACKUP_KEY_NAME: base64.b64encode(BACKUP).decode()})
    con = _settings_db()
    key = create_data_key(con, secrets)
    assert ensure_wrapped(con, key, secrets) is False
    new_backup = bytes([0x33]) * 32
    secrets.set(BACKUP_KEY_NAME, base64.b64encode(new_backup).decode())
    assert ensure_wrapped(con, key, secrets) is True
    rows = dict(con.execute("SELECT key, value FROM settings").fetchall())
    assert unwrap(rows["store.key_wrapped"], new_backup, rows["store.id"]) == base64.b64decode(
        secrets.get(key_name(rows["store.id"]))
    )
    assert ensure_wrapped(con, key, secrets) is False


def test_recovery_puts_the_data_key_and_the_backup_key_into_a_new_keyring(tmp_path):
    path = tmp_path / "s.sqlite3"
    con = _settings_db(str(path))
    old = MemorySecretStore({BACKUP_KEY_NAME: base64.b64encode(BACKUP).decode()})
    key = create_data_key(con, old)
    con.commit()
    con.close()
    fresh = MemorySecretStore()
    store_id = recover_data_key(path, BACKUP, fresh)
    assert DataKey(base64.b64decode(fresh.get(key_name(store_id)))).check == key.check
    assert base64.b64decode(fresh.get(BACKUP_KEY_NAME)) == BACKUP
    with pytest.raises(SecretKeyError) as exc:
        recover_data_key(path, bytes(32), MemorySecretStore())
    assert _code(exc) == "keys.recovery_mismatch"


def test_recovery_refuses_a_file_that_is_not_a_store(tmp_path):
    bad = tmp_path / "x.sqlite3"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError) as exc:
        recover_data_key(bad, BACKUP, MemorySecretStore())
    assert _code(exc) == "store.not_a_database"
    empty = tmp_path / "e.sqlite3"
    _settings_db(str(empty)).close()
    with pytest.raises(StoreError) as exc:
        recover_data_key(empty, BACKUP, MemorySecretStore())
    assert _code(exc) == "keys.store_without_key"


HINT = (
    "请管理员在本机运行 intake keys recover 并输入备份恢复码（即 intake backup recovery-code "
    "当初显示、由管理员抄存的那一串），或用恢复码从备份恢复。"
)


def test_decrypt_failures_tell_the_clerk_what_to_do():
    with pytest.raises(StoreError) as exc:
        DataKey(MASTER).decrypt_text(b"\x01" + NONCE + bytes(20), b"p")
    assert exc.value.message == "数据无法解密：本机密钥不对，或数据已被改动。" + HINT
    assert exc.value.details == {"part": "field"}
    with pytest.raises(StoreError) as exc:
        DataKey(MASTER).decrypt_blob(b"YJB1" + NONCE + bytes(20), "s")
    assert exc.value.message == "页面文件无法解密：本机密钥不对，或数据已被改动。" + HINT


def test_key_messages_word_for_word():
    secrets = MemorySecretStore()
    con = _settings_db()
    with pytest.raises(StoreError) as exc:
        load_data_key(con, secrets)
    assert exc.value.message == "数据库缺少数据密钥记录，可能已被改动。请从备份恢复。"
    create_data_key(con, secrets)
    store_id = con.execute("SELECT value FROM settings WHERE key='store.id'").fetchone()[0]
    secrets.values.pop(key_name(store_id))
    with pytest.raises(StoreError) as exc:
        load_data_key(con, secrets)
    assert exc.value.message == (
        "本机密钥环中没有这个数据库的数据密钥（换了电脑、重装系统或密钥环被清空）。" + HINT
    )
    secrets.set(key_name(store_id), base64.b64encode(MASTER).decode())
    with pytest.raises(StoreError) as exc:
        load_data_key(con, secrets)
    assert exc.value.message == "本机密钥环中的数据密钥与这个数据库不匹配。" + HINT

    class Dialect:
        pass

    with pytest.raises(StoreError) as exc:
        dialect_key(Dialect())
    assert exc.value.message == "数据库未加载数据密钥，无法读写个人信息。" + HINT


@pytest.mark.parametrize("garbled", ["", "!!!not base64!!!", base64.b64encode(b"short").decode()])
def test_a_missing_or_garbled_wrap_is_written_again(garbled):
    secrets = MemorySecretStore({BACKUP_KEY_NAME: base64.b64encode(BACKUP).decode()})
    con = _settings_db()
    key = create_data_key(con, secrets)
    con.execute("UPDATE settings SET value=? WHERE key='store.key_wrapped'", (garbled,))
    assert ensure_wrapped(con, key, secrets) is True
    rows = dict(con.execute("SELECT key, value FROM settings").fetchall())
    assert unwrap(rows["store.key_wrapped"], BACKUP, rows["store.id"]) == base64.b64decode(
        secrets.get(key_name(rows["store.id"]))
    )


def test_recovery_keeps_a_backup_key_already_there_and_checks_the_database(tmp_path):
    path = tmp_path / "s.sqlite3"
    con = _settings_db(str(path))
    create_data_key(con, MemorySecretStore({BACKUP_KEY_NAME: base64.b64encode(BACKUP).decode()}))
    con.commit()
    other = base64.b64encode(bytes([0x44]) * 32).decode()
    fresh = MemorySecretStore({BACKUP_KEY_NAME: other})
    recover_data_key(path, BACKUP, fresh)
    assert fresh.get(BACKUP_KEY_NAME) == other
    con.execute("UPDATE settings SET value='0' WHERE key='store.key_check'")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as exc:
        recover_data_key(path, BACKUP, MemorySecretStore())
    assert exc.value.code == "keys.data_key_wrong"
    assert exc.value.message == "恢复出的密钥与数据库的校验值不符，数据库可能已被改动。"


def test_recovery_messages(tmp_path):
    bad = tmp_path / "x.sqlite3"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError) as exc:
        recover_data_key(bad, BACKUP, MemorySecretStore())
    assert exc.value.message == "文件不是本系统的数据库或已损坏。"
    empty = tmp_path / "e.sqlite3"
    _settings_db(str(empty)).close()
    with pytest.raises(StoreError) as exc:
        recover_data_key(empty, BACKUP, MemorySecretStore())
    assert exc.value.message == "数据库缺少数据密钥记录，无法恢复。"
    with pytest.raises(SecretKeyError) as exc:
        unwrap(wrap(MASTER, BACKUP, "a"), BACKUP, "b")
    assert exc.value.message == (
        "恢复码与这个数据库不匹配：请核对恢复码，或确认这是本站点的数据库。"
    )
    with pytest.raises(SecretKeyError) as exc:
        unwrap("", BACKUP, "a")
    assert exc.value.message == "数据库中的密钥备份不完整。"


def test_a_wrap_row_gone_missing_is_written_back():
    secrets = MemorySecretStore({BACKUP_KEY_NAME: base64.b64encode(BACKUP).decode()})
    con = _settings_db()
    key = create_data_key(con, secrets)
    con.execute("DELETE FROM settings WHERE key='store.key_wrapped'")
    assert ensure_wrapped(con, key, secrets) is True
    rows = dict(con.execute("SELECT key, value FROM settings").fetchall())
    assert unwrap(rows["store.key_wrapped"], BACKUP, rows["store.id"]) == base64.b64decode(
        secrets.get(key_name(rows["store.id"]))
    )


def test_a_check_row_gone_missing_is_a_wrong_key_not_a_crash():
    secrets = MemorySecretStore()
    con = _settings_db()
    create_data_key(con, secrets)
    con.execute("DELETE FROM settings WHERE key='store.key_check'")
    with pytest.raises(StoreError) as exc:
        load_data_key(con, secrets)
    assert exc.value.code == "keys.data_key_wrong"


def test_a_garbled_key_in_the_keyring_is_named():
    secrets = MemorySecretStore()
    con = _settings_db()
    create_data_key(con, secrets)
    store_id = con.execute("SELECT value FROM settings WHERE key='store.id'").fetchone()[0]
    secrets.set(key_name(store_id), "not a key")
    with pytest.raises(SecretKeyError) as exc:
        load_data_key(con, secrets)
    assert exc.value.code == "keys.malformed"
    assert f"“data-key:{store_id}”" in exc.value.message


def test_two_stores_sharing_a_keyring_keep_their_own_keys():
    secrets = MemorySecretStore()
    one, two = _settings_db(), _settings_db()
    k1, k2 = create_data_key(one, secrets), create_data_key(two, secrets)
    ids = [
        c.execute("SELECT value FROM settings WHERE key='store.id'").fetchone()[0]
        for c in (one, two)
    ]
    assert ids[0] != ids[1] and len(secrets.values) == 3  # two data keys and one backup key
    assert (
        load_data_key(one, secrets).check
        == k1.check
        != k2.check
        == load_data_key(two, secrets).check
    )


def test_a_valid_ciphertext_under_an_unknown_version_or_magic_is_refused():
    field = AESGCM(FIELDS_KEY).encrypt(NONCE, "张三".encode(), b"p")
    assert DataKey(MASTER).decrypt_text(b"\x01" + NONCE + field, b"p") == "张三"
    with pytest.raises(StoreError):
        DataKey(MASTER).decrypt_text(b"\x02" + NONCE + field, b"p")
    blob = AESGCM(BLOBS_KEY).encrypt(NONCE, b"page", b"s")
    assert DataKey(MASTER).decrypt_blob(b"YJB1" + NONCE + blob, "s") == b"page"
    with pytest.raises(StoreError):
        DataKey(MASTER).decrypt_blob(b"YJB2" + NONCE + blob, "s")


def test_a_wrap_of_exactly_a_nonce_and_a_tag_is_a_mismatch_not_incomplete():
    with pytest.raises(SecretKeyError) as exc:
        unwrap(base64.b64encode(bytes(28)).decode(), BACKUP, "a")
    assert exc.value.message.startswith("恢复码与这个数据库不匹配")


def test_recovery_needs_both_the_store_id_and_the_wrap(tmp_path):
    path = tmp_path / "s.sqlite3"
    con = _settings_db(str(path))
    create_data_key(con, MemorySecretStore({BACKUP_KEY_NAME: base64.b64encode(BACKUP).decode()}))
    con.execute("DELETE FROM settings WHERE key='store.key_wrapped'")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as exc:
        recover_data_key(path, BACKUP, MemorySecretStore())
    assert exc.value.code == "keys.store_without_key"


def test_empty_dates_stay_empty(table_db):
    engine, people = table_db
    with engine.begin() as con:
        con.execute(insert(people), {"id": 1, "name": "张三", "phone": None, "born": None})
    with engine.connect() as con:
        assert con.execute(select(people.c.born)).scalar_one() is None
        assert con.execute(text("SELECT born FROM people")).scalar_one() is None


def test_a_name_left_out_has_no_index():
    idx = applicant_index(DataKey(MASTER), name=None, resident_id=None, phone=None)
    assert idx == {"name_bidx": None, "resident_id_bidx": None, "phone_bidx": None}


def test_a_malformed_header_gets_the_same_wording():
    with pytest.raises(StoreError) as exc:
        DataKey(MASTER).decrypt_text(b"\x02" + NONCE + bytes(20), b"p")
    assert exc.value.message == "数据无法解密：本机密钥不对，或数据已被改动。" + HINT
    with pytest.raises(StoreError) as exc:
        DataKey(MASTER).decrypt_blob(b"YJB2" + NONCE + bytes(20), "s")
    assert exc.value.message == "页面文件无法解密：本机密钥不对，或数据已被改动。" + HINT


def test_recovery_of_a_store_without_its_check_value_is_refused_not_crashed(tmp_path):
    path = tmp_path / "s.sqlite3"
    con = _settings_db(str(path))
    create_data_key(con, MemorySecretStore({BACKUP_KEY_NAME: base64.b64encode(BACKUP).decode()}))
    con.execute("DELETE FROM settings WHERE key='store.key_check'")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as exc:
        recover_data_key(path, BACKUP, MemorySecretStore())
    assert exc.value.code == "keys.data_key_wrong"
