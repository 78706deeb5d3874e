"""Helpers for the emulator tests: send hex APDUs, play documented transcripts."""

from __future__ import annotations

from collections.abc import Iterable

from counter_app.emulator import EmulatedCard, EmulatedPsam
from counter_app.emulator.crypto import cryptogram, diversify
from counter_app.emulator.keys import TEST_MASTER_KEYS

SELECT_SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"
SELECT_FINANCE = "00A4040008A000000333010101"
SELECT_PSAM = "00A4040006D15600000590"
SELECT_MF = "00A40000023F00"


def hx(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def send(device: EmulatedCard | EmulatedPsam, command: str) -> str:
    """Send a hex APDU; the response as upper-case hex."""
    return device.process(hx(command)).hex().upper()


def play(rows: Iterable[tuple[str, str, str]], card: EmulatedCard, psam: EmulatedPsam | None = None) -> None:
    """Check a transcript of (device, command, response) rows; device is ``card`` or ``PSAM``."""
    for number, (device, command, expected) in enumerate(rows, 1):
        target = card if device == "card" else psam
        assert target is not None
        assert send(target, command) == expected.replace(" ", ""), f"row {number}: {device} {command}"


def in_ssse(card: EmulatedCard) -> EmulatedCard:
    """Select SSSE (the FCI stays pending) and return the card."""
    assert send(card, SELECT_SSSE) == "611B"
    return card


def authenticate(card: EmulatedCard, key: int) -> None:
    """EXTERNAL AUTHENTICATE with ``key``, the cryptogram computed here (a test shortcut, not the PSAM)."""
    card.fixed_challenges([bytes(range(8))])
    assert send(card, "0084000008") == "00010203040506079000"
    crypt = cryptogram(diversify(TEST_MASTER_KEYS[key], card.card_id), bytes(range(8)))
    assert send(card, f"008200{key:02X}10{crypt.hex()}") == "9000"
