"""PIN blocks (个人密码) of card-protocol §3.8: cn, 4–16 digits, an odd count ends with an ``F`` nibble."""

from __future__ import annotations

MIN_DIGITS = 4
MIN_BYTES = 2
MAX_BYTES = 8


def decode_pin(block: bytes) -> str | None:
    """The digits of a PIN block, or None when its format is wrong (→ ``6A80``).

    Wrong: a length outside 2–8 bytes, a nibble A–F other than one final ``F``, or fewer than
    4 digits (``12 3F``, which Lc ``02`` allows by length).
    """
    if not MIN_BYTES <= len(block) <= MAX_BYTES:
        return None
    digits = block.hex().upper()
    if digits.endswith("F"):
        digits = digits[:-1]
    if not digits.isdecimal() or len(digits) < MIN_DIGITS:
        return None
    return digits
