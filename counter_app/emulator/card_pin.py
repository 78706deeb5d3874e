"""PIN commands of the emulated card (密码操作): VERIFY, CHANGE PIN, RELOAD PIN, PIN UNBLOCK.

card-protocol §3.8–§3.12: 6 tries (乐山), ``63C5`` … ``63C1`` then ``6983``; RELOAD and UNBLOCK are
MAC-checked with the card's keys 06 and 07 and the challenge of the previous command.
"""

from __future__ import annotations

import hmac

from counter_app.emulator import sw
from counter_app.emulator.apdu import Command
from counter_app.emulator.crypto import mac
from counter_app.emulator.image import PIN_TRIES
from counter_app.emulator.keys import PIN_RELOAD, PIN_UNBLOCK
from counter_app.emulator.pin import MAX_BYTES, MIN_BYTES, decode_pin
from counter_app.emulator.state import CardState
from counter_app.emulator.t0 import Reply, status

MAC_LENGTH = 4
SEPARATOR = 0xFF
CHANGE_PIN_P1 = 0x01


def _check(state: CardState, pin: str) -> bool:
    """Compare with the stored PIN and count: right → 6 tries, wrong → one less."""
    memory = state.memory
    if hmac.compare_digest(pin.encode(), memory.pin.encode()):
        memory.pin_tries = PIN_TRIES
        return True
    memory.pin_tries -= 1
    return False


def verify(state: CardState, command: Command, challenge: bytes | None) -> Reply:
    """VERIFY; empty VERIFY reports the tries left without counting."""
    memory = state.memory
    if not command.data:
        return status(sw.tries_left(memory.pin_tries))
    if not MIN_BYTES <= len(command.data) <= MAX_BYTES:
        return status(sw.WRONG_LENGTH)
    if memory.pin_tries == 0:
        return status(sw.BLOCKED)
    pin = decode_pin(command.data)
    if pin is None:
        return status(sw.WRONG_DATA)
    if _check(state, pin):
        state.session.pin_verified = True
        return status(sw.OK)
    return status(sw.tries_left(memory.pin_tries))


def change_or_reload(state: CardState, command: Command, challenge: bytes | None) -> Reply:
    """INS 5E: P1 01 is CHANGE PIN, P1 00 RELOAD PIN."""
    if command.p1 == CHANGE_PIN_P1:
        return change_pin(state, command)
    return reload_pin(state, command, challenge)


def change_pin(state: CardState, command: Command) -> Reply:
    """CHANGE PIN ``old ‖ FF ‖ new``; a wrong old PIN counts as a wrong VERIFY."""
    memory = state.memory
    if memory.pin_tries == 0:
        return status(sw.BLOCKED)
    separator = command.data.find(SEPARATOR)
    if separator < 0:
        return status(sw.WRONG_DATA)
    old = decode_pin(command.data[:separator])
    new = decode_pin(command.data[separator + 1 :])
    if old is None or new is None:
        return status(sw.WRONG_DATA)
    if not _check(state, old):
        return status(sw.tries_left(memory.pin_tries))
    memory.pin = new
    return status(sw.OK)


def reload_pin(state: CardState, command: Command, challenge: bytes | None) -> Reply:
    """RELOAD PIN (密码重置) ``newPIN ‖ MAC``: new PIN, counter 6, also when locked."""
    data = command.data
    if not MIN_BYTES + MAC_LENGTH <= len(data) <= MAX_BYTES + MAC_LENGTH:
        return status(sw.WRONG_LENGTH)
    if challenge is None:
        return status(sw.NO_CHALLENGE)
    block, received = data[:-MAC_LENGTH], data[-MAC_LENGTH:]
    expected = mac(state.memory.image.keys[PIN_RELOAD], challenge, command.header + block)
    if not hmac.compare_digest(expected, received):
        return status(sw.MAC_WRONG)
    pin = decode_pin(block)
    if pin is None:
        return status(sw.WRONG_DATA)
    state.memory.pin = pin
    state.memory.pin_tries = PIN_TRIES
    return status(sw.OK)


def unblock_pin(state: CardState, command: Command, challenge: bytes | None) -> Reply:
    """PIN UNBLOCK (解锁) ``MAC``: counter 6, PIN unchanged."""
    if len(command.data) != MAC_LENGTH:
        return status(sw.WRONG_LENGTH)
    if challenge is None:
        return status(sw.NO_CHALLENGE)
    expected = mac(state.memory.image.keys[PIN_UNBLOCK], challenge, command.header)
    if not hmac.compare_digest(expected, command.data):
        return status(sw.MAC_WRONG)
    state.memory.pin_tries = PIN_TRIES
    return status(sw.OK)
