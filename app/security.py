"""Password hashing with scrypt (memory-hard; in the standard library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from app.errors import AuthError

# 2^14 * 8 * 128 bytes = 16 MiB per hash: costly to brute-force, fine for a login.
_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
        got = hashlib.scrypt(
            password.encode(),
            salt=salt,
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def password_problem(password: str) -> AuthError | None:
    """The error a too weak new password gets (account.weak_password), or None."""
    if len(password) < 8:
        return AuthError("account.weak_password")
    kinds = sum(
        [
            any(c.isdigit() for c in password),
            any(c.isalpha() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if kinds < 2:
        return AuthError("account.weak_password", variant=2)
    return None
