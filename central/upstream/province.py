"""Simulated provincial card system (省社保卡系统): 卡号 allocation and the card factory's 回盘.

卡号 (9 characters): a letter, 7 digits and the check character of GB 11714 style (weights
3 7 9 10 5 8 4 2, A–Z count 10–35, ``c = 11 - sum mod 11``, 10 → X, 11 → 0) — the same rule
``counter_app.domain.identity.check_card_number`` verifies. The simulation derives the number from
the card's record id (``L`` for the first ten million, then ``M`` …), so it is unique without a
sequence table; the real province hands out numbers from its own ranges.

卡识别码 (32 hex): the issuing region (6 digits) + ``D156000005`` + 16 hex characters.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date

from counter_app.domain.identity import CARD_IDENTIFIER_MARKER, card_number_check_character

_BLOCK = 10_000_000
_FIRST_LETTER = ord("L")
#: Years a card is valid (卡有效期).
VALIDITY_YEARS = 10


def card_number_for(serial: int) -> str:
    """The simulated province's 卡号 for a serial (the card's record id)."""
    block, rest = divmod(serial, _BLOCK)
    letter = _FIRST_LETTER + block
    if serial < 0 or letter > ord("Z"):
        raise ValueError(f"card serial out of the simulated range: {serial}")
    body = f"{chr(letter)}{rest:07d}"
    return body + card_number_check_character(body)


def card_identifier(region: str, rng: random.Random | None = None) -> str:
    """A fresh 卡识别码 for a card issued in ``region`` (random tail; ``rng`` for reproducible data)."""
    tail = f"{rng.getrandbits(64):016X}" if rng is not None else secrets.token_hex(8).upper()
    return f"{region}{CARD_IDENTIFIER_MARKER}{tail}"


def expiry_for(issued_on: date) -> date:
    """卡有效期: ten years after issue (29 February → 28 February)."""
    try:
        return issued_on.replace(year=issued_on.year + VALIDITY_YEARS)
    except ValueError:
        return issued_on.replace(year=issued_on.year + VALIDITY_YEARS, day=28)


@dataclass(frozen=True)
class FactoryRecord:
    """One card of a 回盘: what the factory made for one application."""

    card_id: int
    card_number: str
    card_identifier: str
    account_masked: str
    issued_on: date
    expires_on: date
    spec_version: str = "3.00"
