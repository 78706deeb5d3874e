"""Status words (状态字) the emulated card and PSAM answer (card-protocol §8.1)."""

from __future__ import annotations

from typing import Final

OK: Final = 0x9000
WRONG_LENGTH: Final = 0x6700
SECURITY_NOT_SATISFIED: Final = 0x6982
BLOCKED: Final = 0x6983
NO_CHALLENGE: Final = 0x6984
CONDITIONS_NOT_SATISFIED: Final = 0x6985
NO_CURRENT_EF: Final = 0x6986
MAC_WRONG: Final = 0x6988
WRONG_DATA: Final = 0x6A80
NOT_FOUND: Final = 0x6A82
RECORD_NOT_FOUND: Final = 0x6A83
WRONG_P1P2: Final = 0x6A86
KEY_NOT_FOUND: Final = 0x6A88
INS_NOT_SUPPORTED: Final = 0x6D00
CLA_NOT_SUPPORTED: Final = 0x6E00


def bytes_pending(length: int) -> int:
    """``61 LL``: LL bytes wait for GET RESPONSE."""
    return 0x6100 | (length & 0xFF)


def wrong_le(length: int) -> int:
    """``6C LL``: resend with Le = LL."""
    return 0x6C00 | (length & 0xFF)


def tries_left(count: int) -> int:
    """``63Cx`` for x ≥ 1 tries left, ``6983`` when none are left."""
    return 0x63C0 | count if count > 0 else BLOCKED
