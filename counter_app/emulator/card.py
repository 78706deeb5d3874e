"""The emulated 社会保障卡 (模拟社保卡) — TRAINING / TEST emulator, holding TEST keys, never for production.

Implements the card side of ``docs/card-protocol.md`` from that document alone: SSSE with EF05/EF06,
the 金融 application with its PAN, T=0 response rules, PIN and key try counters, MAC-checked
RELOAD/UNBLOCK and atomic record updates. `process` answers every byte string with data ‖ SW and
never raises, except `PowerLoss` when the power-loss test hook fires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Final

from counter_app.emulator import card_files, card_pin, card_security, sw
from counter_app.emulator.apdu import Command, Shape
from counter_app.emulator.dispatch import CommandSpec, evaluate, p1p2
from counter_app.emulator.encoding import is_blank
from counter_app.emulator.errors import PowerLoss
from counter_app.emulator.image import CardImage
from counter_app.emulator.layout import FINANCE_SFI, Profile
from counter_app.emulator.state import Application, CardState, PowerLossMode, Session
from counter_app.emulator.t0 import Reply, get_response

Handler = Callable[[CardState, Command, bytes | None], Reply]

ATR_PREFIX: Final = bytes.fromhex("3B6D0000")  # T=0, TB1 = TC1 = 00, 13 historical bytes
HISTORICAL_PREFIX: Final = bytes.fromhex("0081454D0000000000")
GET_RESPONSE: Final = 0xC0


def _record_params(p1: int, p2: int) -> bool:
    """Single-record forms (§3.3): P1 ≠ 00, P2 bits 3–1 = 000 (tag) or 100 (record number)."""
    return p1 != 0x00 and p2 & 0x07 in (card_files.BY_TAG, card_files.BY_NUMBER)


def _read_params(p1: int, p2: int) -> bool:
    """READ RECORD also takes bits 101, all records from P1 (§3.3.1)."""
    return _record_params(p1, p2) or (p1 != 0x00 and p2 & 0x07 == card_files.FROM_NUMBER)


def _get_response(state: CardState, command: Command, challenge: bytes | None) -> Reply:
    return get_response(command.le, state.session.pending)


def _files(handler: Callable[[CardState, Command], Reply]) -> Handler:
    return lambda state, command, challenge: handler(state, command)


_READ_RECORD: Final = 0xB2

COMMANDS: Final[Mapping[int, CommandSpec[Handler]]] = MappingProxyType(
    {
        0xA4: CommandSpec(
            0x00,
            Shape.IN,
            lambda p1, p2: p1 in (0x04, 0x00, 0x02) and p2 in (0x00, 0x0C),
            _files(card_files.select),
        ),
        GET_RESPONSE: CommandSpec(0x00, Shape.OUT, p1p2((0, 0)), _get_response),
        _READ_RECORD: CommandSpec(0x00, Shape.OUT, _read_params, _files(card_files.read_record)),
        0xDC: CommandSpec(
            0x00, Shape.IN, _record_params, _files(card_files.update_record), needs_application=True
        ),
        0x84: CommandSpec(0x00, Shape.OUT, p1p2((0, 0)), card_security.get_challenge),
        0x82: CommandSpec(
            0x00,
            Shape.IN,
            lambda p1, p2: p1 == 0,
            card_security.external_authenticate,
            needs_application=True,
        ),
        0x88: CommandSpec(
            0x00,
            Shape.IN,
            lambda p1, p2: p1 == 0,
            card_security.internal_authenticate,
            needs_application=True,
        ),
        0x20: CommandSpec(0x00, Shape.VERIFY, p1p2((0, 0)), card_pin.verify, needs_application=True),
        0x5E: CommandSpec(
            0x80, Shape.IN, p1p2((0, 0), (1, 0)), card_pin.change_or_reload, needs_application=True
        ),
        0x24: CommandSpec(0x84, Shape.IN, p1p2((0, 0)), card_pin.unblock_pin, needs_application=True),
    }
)

# The multi-record read switched off (hook of §3.16): READ RECORD bits 101 fail step 3 → 6A86.
COMMANDS_WITHOUT_MULTI_READ: Final[Mapping[int, CommandSpec[Handler]]] = MappingProxyType(
    {
        **COMMANDS,
        _READ_RECORD: CommandSpec(0x00, Shape.OUT, _record_params, _files(card_files.read_record)),
    }
)


class EmulatedCard:
    """模拟社保卡: one card, created from a `CardImage` (see `testcards.build_card`).

    TEST keys only. The inspection helpers (`record`, `pin_tries_left`, `pin_matches` …) and the
    fault hooks (`fixed_challenges`, `power_loss_on_next_update`) are for tests and training; a
    terminal only ever sees `atr` and `process`.
    """

    def __init__(self, image: CardImage) -> None:
        self._state = CardState.from_image(image)
        self._commands = COMMANDS if image.multi_record_read else COMMANDS_WITHOUT_MULTI_READ

    # --- the card interface -------------------------------------------------------------------

    def atr(self) -> bytes:
        """ATR: ``3B 6D 00 00`` ‖ ``00 81 45 4D 00 00 00 00 00`` ‖ 卡识别码 bytes 9–12 (§1.5)."""
        return ATR_PREFIX + HISTORICAL_PREFIX + self.card_id[8:12]

    def power_on(self) -> None:
        """Cold reset: clears the volatile state (MF current, ``S`` empty, no challenge …)."""
        self._state.session = Session()

    def reset(self) -> None:
        """Warm reset: the same as `power_on` for this card."""
        self.power_on()

    def process(self, command: bytes | bytearray) -> bytes:
        """Answer one command APDU with response data ‖ SW1 SW2."""
        session = self._state.session
        challenge, session.challenge = session.challenge, None  # consumed by any command (§3.5)
        is_get_response = len(command) >= 2 and command[0] == 0x00 and command[1] == GET_RESPONSE
        if not is_get_response:
            session.pending = None  # R5
        try:
            reply = self._answer(command, challenge)
        except PowerLoss:
            self._state.session = Session()
            raise
        session.pending = reply.pending
        return reply.encode()

    def _answer(self, command: bytes | bytearray, challenge: bytes | None) -> Reply:
        evaluated = evaluate(command, self._commands)
        if isinstance(evaluated, int):
            return Reply(evaluated, pending=self._state.session.pending)
        spec, parsed = evaluated
        if spec.needs_application and self._state.session.application is not Application.SSSE:
            return Reply(sw.CONDITIONS_NOT_SATISFIED, pending=self._state.session.pending)
        return spec.handler(self._state, parsed, challenge)

    # --- test hooks (§3.16) -------------------------------------------------------------------

    def fixed_challenges(self, seq: Iterable[bytes]) -> None:
        """The next GET CHALLENGEs answer these 8-byte values in order, then random ones again."""
        self._state.challenges.use(seq)

    def power_loss_on_next_update(self, mode: PowerLossMode) -> None:
        """The next UPDATE RECORD that passes its checks loses power before or after its commit."""
        if mode not in ("before_commit", "after_commit"):
            raise ValueError(f"unknown power-loss mode {mode!r}")
        self._state.power_loss = mode

    # --- read-only inspection for tests -------------------------------------------------------

    @property
    def multi_record_read(self) -> bool:
        """Whether the card supports READ RECORD of all records from P1 (§3.3.1; hook §3.16)."""
        return self._state.memory.image.multi_record_read

    @property
    def profile(self) -> Profile:
        return self._state.memory.image.profile

    @property
    def card_id(self) -> bytes:
        """卡识别码, 16 bytes."""
        return self._state.memory.image.card_id

    @property
    def pin_tries_left(self) -> int:
        return self._state.memory.pin_tries

    def pin_matches(self, pin: str) -> bool:
        """Test-only: whether ``pin`` is the stored PIN (the card itself never reveals it)."""
        return pin == self._state.memory.pin

    def key_tries_left(self, index: int) -> int:
        """Tries left of external-auth key ``index`` (0A or 04)."""
        return self._state.memory.key_tries[index]

    @property
    def security_state(self) -> frozenset[int]:
        """``S``: the key indices authenticated since the last reset or SELECT."""
        return frozenset(self._state.session.security)

    @property
    def pin_verified(self) -> bool:
        return self._state.session.pin_verified

    def record(self, sfi: int, tag: int) -> bytes | None:
        """The stored value of SSSE record ``tag`` in EF ``sfi``; None when blank (all FF) or absent."""
        file = self._state.memory.files[Application.SSSE].get(sfi)
        found = file.by_tag(tag) if file is not None else None
        if found is None or is_blank(found.value):
            return None
        return found.value

    @property
    def pan(self) -> str:
        """The 金融 application's PAN (digits)."""
        template = self._state.memory.files[Application.FINANCE][FINANCE_SFI].records[0].value
        return template[2:].hex().upper().rstrip("F")
