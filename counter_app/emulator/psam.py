"""The emulated PSAM (模拟PSAM卡) — TRAINING / TEST emulator, holding the TEST master keys, never for production.

card-protocol §2.8 and §3.13: SELECT, READ BINARY of 终端机编号 (EF 0016), INIT FOR PURPOSE
(diversify a master key with the 卡识别码 into a session key) and CIPHER DATA (cryptogram or MAC).
The master keys never leave it. `process` answers every byte string with data ‖ SW, never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from counter_app.emulator import encoding, sw
from counter_app.emulator.apdu import Command, Shape
from counter_app.emulator.crypto import cryptogram, diversify, mac
from counter_app.emulator.dispatch import CommandSpec, evaluate, p1p2
from counter_app.emulator.encoding import tlv
from counter_app.emulator.keys import TEST_MASTER_KEYS
from counter_app.emulator.t0 import Reply, case2, case4, get_response, status

PSAM_AID: Final = bytes.fromhex("D15600000590")
PSAM_FCI: Final = tlv(b"\x6f", tlv(b"\x84", PSAM_AID))
PSAM_ATR: Final = bytes.fromhex("3B6C0000") + bytes.fromhex("0081454D5053414D00000001")
TEST_TERMINAL_NUMBER: Final = "511100900001"

SELECT: Final = 0xA4
GET_RESPONSE: Final = 0xC0
DIVERSIFIER_LENGTH = 16
CHALLENGE_LENGTH = 8


@dataclass
class _Session:
    """易失状态: application selected since reset, session key, pending response data."""

    selected: bool = False
    session_key: bytes | None = None
    pending: bytes | None = None


Handler = Callable[["EmulatedPsam", Command], Reply]


class EmulatedPsam:
    """模拟PSAM: holds SM4 master keys by key index and the 终端机编号; TEST keys by default."""

    def __init__(
        self,
        master_keys: Mapping[int, bytes] = TEST_MASTER_KEYS,
        terminal_number: str = TEST_TERMINAL_NUMBER,
    ) -> None:
        if any(len(k) != 16 for k in master_keys.values()):
            raise ValueError("SM4 master keys are 16 bytes")
        self._master_keys = MappingProxyType(dict(master_keys))
        self._terminal_number = encoding.cn(terminal_number, 6)
        self._session = _Session()

    @property
    def terminal_number(self) -> str:
        """终端机编号, 12 digits."""
        return self._terminal_number.hex()

    def atr(self) -> bytes:
        return PSAM_ATR

    def power_on(self) -> None:
        """Reset: no application selected, no session key, nothing pending."""
        self._session = _Session()

    def reset(self) -> None:
        self.power_on()

    def process(self, command: bytes | bytearray) -> bytes:
        """Answer one command APDU with response data ‖ SW1 SW2."""
        session = self._session
        pending = session.pending
        if not (len(command) >= 2 and command[0] == 0x00 and command[1] == GET_RESPONSE):
            pending = None  # R5
        session.pending = pending
        evaluated = evaluate(command, _COMMANDS)
        if isinstance(evaluated, int):
            reply = Reply(evaluated, pending=pending)
        else:
            spec, parsed = evaluated
            if spec.needs_application and not session.selected:
                reply = Reply(sw.CONDITIONS_NOT_SATISFIED)
            else:
                reply = spec.handler(self, parsed)
        self._session.pending = reply.pending
        return reply.encode()

    # --- commands -----------------------------------------------------------------------------

    def _select(self, command: Command) -> Reply:
        if len(command.data) != len(PSAM_AID):
            return status(sw.WRONG_LENGTH)
        if command.data != PSAM_AID:
            return status(sw.NOT_FOUND)
        reply = case4(command.le, PSAM_FCI)
        if reply.delivered:
            self._session = _Session(selected=True)
        return reply

    def _get_response(self, command: Command) -> Reply:
        return get_response(command.le, self._session.pending)

    def _read_binary(self, command: Command) -> Reply:
        return case2(command.le, self._terminal_number)

    def _init_for_purpose(self, command: Command) -> Reply:
        """INIT FOR PURPOSE: session key := SM4_ECB(K_master[P1], 卡识别码); the old one is dropped."""
        if len(command.data) != DIVERSIFIER_LENGTH:
            return status(sw.WRONG_LENGTH)
        self._session.session_key = None
        master = self._master_keys.get(command.p1)
        if master is None:
            return status(sw.KEY_NOT_FOUND)
        self._session.session_key = diversify(master, command.data)
        return status(sw.OK)

    def _cipher_data(self, command: Command) -> Reply:
        """CIPHER DATA: P1 00 encrypts the challenge, P1 01 MACs ``message`` with it as the IV."""
        data = command.data
        encrypt = command.p1 == 0x00
        if (encrypt and len(data) != CHALLENGE_LENGTH) or len(data) < CHALLENGE_LENGTH:
            return status(sw.WRONG_LENGTH)
        key = self._session.session_key
        if key is None:
            return status(sw.CONDITIONS_NOT_SATISFIED)
        challenge = data[:CHALLENGE_LENGTH]
        if encrypt:
            return case4(command.le, cryptogram(key, challenge))
        return case4(command.le, mac(key, challenge, data[CHALLENGE_LENGTH:]))


_COMMANDS: Final[Mapping[int, CommandSpec[Handler]]] = MappingProxyType(
    {
        SELECT: CommandSpec(0x00, Shape.IN, p1p2((0x04, 0x00)), EmulatedPsam._select),
        GET_RESPONSE: CommandSpec(0x00, Shape.OUT, p1p2((0, 0)), EmulatedPsam._get_response),
        0xB0: CommandSpec(
            0x00, Shape.OUT, p1p2((0x96, 0x00)), EmulatedPsam._read_binary, needs_application=True
        ),
        0x1A: CommandSpec(
            0x80, Shape.IN, lambda p1, p2: p2 == 0, EmulatedPsam._init_for_purpose, needs_application=True
        ),
        0xFA: CommandSpec(
            0x80, Shape.IN, p1p2((0, 0), (1, 0)), EmulatedPsam._cipher_data, needs_application=True
        ),
    }
)
