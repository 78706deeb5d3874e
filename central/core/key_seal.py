"""Counter receipt keys sealed at rest (回执密钥加密存储): SM4-GCM under the server's key-encryption key.

A counter's 回执密钥 signs the QR code of every receipt it prints; the server keeps a copy to check
receipts (``central.services.receipts``) and hands it to the counter once at enrolment. In the
database it is stored sealed, so a dump, a backup or a read-only SQL account does not reveal it:

- ``b"S1" + nonce (12) + SM4-GCM ciphertext (32) + tag (16)`` — 62 bytes in the 64-byte column;
- the associated data names the counter (``<网点编号>-<柜台号>``): a sealed key copied onto another
  counter's row does not open;
- the key-encryption key (16 bytes) is ``CENTRAL_RECEIPT_SEAL_KEY`` (Base64; what a pool of servers
  shares), else the file ``receipt-seal.key`` in the data folder, made (mode 0600) on first use.

Keys written before sealing existed, and the training seed's keys, are 32 plain bytes: they are
read as they are, and each server seals them when it starts (``seal_plain_keys``). Sealing protects
the keys from being read; someone who can write the database is not in its scope.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import time
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MARK = b"S1"
KEK_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
PLAIN_KEY_BYTES = 32
KEY_FILE = "receipt-seal.key"


class SealError(Exception):
    """A sealed key that does not open (another key-encryption key, or a damaged value)."""


class KeySeal:
    """Seals and opens counter receipt keys with one key-encryption key."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEK_BYTES:
            raise ValueError(f"the receipt key-encryption key must be {KEK_BYTES} bytes")
        self._kek = kek

    @classmethod
    def load(cls, configured: str | None, data_dir: Path) -> KeySeal:
        """The seal of ``CENTRAL_RECEIPT_SEAL_KEY`` (Base64), else of the data folder's key file."""
        if configured:
            try:
                return cls(base64.b64decode(configured, validate=True))
            except (binascii.Error, ValueError):
                raise ValueError(
                    "CENTRAL_RECEIPT_SEAL_KEY 须为 16 字节密钥的 Base64 编码（如 openssl rand -base64 16）"
                ) from None
        return cls(_key_file(data_dir / KEY_FILE))

    @staticmethod
    def is_sealed(stored: bytes) -> bool:
        return (
            stored.startswith(MARK) and len(stored) == len(MARK) + NONCE_BYTES + PLAIN_KEY_BYTES + TAG_BYTES
        )

    def seal(self, key: bytes, outlet_code: str, counter_number: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        encryptor = Cipher(algorithms.SM4(self._kek), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(_owner(outlet_code, counter_number))
        sealed = encryptor.update(key) + encryptor.finalize()
        return MARK + nonce + sealed + encryptor.tag

    def open(self, stored: bytes, outlet_code: str, counter_number: str) -> bytes:
        """The counter's key (a plain legacy key as it is); ``SealError`` if it does not open."""
        if not self.is_sealed(stored):
            if len(stored) == PLAIN_KEY_BYTES:
                return stored
            raise SealError("not a receipt key")
        nonce = stored[len(MARK) : len(MARK) + NONCE_BYTES]
        body, tag = stored[len(MARK) + NONCE_BYTES : -TAG_BYTES], stored[-TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(self._kek), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(_owner(outlet_code, counter_number))
        try:
            return decryptor.update(body) + decryptor.finalize()
        except InvalidTag:
            raise SealError("the receipt key does not open with this key-encryption key") from None


def _owner(outlet_code: str, counter_number: str) -> bytes:
    return f"receipt-key:{outlet_code}-{counter_number}".encode()


def _key_file(path: Path) -> bytes:
    """The key file's key, made once (0600; servers starting together all use the first one written)."""
    for _ in range(200):
        try:
            return _read_key(path)
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            time.sleep(0.01)  # another server is writing it this moment
            continue
        key = secrets.token_bytes(KEK_BYTES)
        with os.fdopen(descriptor, "wb") as file:
            file.write(base64.b64encode(key) + b"\n")
            file.flush()
            os.fsync(file.fileno())
        return key
    raise ValueError(f"{path} 为空，不能读出回执密钥加密密钥")


def _read_key(path: Path) -> bytes:
    text = path.read_bytes().strip()
    if not text:  # made, not yet written
        raise FileNotFoundError(path)
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != KEK_BYTES:
        raise ValueError(f"{path} 不是有效的回执密钥加密密钥（16 字节的 Base64 编码）")
    return key
