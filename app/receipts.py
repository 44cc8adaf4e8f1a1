"""Receipts anyone can verify offline.

Each station holds an Ed25519 signing key (private half in the OS keyring; the public half is
enrolled with the hub and can be exported). The receipt's QR carries the intake number, the
time, the hash of the material manifest, the key id and a signature over those, so the hub, a
department, or `intake verify-receipt` on any machine can tell a genuine receipt from a forged
or altered one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.numbering import encode_receipt_payload, parse_receipt_payload
from app.options import RECEIPT_QUERY_URL, from_env
from local_db.errors import DomainError
from local_db.keys import SecretKeyError, SecretStore

KEY_NAME = "receipt-signing-key"
# Where a phone that scans a receipt's QR is sent: the county's query address (a page of the
# hub, or the county's portal in front of it). Default: the hub this station enrolled with.
HUB_QUERY_PATH = "/r"


def query_base(hub_url: str | None, configured: str | None = None) -> str | None:
    """The query address printed in receipt QRs: CONFIGURED (the resolved option: environment,
    else the station setting), else $INTAKE_RECEIPT_QUERY_URL, else the enrolled hub's status
    page; None (the QR carries the bare signed token) when none is known."""
    configured = (configured or "").strip() or from_env(RECEIPT_QUERY_URL)
    if configured:
        return configured
    if hub_url:
        return hub_url.rstrip("/") + HUB_QUERY_PATH
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    """Strict: only the canonical unpadded form decodes. A lenient decoder ignores the unused
    low bits of the last character, so `…w` and `…x` would name the same signature."""
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("not url-safe base64") from exc
    if _b64(data) != text:
        raise ValueError("not canonical base64")
    return data


def manifest_hash(
    number: str, bundle: str, items: Iterable[str], materials: Iterable[tuple[str, str, int]]
) -> str:
    """What was received: bundle, items, and each material's (id, state, copies), canonical."""
    body = json.dumps(
        {"n": number, "b": bundle, "i": sorted(items), "m": sorted([list(m) for m in materials])},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _signed_text(number: str, fields: Mapping[str, str]) -> bytes:
    return "|".join(
        [number, fields.get("t", ""), fields.get("m", ""), fields.get("k", "")]
    ).encode()


def key_to_text(public: Ed25519PublicKey) -> str:
    """A public key as text (url-safe base64 of the raw 32 bytes): how it is enrolled and shown."""
    return _b64(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key in `public_key_text` form; ValueError when it is not one."""
    return Ed25519PublicKey.from_public_bytes(_unb64(text))


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:8]


class ReceiptSigner:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    @classmethod
    def from_store(cls, store: SecretStore) -> ReceiptSigner:
        value = store.get(KEY_NAME)
        if value is None:
            private = Ed25519PrivateKey.generate()
            from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

            raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            store.set(KEY_NAME, _b64(raw))
            return cls(private)
        try:
            return cls(Ed25519PrivateKey.from_private_bytes(_unb64(value)))
        except ValueError as exc:
            raise SecretKeyError("keys.malformed", variant=2, name=KEY_NAME) from exc

    def sign(self, data: bytes) -> bytes:
        """An Ed25519 signature of DATA with the station key (audit checkpoints use it too)."""
        return self._private.sign(data)

    def public_key_text(self) -> str:
        return key_to_text(self.public)

    def payload(self, number: str, issued: str, manifest: str) -> str:
        fields = {"t": issued, "m": manifest, "k": self.key_id}
        signature = self._private.sign(_signed_text(number, fields))
        return encode_receipt_payload(number, **fields, s=_b64(signature))


@dataclass(frozen=True)
class Verification:
    valid: bool
    number: str | None
    code: str  # receipt.ok | receipt.not_ours | receipt.unsigned | receipt.unknown_key | receipt.bad_signature | receipt.manifest_mismatch
    message: str
    issued: str = ""
    manifest: str = ""


def verify_receipt(
    payload: str, public_keys: Mapping[str, str], expected_manifest: str | None = None
) -> Verification:
    """Check a scanned receipt QR against the known station public keys (key id → key)."""
    ref = parse_receipt_payload(payload)
    if ref is None:
        return Verification(
            False, None, "receipt.not_ours", "这不是本系统的收件回执二维码，或编号校验不符。"
        )
    f = ref.fields
    if not f.get("s"):
        return Verification(False, ref.number, "receipt.unsigned", "该回执没有签名，无法核验真伪。")
    key_text = public_keys.get(f.get("k", ""))
    if key_text is None:
        return Verification(
            False,
            ref.number,
            "receipt.unknown_key",
            "签发站点的公钥未知，请向县行政审批局获取站点公钥后再核验。",
        )
    try:
        load_public_key(key_text).verify(_unb64(f["s"]), _signed_text(ref.number, f))
    except (InvalidSignature, ValueError):
        return Verification(
            False, ref.number, "receipt.bad_signature", "回执签名不符：回执内容被改动或系伪造。"
        )
    if expected_manifest is not None and expected_manifest != f.get("m"):
        return Verification(
            False,
            ref.number,
            "receipt.manifest_mismatch",
            "回执所载材料清单与登记记录不符。",
            f.get("t", ""),
            f.get("m", ""),
        )
    return Verification(
        True, ref.number, "receipt.ok", "回执真实有效。", f.get("t", ""), f.get("m", "")
    )


class ReceiptsError(DomainError):
    pass
