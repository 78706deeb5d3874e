"""Test helpers for the card layer: a transport that plays an exact script, and the §4 crypto.

`SoftKeyProvider` computes what docs/card-protocol.md §4 says a PSAM computes, with `cryptography`
in the test (SM4-ECB block by block, no library padding), so vectors can be checked without any
emulator code.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from counter_app.workflows.ports import CardRemovedError, KeyPurpose

CARD_A_ID = "511100D15600000512345678ABCDEF01"
CARD_B_ID = "511100D156000005A0B1C2D3E4F50617"
CARD_A_ATR = bytes.fromhex("3B6D00000081454D000000000012345678")
CARD_B_ATR = bytes.fromhex("3B6D00000081454D0000000000A0B1C2D3")
PSAM_ATR = bytes.fromhex("3B6C00000081454D5053414D00000001")

TEST_MASTER_KEYS = {
    0x0A: bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"),
    0x04: bytes.fromhex("404142434445464748494A4B4C4D4E4F"),
    0x06: bytes.fromhex("606162636465666768696A6B6C6D6E6F"),
    0x07: bytes.fromhex("707172737475767778797A7B7C7D7E7F"),
    0x08: bytes.fromhex("808182838485868788898A8B8C8D8E8F"),
}
INDEX = {
    KeyPurpose.READ_AUTH: 0x0A,
    KeyPurpose.WRITE_AUTH: 0x04,
    KeyPurpose.PIN_RELOAD: 0x06,
    KeyPurpose.PIN_UNBLOCK: 0x07,
    KeyPurpose.INTERNAL_AUTH: 0x08,
}

SELECT_SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"
FCI_SSSE = "6F19840F7378312E73682EC9E7BBE1B1A3D5CFA5069F0C03860103"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def sm4_ecb(key: bytes, data: bytes) -> bytes:
    assert len(data) % 16 == 0
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def mac_sm4(key: bytes, iv: bytes, data: bytes) -> bytes:
    padded = bytes(data) + b"\x80"
    padded += bytes(-len(padded) % 16)
    block = iv
    for i in range(0, len(padded), 16):
        block = sm4_ecb(key, bytes(a ^ b for a, b in zip(block, padded[i : i + 16], strict=True)))
    return block[:4]


class SoftKeyProvider:
    """The §4 computations in software (test master keys): diversify, cryptogram, MAC."""

    def __init__(self, terminal: str = "511100900001") -> None:
        self._terminal = terminal
        self.calls: list[tuple[KeyPurpose, bytes, bytes, bytes]] = []

    def card_key(self, purpose: KeyPurpose, diversifier: bytes) -> bytes:
        return sm4_ecb(TEST_MASTER_KEYS[INDEX[purpose]], diversifier)

    def cryptogram(self, purpose: KeyPurpose, diversifier: bytes, challenge: bytes) -> bytes:
        self.calls.append((purpose, bytes(diversifier), bytes(challenge), b""))
        return sm4_ecb(self.card_key(purpose, diversifier), bytes(challenge) + bytes(8))

    def mac(
        self, purpose: KeyPurpose, diversifier: bytes, challenge: bytes, data: bytes | bytearray
    ) -> bytes:
        self.calls.append((purpose, bytes(diversifier), bytes(challenge), b"<data>"))
        return mac_sm4(self.card_key(purpose, diversifier), bytes(challenge) + bytes(8), data)

    def terminal_id(self) -> str:
        return self._terminal


Step = tuple[str, "str | BaseException"]


class ScriptedSequence:
    """A card (or PSAM) that expects exactly the given commands, in order, and answers each.

    A step's answer is response hex, or an exception to raise (e.g. `CardRemovedError`). After a
    raised `CardRemovedError` the card counts as removed until `insert` gives a new script.
    """

    def __init__(self, steps: Iterable[Step], atr: bytes = CARD_A_ATR, name: str = "Scripted 00") -> None:
        self._steps = list(steps)
        self._atr = atr
        self._name = name
        self.sent: list[bytes] = []
        self.removed = False

    @property
    def reader_name(self) -> str:
        return self._name

    def atr(self) -> bytes:
        return self._atr

    def insert(self, steps: Iterable[Step]) -> None:
        self._steps = list(steps)
        self.removed = False

    def transmit(self, command: bytes | bytearray) -> bytes:
        if self.removed:
            raise CardRemovedError("card removed")
        self.sent.append(bytes(command))
        got = bytes(command).hex().upper()
        assert self._steps, f"unexpected command {got} after the end of the script"
        expected, answer = self._steps.pop(0)
        assert got == expected.replace(" ", "").upper(), f"expected {expected}, got {got}"
        if isinstance(answer, BaseException):
            if isinstance(answer, CardRemovedError):
                self.removed = True
            raise answer
        return h(answer)

    @property
    def done(self) -> bool:
        return not self._steps

    @property
    def remaining(self) -> list[Step]:
        return list(self._steps)
