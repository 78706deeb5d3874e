"""Key indices (密钥索引) and the TEST master keys of card-protocol §4.5.

测试密钥，仅用于模拟器与测试，严禁用于生产: these keys are published in the specification; the
emulated PSAM ships them and the test cards are diversified from them. A configured counter never
loads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from counter_app.emulator.crypto import diversify

READ_AUTH: Final = 0x0A  # RKSSSE, EXTERNAL AUTHENTICATE before reading EF06 on 3.00
WRITE_AUTH: Final = 0x04  # EXTERNAL AUTHENTICATE before UPDATE RECORD
PIN_RELOAD: Final = 0x06  # MAC key of RELOAD PIN (密码重置)
PIN_UNBLOCK: Final = 0x07  # MAC key of PIN UNBLOCK (解锁)
INTERNAL_AUTH: Final = 0x08  # INTERNAL AUTHENTICATE

CARD_KEY_INDICES: Final = (READ_AUTH, WRITE_AUTH, PIN_RELOAD, PIN_UNBLOCK, INTERNAL_AUTH)
EXTERNAL_AUTH_KEYS: Final = frozenset({READ_AUTH, WRITE_AUTH})
EXTERNAL_AUTH_TRIES: Final = 15

TEST_MASTER_KEYS: Final[Mapping[int, bytes]] = MappingProxyType(
    {
        READ_AUTH: bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"),
        WRITE_AUTH: bytes.fromhex("404142434445464748494A4B4C4D4E4F"),
        PIN_RELOAD: bytes.fromhex("606162636465666768696A6B6C6D6E6F"),
        PIN_UNBLOCK: bytes.fromhex("707172737475767778797A7B7C7D7E7F"),
        INTERNAL_AUTH: bytes.fromhex("808182838485868788898A8B8C8D8E8F"),
    }
)


def card_keys(master_keys: Mapping[int, bytes], card_id: bytes) -> dict[int, bytes]:
    """The diversified keys one card stores (§4.2), one per master key."""
    return {index: diversify(key, card_id) for index, key in master_keys.items()}
