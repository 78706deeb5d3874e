"""ATR historical bytes (复位信息历史字节), card-protocol §1.5.

K = low nibble of T0; the interface bytes TA/TB/TC/TD of each level are skipped as flagged by the
high nibble of T0 and of each TDi; the next K bytes are the historical bytes. The terminal does not
interpret them; it only shows them (iReadCardBas field 6). A truncated ATR gives what is there.
"""

from __future__ import annotations

__all__ = ["historical_bytes"]


def historical_bytes(atr: bytes) -> bytes:
    """The historical bytes of ``atr`` (TS first), possibly fewer than K when the ATR is truncated."""
    if len(atr) < 2:
        return b""
    t0 = atr[1]
    count = t0 & 0x0F
    flags = t0 >> 4
    pos = 2
    while True:
        pos += bin(flags & 0x07).count("1")  # TA, TB, TC of this level
        if not flags & 0x08:
            break
        if pos >= len(atr):
            return b""
        flags = atr[pos] >> 4  # TDi: the next level's flags
        pos += 1
    return bytes(atr[pos : pos + count])
