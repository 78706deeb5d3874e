"""Card image (卡片初始数据): everything an `EmulatedCard` is created with (card-protocol §2.6, §3.16)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from counter_app.emulator import keys as key_index
from counter_app.emulator.layout import CARD_ID_TAG, EF05_LAYOUT, PROFILES, Profile, ef06_layout

PIN_TRIES = 6  # 乐山: 6 wrong PINs lock the card


@dataclass(frozen=True)
class CardImage:
    """Profile, 卡识别码, record values by tag, diversified keys, PIN, counters, PAN and 算法标识.

    ``keys`` are the card's own diversified keys (the card never holds a master key).
    ``algorithm_id`` None omits ``9F0C`` from the SSSE FCI (hook of §3.16).
    ``multi_record_read`` False makes the card one without the multi-record read of §3.3.1: READ
    RECORD with P2 bits 3–1 = ``101`` then fails step 3 of §3.0 (``6A86``) (hook of §3.16).
    """

    profile: Profile
    card_id: bytes
    ef05: Mapping[int, bytes]
    ef06: Mapping[int, bytes]
    keys: Mapping[int, bytes]
    pin: str
    pan: str
    pin_tries: int = PIN_TRIES
    key_tries: int = key_index.EXTERNAL_AUTH_TRIES
    algorithm_id: int | None = 0x03
    multi_record_read: bool = True

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}")
        if len(self.card_id) != 16 or self.ef05.get(CARD_ID_TAG) != self.card_id:
            raise ValueError("卡识别码 must be 16 bytes and equal EF05 record 01")
        _check_records("EF05", self.ef05, EF05_LAYOUT)
        _check_records("EF06", self.ef06, ef06_layout(self.profile))
        if set(self.keys) != set(key_index.CARD_KEY_INDICES) or any(len(k) != 16 for k in self.keys.values()):
            raise ValueError("the card needs exactly the 16-byte keys 0A, 04, 06, 07, 08")
        if not (4 <= len(self.pin) <= 16 and self.pin.isdecimal() and self.pin.isascii()):
            raise ValueError("the PIN is 4–16 digits")
        if not 0 <= self.pin_tries <= PIN_TRIES or not 0 <= self.key_tries <= key_index.EXTERNAL_AUTH_TRIES:
            raise ValueError("try counter out of range")
        if not (self.pan.isdecimal() and self.pan.isascii() and 12 <= len(self.pan) <= 19):
            raise ValueError("the PAN is 12–19 digits")
        if self.algorithm_id is not None and not 0 <= self.algorithm_id <= 0xFF:
            raise ValueError("算法标识 is one byte")
        object.__setattr__(self, "ef05", MappingProxyType(dict(self.ef05)))
        object.__setattr__(self, "ef06", MappingProxyType(dict(self.ef06)))
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))


def _check_records(name: str, values: Mapping[int, bytes], layout: tuple[tuple[int, int], ...]) -> None:
    expected = dict(layout)
    if set(values) != set(expected):
        raise ValueError(f"{name} needs exactly the tags {sorted(expected)}")
    for tag, length in layout:
        if len(values[tag]) != length:
            raise ValueError(f"{name} tag {tag:02X} must be {length} bytes")
