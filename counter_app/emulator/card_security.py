"""Security commands of the emulated card (安全认证): GET CHALLENGE, EXTERNAL / INTERNAL AUTHENTICATE.

card-protocol §3.5–§3.7. ``challenge`` is the one the previous command left; the dispatcher has
already consumed it, whatever this command does.
"""

from __future__ import annotations

import hmac

from counter_app.emulator import sw
from counter_app.emulator.apdu import Command
from counter_app.emulator.crypto import cryptogram, sm4_ecb
from counter_app.emulator.keys import EXTERNAL_AUTH_KEYS, EXTERNAL_AUTH_TRIES, INTERNAL_AUTH
from counter_app.emulator.state import CardState
from counter_app.emulator.t0 import Reply, case4, status

CHALLENGE_LENGTH = 8
CRYPTOGRAM_LENGTH = 16


def get_challenge(state: CardState, command: Command, challenge: bytes | None) -> Reply:
    """8 random (or fixed) bytes; Le ≠ 08 → ``6C08`` and no challenge is made."""
    if command.le != CHALLENGE_LENGTH:
        return status(sw.wrong_le(CHALLENGE_LENGTH))
    state.session.challenge = state.challenges.next()
    return Reply(sw.OK, state.session.challenge)


def external_authenticate(state: CardState, command: Command, challenge: bytes | None) -> Reply:
    """外部认证 with key P2 (0A or 04): adds P2 to S, or counts a failure (15 tries)."""
    if len(command.data) != CRYPTOGRAM_LENGTH:
        return status(sw.WRONG_LENGTH)
    index = command.p2
    if index not in EXTERNAL_AUTH_KEYS:
        return status(sw.KEY_NOT_FOUND)
    tries = state.memory.key_tries
    if tries[index] == 0:
        return status(sw.BLOCKED)
    if challenge is None:
        return status(sw.NO_CHALLENGE)
    expected = cryptogram(state.memory.image.keys[index], challenge)
    if hmac.compare_digest(expected, command.data):
        state.session.security.add(index)
        tries[index] = EXTERNAL_AUTH_TRIES
        return status(sw.OK)
    state.session.security.discard(index)
    tries[index] -= 1
    return status(sw.tries_left(tries[index]))


def internal_authenticate(state: CardState, command: Command, challenge: bytes | None) -> Reply:
    """内部认证: ``SM4_ECB(K_card[08], data)`` of whatever 16 bytes arrive, by R1/R2."""
    if len(command.data) != CRYPTOGRAM_LENGTH:
        return status(sw.WRONG_LENGTH)
    if command.p2 != INTERNAL_AUTH:
        return status(sw.KEY_NOT_FOUND)
    return case4(command.le, sm4_ecb(state.memory.image.keys[INTERNAL_AUTH], command.data))
