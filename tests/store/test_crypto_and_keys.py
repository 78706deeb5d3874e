"""SM4/SM3 field encryption and the keyring-held key: tampering is caught, plaintext is never a fallback."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

from counter_app.store import (
    Store,
    StoreIntegrityError,
    StoreKeyMismatch,
    StoreKeyMissing,
    StoreKeyUnavailable,
)
from counter_app.store.crypto import FieldCipher, StoreKeys
from counter_app.store.keys import KEYRING_SERVICE, KEYRING_USERNAME
from tests.store.conftest import CANARY_ID_NUMBER, make_record
from tests.store.memory_keyring import MemoryKeyring


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(StoreKeys.derive(os.urandom(32)))


def test_the_librarys_sm4_matches_the_gbt_32907_vector() -> None:
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (encryptor.update(key) + encryptor.finalize()).hex().upper() == "681EDF34D206965E86B3E94F536E4246"


def test_values_round_trip_with_a_fresh_nonce_each_time(cipher: FieldCipher) -> None:
    first = cipher.encrypt_text("金丝燕", "t.name:1")
    second = cipher.encrypt_text("金丝燕", "t.name:1")
    assert first != second and first is not None and second is not None
    assert cipher.decrypt_text(first, "t.name:1") == cipher.decrypt_text(second, "t.name:1") == "金丝燕"
    assert cipher.decrypt_json(cipher.encrypt_json({"a": [1, "乙"]}, "c"), "c") == {"a": [1, "乙"]}
    assert cipher.encrypt_text(None, "c") is None and cipher.decrypt_text(None, "c") is None


def test_an_altered_or_moved_ciphertext_fails_its_check(cipher: FieldCipher) -> None:
    blob = cipher.encrypt(b"13812345678", "replica_persons.phone:P1")
    for position in (0, 1, 20, len(blob) - 1):
        altered = bytearray(blob)
        altered[position] ^= 0x01
        with pytest.raises(StoreIntegrityError, match="校验失败"):
            cipher.decrypt(bytes(altered), "replica_persons.phone:P1")
    with pytest.raises(StoreIntegrityError):
        cipher.decrypt(blob, "replica_persons.phone:P2")  # another row
    with pytest.raises(StoreIntegrityError):
        cipher.decrypt(blob[:30], "replica_persons.phone:P1")


@pytest.mark.parametrize(
    "first_block",
    [
        None,  # random, as in use
        b"\xff" * 16,  # the 128-bit counter would wrap at once
        bytes(12) + b"\xff\xff\xff\xf0",  # the low 32 bits would wrap within the batch
        b"\x12" * 12 + b"\xff\xff\xff\xff",
    ],
)
def test_a_batch_shares_one_keystream_yet_each_blob_is_an_ordinary_one(
    cipher: FieldCipher, monkeypatch: pytest.MonkeyPatch, first_block: bytes | None
) -> None:
    values = [f"四川省乐山市嘉定路{i}号".encode() if i % 5 else None for i in range(200)]
    values += [b"", b"x" * 16, b"y" * 17, CANARY_ID_NUMBER.encode()]
    pairs = [(value, f"replica_persons.address:P{i}") for i, value in enumerate(values)]
    if first_block is not None:
        monkeypatch.setattr("counter_app.store.crypto.os.urandom", lambda n: first_block[:n])
    blobs = cipher.encrypt_many(pairs)
    assert len(blobs) == len(pairs)
    nonces = set()
    for (value, context), blob in zip(pairs, blobs, strict=True):
        if value is None:
            assert blob is None
            continue
        assert blob is not None and cipher.decrypt(blob, context) == value  # the ordinary decryption
        assert CANARY_ID_NUMBER.encode() not in blob
        if value:  # each value has counter blocks of its own: no keystream is used twice
            nonce = int.from_bytes(blob[1:17], "big")
            blocks = range(nonce, nonce - (-len(value) // 16))
            assert nonces.isdisjoint(blocks)
            nonces.update(blocks)
    with pytest.raises(StoreIntegrityError):  # and each is bound to its own row and column
        cipher.decrypt(blobs[1] or b"", pairs[2][1])
    assert cipher.encrypt_many([(None, "a"), (None, "b")]) == [None, None]


def test_id_lookups_are_keyed_and_normalised(cipher: FieldCipher) -> None:
    digest = cipher.id_lookup_hash("resident_id", CANARY_ID_NUMBER)
    full_width = CANARY_ID_NUMBER.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert cipher.id_lookup_hash("resident_id", f" {full_width.lower()} ") == digest
    assert (
        FieldCipher(StoreKeys.derive(os.urandom(32))).id_lookup_hash("resident_id", CANARY_ID_NUMBER)
        != digest
    )
    assert cipher.id_lookup_hash("passport", CANARY_ID_NUMBER) != digest
    assert "redacted" in repr(StoreKeys.derive(os.urandom(32)))


def test_the_first_open_puts_a_new_key_in_the_keyring(
    store_path: Path, memory_keyring: MemoryKeyring
) -> None:
    Store.open(store_path).close()
    stored = memory_keyring.items[(KEYRING_SERVICE, KEYRING_USERNAME)]
    assert stored.startswith("v1:")
    Store.open(store_path).close()
    assert memory_keyring.items[(KEYRING_SERVICE, KEYRING_USERNAME)] == stored


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring], ids=["no-keyring", "forgetful-keyring"])
def test_without_a_usable_keyring_nothing_is_stored(store_path: Path, backend: type[KeyringBackend]) -> None:
    keyring.set_keyring(backend())
    with pytest.raises(StoreKeyUnavailable, match="无法访问系统密钥库") as refused:
        Store.open(store_path)
    assert refused.value.code == "store_key_unavailable" and refused.value.hint


def test_a_keyed_database_whose_key_was_lost_is_not_rekeyed(
    store_path: Path, memory_keyring: MemoryKeyring
) -> None:
    with Store.open(store_path) as store:
        store.record(make_record("N1"))
    memory_keyring.items.clear()
    with pytest.raises(StoreKeyMissing, match="找不到它的密钥"):
        Store.open(store_path)
    assert memory_keyring.items == {}  # no fresh key that would orphan the data


def test_a_wrong_key_is_refused(store_path: Path, memory_keyring: MemoryKeyring) -> None:
    Store.open(store_path).close()
    Store.open(store_path.with_name("other.sqlite")).close()  # same keyring: fine
    memory_keyring.items.clear()
    Store.open(store_path.with_name("third.sqlite")).close()  # a new key in the keyring
    with pytest.raises(StoreKeyMismatch, match="不匹配"):
        Store.open(store_path)


def test_a_tampered_column_is_reported_on_read(store: Store) -> None:
    store.record(make_record("N1"))
    store.record(make_record("N2"))
    with store.engine.begin() as connection:  # move N2's encrypted details onto N1
        connection.execute(
            sa.text(
                "UPDATE transactions SET details = "
                "(SELECT details FROM transactions WHERE acceptance_number = 'N2') WHERE acceptance_number = 'N1'"
            )
        )
    assert store.find("N2") is not None
    with pytest.raises(StoreIntegrityError):
        store.find("N1")
