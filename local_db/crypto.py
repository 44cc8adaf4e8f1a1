"""Personal data at rest: one data key per store, kept in the OS keyring.

Names, ID numbers, addresses, phone numbers, birth dates and every event payload are stored as
AES-256-GCM ciphertext (column types below); page images and printed PDFs are encrypted in the
attachment store. Equality lookups (ID number, phone, full name) go through a blind index: an
HMAC of the normalised value under a separate key, so the index reveals nothing without the key.

The data key is random, lives in the keyring as `data-key:<store id>`, and is also kept in the
database wrapped with the station's backup key, whose recovery code the administrator writes
down: on a replacement machine `intake keys recover` (or a restore with the recovery code)
unwraps it back into the keyring. The database holds a check value, so a wrong key is named as
such instead of failing on the first row.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import sqlite3
import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

from local_db.errors import StoreError
from local_db.keys import SecretKeyError, SecretStore, decode_key, get_or_create_key

FIELD_VERSION = b"\x01"
BLOB_MAGIC = b"YJB1"
BACKUP_KEY_NAME = "backup-key"  # app.backup.KEY_NAME; the wrap of the data key uses it
STORE_ID = "store.id"
KEY_CHECK = "store.key_check"
KEY_WRAPPED = "store.key_wrapped"

RECOVERY_HINT = (
    "请管理员在本机运行 intake keys recover 并输入备份恢复码（即 intake backup recovery-code "
    "当初显示、由管理员抄存的那一串），或用恢复码从备份恢复。"
)


def key_name(store_id: str) -> str:
    return f"data-key:{store_id}"


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def _tampered(part: str) -> StoreError:
    """PART "field" (a personal-data column) or "blob" (a page file) cannot be decrypted."""
    if part == "blob":
        return StoreError("store.decrypt_failed", variant=2, part=part)
    return StoreError("store.decrypt_failed", part=part)


class DataKey:
    """The store's data key and the keys derived from it (one per use, so a blind index or a
    file name never reuses the encryption key)."""

    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise ValueError("data key must be 32 bytes")
        self._master = master  # kept for re-wrapping under a new backup key
        self._fields = AESGCM(_derive(master, b"yjs fields v1"))
        self._blobs = AESGCM(_derive(master, b"yjs blobs v1"))
        self._index_key = _derive(master, b"yjs blind index v1")
        self._name_key = _derive(master, b"yjs blob names v1")
        self.check = hmac.new(master, b"yjs data key check v1", hashlib.sha256).hexdigest()[:32]

    # -- fields -----------------------------------------------------------------------------

    def encrypt_text(self, text: str, purpose: bytes) -> bytes:
        nonce = os.urandom(12)
        return FIELD_VERSION + nonce + self._fields.encrypt(nonce, text.encode("utf-8"), purpose)

    def decrypt_text(self, blob: bytes, purpose: bytes) -> str:
        if not isinstance(blob, bytes) or blob[:1] != FIELD_VERSION or len(blob) < 29:
            raise _tampered("field")
        try:
            return self._fields.decrypt(blob[1:13], blob[13:], purpose).decode("utf-8")
        except InvalidTag:
            raise _tampered("field") from None

    def blind(self, kind: str, value: str) -> bytes:
        """Blind index of a normalised value: equal values give equal 16 bytes, nothing else."""
        return hmac.new(self._index_key, f"{kind}\x00{value}".encode(), hashlib.sha256).digest()[
            :16
        ]

    # -- blobs ------------------------------------------------------------------------------

    def blob_name(self, sha256: str) -> str:
        """The file name of a blob: keyed, so a disk does not confirm a known page by its hash."""
        return hmac.new(self._name_key, sha256.encode(), hashlib.sha256).hexdigest()

    def encrypt_blob(self, data: bytes, sha256: str) -> bytes:
        nonce = os.urandom(12)
        return BLOB_MAGIC + nonce + self._blobs.encrypt(nonce, data, sha256.encode())

    def decrypt_blob(self, blob: bytes, sha256: str) -> bytes:
        if blob[:4] != BLOB_MAGIC or len(blob) < 32:
            raise _tampered("blob")
        try:
            return self._blobs.decrypt(blob[4:16], blob[16:], sha256.encode())
        except InvalidTag:
            raise _tampered("blob") from None


def normalise_name(name: str) -> str:
    return "".join(name.split())


def applicant_index(
    key: DataKey, *, name: str | None, resident_id: str | None, phone: str | None
) -> dict[str, bytes | None]:
    """The blind-index columns of an applicant row."""
    norm = normalise_name(name or "")
    return {
        "name_bidx": key.blind("name", norm) if norm else None,
        "resident_id_bidx": key.blind("resident_id", resident_id.upper()) if resident_id else None,
        "phone_bidx": key.blind("phone", phone) if phone else None,
    }


# -- column types ---------------------------------------------------------------------------
# The key hangs on the engine's dialect (one per store), so two stores open in one process never
# share a key and no global is needed.


def dialect_key(dialect: Any) -> DataKey:
    key = getattr(dialect, "yjs_data_key", None)
    if key is None:
        raise StoreError("keys.data_key_missing")
    return key  # type: ignore[no-any-return]


class EncryptedText(TypeDecorator[str]):
    """Text stored as AES-GCM ciphertext; the column name is authenticated, so a value copied
    into another column does not decrypt."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose.encode()

    def process_bind_param(self, value: str | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        return dialect_key(dialect).encrypt_text(value, self.purpose)

    def process_result_value(self, value: bytes | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return dialect_key(dialect).decrypt_text(value, self.purpose)


class EncryptedDate(TypeDecorator[dt.date]):
    """A date kept as EncryptedText of its ISO form."""

    impl = EncryptedText
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__(purpose)

    def process_bind_param(self, value: dt.date | None, dialect: Any) -> str | None:
        return None if value is None else value.isoformat()

    def process_result_value(self, value: str | None, dialect: Any) -> dt.date | None:
        return None if value is None else dt.date.fromisoformat(value)


# -- the key in the keyring -----------------------------------------------------------------


def _settings(con: Any) -> dict[str, str]:
    rows = con.execute(
        "SELECT key, value FROM settings WHERE key IN (?, ?, ?)", (STORE_ID, KEY_CHECK, KEY_WRAPPED)
    ).fetchall()
    return {k: v for k, v in rows}


def wrap(master: bytes, backup_key: bytes, store_id: str) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(
        nonce + AESGCM(backup_key).encrypt(nonce, master, store_id.encode())
    ).decode()


def unwrap(wrapped: str, backup_key: bytes, store_id: str) -> bytes:
    raw = base64.b64decode(wrapped)
    if len(raw) < 28:
        raise SecretKeyError("keys.recovery_mismatch")
    try:
        return AESGCM(backup_key).decrypt(raw[:12], raw[12:], store_id.encode())
    except InvalidTag:
        raise SecretKeyError("keys.recovery_mismatch", variant=2) from None


def create_data_key(con: Any, secrets: SecretStore) -> DataKey:
    """A new store: a random data key into the keyring, its check value and its wrap into the
    database (CON is a DB-API connection or cursor inside the creating transaction)."""
    store_id = str(uuid.uuid4())
    master = os.urandom(32)
    backup_key = get_or_create_key(secrets, BACKUP_KEY_NAME)
    secrets.set(key_name(store_id), base64.b64encode(master).decode())
    key = DataKey(master)
    con.executemany(
        "INSERT INTO settings (key, value) VALUES (?, ?)",
        [
            (STORE_ID, store_id),
            (KEY_CHECK, key.check),
            (KEY_WRAPPED, wrap(master, backup_key, store_id)),
        ],
    )
    return key


def load_data_key(con: Any, secrets: SecretStore) -> DataKey:
    """The store's data key from the keyring, checked against the database."""
    values = _settings(con)
    store_id = values.get(STORE_ID)
    if store_id is None:
        raise StoreError("keys.store_without_key")
    text = secrets.get(key_name(store_id))
    if text is None:
        raise StoreError("keys.data_key_missing", variant=2)
    key = DataKey(decode_key(text, key_name(store_id)))
    if not hmac.compare_digest(key.check, values.get(KEY_CHECK, "")):
        raise StoreError("keys.data_key_wrong")
    return key


def ensure_wrapped(con: Any, key: DataKey, secrets: SecretStore) -> bool:
    """Keep the database's wrap of the data key openable by this machine's backup key (and so
    by the recovery code the administrator holds). True when it had to be written again."""
    values = _settings(con)
    store_id = values[STORE_ID]
    backup_key = get_or_create_key(secrets, BACKUP_KEY_NAME)
    try:
        if unwrap(values.get(KEY_WRAPPED, ""), backup_key, store_id) == key._master:
            return False
    except (SecretKeyError, ValueError):
        pass
    # an upsert: a wrap row that went missing is written back, not silently skipped
    con.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (KEY_WRAPPED, wrap(key._master, backup_key, store_id)),
    )
    return True


def recover_data_key(
    db_path: str | os.PathLike[str], backup_key: bytes, secrets: SecretStore
) -> str:
    """Unwrap the data key kept in the database with the backup key (from the recovery code)
    and put both into this machine's keyring. Returns the store id."""
    con = sqlite3.connect(f"file:{os.fspath(db_path)}?mode=ro", uri=True)
    try:
        try:
            values = _settings(con)
        except sqlite3.DatabaseError as exc:
            raise StoreError("store.not_a_database") from exc
    finally:
        con.close()
    store_id, wrapped = values.get(STORE_ID), values.get(KEY_WRAPPED)
    if not store_id or not wrapped:
        raise StoreError("keys.store_without_key", variant=2)
    master = unwrap(wrapped, backup_key, store_id)
    if not hmac.compare_digest(DataKey(master).check, values.get(KEY_CHECK, "")):
        raise StoreError("keys.data_key_wrong", variant=2)
    secrets.set(key_name(store_id), base64.b64encode(master).decode())
    if secrets.get(BACKUP_KEY_NAME) is None:
        secrets.set(BACKUP_KEY_NAME, base64.b64encode(backup_key).decode())
    return store_id
