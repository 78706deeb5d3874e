"""Operator password hashes (工号密码摘要) with a real key-derivation function: scrypt.

Stored form (the parameters travel with the hash, so they can be raised later)::

    scrypt$n=<N>,r=<r>,p=<p>$<salt, base64>$<derived key, base64>

Defaults: N = 2**15, r = 8, p = 1 (32 MiB, about 0.1 s), a 16-byte random salt per password and a
32-byte key (OWASP's scrypt minimum is N = 2**17 with r = 8 — raise ``N`` on real servers, the stored
parameters keep old hashes verifiable). Verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

SCHEME: Final = "scrypt"
DEFAULT_N: Final = 2**15
DEFAULT_R: Final = 8
DEFAULT_P: Final = 1
_KEY_BYTES: Final = 32
_SALT_BYTES: Final = 16


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=_KEY_BYTES
    )


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P) -> str:
    """Hash a password with a fresh salt; returns the stored form."""
    if not password:
        raise ValueError("a password must not be empty")
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _derive(password, salt, n, r, p)
    b64 = base64.b64encode
    return f"{SCHEME}$n={n},r={r},p={p}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash; False for any malformed stored value."""
    try:
        scheme, params, salt_b64, key_b64 = stored.split("$")
        values = dict(item.split("=", 1) for item in params.split(","))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
        salt, key = base64.b64decode(salt_b64), base64.b64decode(key_b64)
    except (ValueError, KeyError):
        return False
    if scheme != SCHEME:
        return False
    return hmac.compare_digest(_derive(password, salt, n, r, p), key)


def new_receipt_key() -> bytes:
    """A fresh 32-byte receipt key (回执密钥) for a counter."""
    return secrets.token_bytes(32)
