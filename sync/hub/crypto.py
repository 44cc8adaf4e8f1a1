"""Personal data at rest on the hub: envelope encryption under per-county data keys.

Every event payload and every page is sealed with AES-256-GCM under its county's data key (a
county = the region code its station enrolled under; "hub" when none was given). Data keys are
random, stored in the hub database only wrapped (AES-GCM) by a master key that the operator
supplies; the database and the object store alone show no name, ID number, phone or page.

Master keys: INTAKE_HUB_MASTER_KEYS ("id:base64key;id2:base64key", newest last) or the file
named by INTAKE_HUB_MASTER_KEY_FILE (one "id base64key" a line, newest last). Without either, a
key file in the hub's data directory is made on first start (a one-machine county; the operator
should move it off the database's disk). Rotation: append a new key; new data keys are wrapped
under it (new writes), old ones stay readable while their master key is listed, and
`intake hub rewrap` re-wraps every data key under the newest one so old master keys can go.

Associated data binds each ciphertext to its place (the event id, the page's hash), so a sealed
value moved to another row or object does not open. Unwrapped data keys are cached in process
memory: derivable state, nothing another hub process needs.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync.hub.errors import HubError

log = logging.getLogger("intake.hub.crypto")

ENV_KEYS = "INTAKE_HUB_MASTER_KEYS"
ENV_KEY_FILE = "INTAKE_HUB_MASTER_KEY_FILE"
DEFAULT_SCOPE = "hub"  # the data key of stations enrolled without a county code
MAGIC = b"IHE1"  # sealed value: MAGIC, kid length, kid, nonce, ciphertext+tag
TEXT_PREFIX = "e1:"  # a sealed value in a text column: prefix + base64
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_SCOPE = re.compile(r"^[A-Za-z0-9]{1,12}$")


def _key_error(message: str) -> HubError:
    return HubError(500, "hub.master_key", message)


@dataclass(frozen=True)
class MasterKeys:
    """The operator's master keys, oldest first; the last one wraps new data keys."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise _key_error("未配置主密钥")
        for kid, key in self.keys:
            if not _KEY_ID.match(kid) or len(key) != 32:
                raise _key_error(f"主密钥 {kid[:32]} 格式不对：应为编号和 32 字节密钥（base64）")

    @property
    def current(self) -> tuple[str, bytes]:
        return self.keys[-1]

    def get(self, kid: str) -> bytes:
        for k, key in self.keys:
            if k == kid:
                return key
        raise _key_error(f"缺少主密钥 {kid}：包装数据密钥的主密钥未配置，无法解密")

    @classmethod
    def parse(cls, text: str) -> MasterKeys:
        keys = []
        for raw in re.split(r"[;\n]", text):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            kid, _, b64 = line.replace(":", " ", 1).partition(" ")
            try:
                key = base64.b64decode(b64.strip(), validate=True)
            except ValueError as exc:
                raise _key_error(f"主密钥 {kid[:32]} 不是有效的 base64") from exc
            keys.append((kid.strip(), key))
        return cls(tuple(keys))

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, default_file: Path | None = None
    ) -> MasterKeys:
        """From the environment, else the key file, else DEFAULT_FILE (made when missing)."""
        env = os.environ if env is None else env
        if env.get(ENV_KEYS):
            return cls.parse(env[ENV_KEYS])
        path = Path(env[ENV_KEY_FILE]) if env.get(ENV_KEY_FILE) else default_file
        if path is None:
            raise _key_error(f"未配置主密钥：请设置 {ENV_KEYS} 或 {ENV_KEY_FILE}")
        if not path.exists() and not env.get(ENV_KEY_FILE):
            try:
                new_key_file(path)
                log.warning("no master key configured: made %s (keep a copy off this disk)", path)
            except FileExistsError:  # another process made it first
                pass
        try:
            return cls.parse(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise _key_error(f"无法读取主密钥文件 {path}") from exc


def new_key_line(kid: str | None = None) -> str:
    kid = kid or "m" + secrets.token_hex(4)
    return f"{kid} {base64.b64encode(secrets.token_bytes(32)).decode()}"


def new_key_file(path: Path, kid: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# intake hub master keys: one 'id base64key' a line, newest last\n")
        f.write(new_key_line(kid) + "\n")


def wrap(master: tuple[str, bytes], dkid: str, key: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(master[1]).encrypt(nonce, key, b"hub-data-key|" + dkid.encode())


def unwrap(master: bytes, dkid: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], b"hub-data-key|" + dkid.encode())
    except InvalidTag as exc:
        raise _key_error(f"数据密钥 {dkid} 无法用配置的主密钥解开（主密钥不对）") from exc


def scope_of(county: str | None) -> str:
    county = (county or "").strip()
    if not county:
        return DEFAULT_SCOPE
    if not _SCOPE.match(county):
        raise HubError(400, "station.county", "县（区）代码应为1～12位数字或字母")
    return county


class Sealer:
    """Seals and opens values under data keys. LOOKUP(dkid) gives a wrapped key's (master id,
    wrapped bytes) or None; CREATE(dkid, scope, master id, wrapped) stores a new one (first writer
    wins, then it is looked up again)."""

    def __init__(
        self,
        masters: MasterKeys,
        lookup: Callable[[str], tuple[str, bytes] | None],
        create: Callable[[str, str, str, bytes], None],
    ) -> None:
        self.masters = masters
        self._lookup, self._create = lookup, create
        self._keys: dict[str, AESGCM] = {}
        self._raw: dict[str, bytes] = {}  # the same keys for values sealed piece by piece
        self._lock = threading.Lock()

    def _write_kid(self, scope: str) -> str:
        return f"{scope}.{self.masters.current[0]}"

    def _key(self, dkid: str, scope: str | None = None) -> AESGCM:
        aead = self._keys.get(dkid)
        if aead is not None:
            return aead
        with self._lock:
            found = self._lookup(dkid)
            if found is None:
                if scope is None:
                    raise _key_error(f"数据密钥 {dkid} 不存在")
                self._create(
                    dkid,
                    scope,
                    self.masters.current[0],
                    wrap(self.masters.current, dkid, secrets.token_bytes(32)),
                )
                found = self._lookup(dkid)
                assert found is not None
            key = unwrap(self.masters.get(found[0]), dkid, found[1])
            aead = AESGCM(key)
            self._raw[dkid] = key
            self._keys[dkid] = aead
            return aead

    def prepare(self, scope: str) -> None:
        """Have SCOPE's write key at hand (made if missing) before a database transaction that
        seals: making it takes a write of its own."""
        self._key(self._write_kid(scope), scope)

    def seal(self, scope: str, data: bytes, aad: bytes) -> bytes:
        dkid = self._write_kid(scope)
        nonce = secrets.token_bytes(12)
        head = MAGIC + bytes([len(dkid)]) + dkid.encode()
        return head + nonce + self._key(dkid, scope).encrypt(nonce, data, head + aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if not sealed.startswith(MAGIC):
            return sealed  # stored before the hub sealed (a migrated hub, until rewrap)
        n = sealed[4]
        head, dkid = sealed[: 5 + n], sealed[5 : 5 + n].decode()
        nonce, body = sealed[5 + n : 17 + n], sealed[17 + n :]
        try:
            return self._key(dkid).decrypt(nonce, body, head + aad)
        except InvalidTag as exc:
            raise HubError(
                500, "hub.decrypt_failed", "平台数据无法解密：已被改动或放错位置"
            ) from exc

    def start(self, scope: str) -> bytes:
        """The first bytes of a value sealed piece by piece (MAGIC, kid, a fresh random nonce):
        write them, then what `encryptor` gives, then its tag; the result is what `seal` makes
        and `open` opens."""
        dkid = self._write_kid(scope)
        self._key(dkid, scope)
        return MAGIC + bytes([len(dkid)]) + dkid.encode() + secrets.token_bytes(12)

    def encryptor(self, prefix: bytes, aad: bytes, offset: int = 0) -> tuple[CipherContext, bool]:
        """Encrypts a value's bytes from OFFSET on, under PREFIX's key and nonce (see `start`):
        from 0 AES-GCM, whose tag (`finalize`, then `.tag`) ends the value (True); from elsewhere
        AES-CTR at the counter GCM uses for that position (False: the tag then takes a pass over
        every byte, see sync/hub/spool.py). Each byte's keystream comes from its position, so a
        value written in several sittings is the same as one written at once."""
        n = prefix[4]
        head, dkid, nonce = prefix[: 5 + n], prefix[5 : 5 + n].decode(), prefix[5 + n : 17 + n]
        self._key(dkid)
        key = self._raw[dkid]
        if offset == 0:
            gcm = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
            gcm.authenticate_additional_data(head + aad)
            return gcm, True
        # GCM's counter for the data starts at nonce || 2 and counts 16-byte blocks (32 bits:
        # values up to 64 GiB, far above MAX_BLOB_SIZE)
        block, within = divmod(offset, 16)
        ctr = Cipher(algorithms.AES(key), modes.CTR(nonce + (2 + block).to_bytes(4, "big")))
        enc = ctr.encryptor()
        enc.update(bytes(within))
        return enc, False

    def decryptor(self, prefix: bytes) -> CipherContext:
        """Decrypts a value's bytes from its start without checking them (a value still being
        written has no tag yet): the caller checks what it reads some other way."""
        n = prefix[4]
        dkid, nonce = prefix[5 : 5 + n].decode(), prefix[5 + n : 17 + n]
        self._key(dkid)
        mode = modes.CTR(nonce + (2).to_bytes(4, "big"))
        return Cipher(algorithms.AES(self._raw[dkid]), mode).decryptor()

    @staticmethod
    def prefix_length(head: bytes) -> int:
        """The length of a value's MAGIC, kid and nonce from its first bytes (0: not sealed)."""
        if len(head) < 5 or not head.startswith(MAGIC) or head[4] == 0:
            return 0
        return 5 + head[4] + 12

    @staticmethod
    def overhead(head: bytes) -> int:
        """Bytes a sealed value adds to its plaintext, from its first bytes (≥ 5); 0 for a
        value stored before the hub sealed (a migrated hub, until `intake hub rewrap`)."""
        return 5 + head[4] + 12 + 16 if head.startswith(MAGIC) and len(head) >= 5 else 0

    def seal_text(self, scope: str, text: str, aad: str) -> str:
        return (
            TEXT_PREFIX + base64.b64encode(self.seal(scope, text.encode(), aad.encode())).decode()
        )

    def open_text(self, value: str, aad: str) -> str:
        if not value.startswith(TEXT_PREFIX):
            return value  # written before the hub encrypted (migrated databases)
        return self.open(base64.b64decode(value[len(TEXT_PREFIX) :]), aad.encode()).decode()

    def forget(self) -> None:
        with self._lock:
            self._keys.clear()
            self._raw.clear()


def rewrap_all(
    masters: MasterKeys, rows: list[tuple[str, str, bytes]]
) -> list[tuple[str, str, bytes]]:
    """(dkid, master id, wrapped) → the same data keys wrapped under the newest master key."""
    out = []
    for dkid, mid, wrapped in rows:
        if mid == masters.current[0]:
            continue
        key = unwrap(masters.get(mid), dkid, wrapped)
        out.append((dkid, masters.current[0], wrap(masters.current, dkid, key)))
    return out


__all__ = ["MasterKeys", "Sealer", "rewrap_all", "scope_of"]
