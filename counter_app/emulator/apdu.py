"""Command APDU (命令报文) parsing for the emulated card and PSAM (card-protocol §1.3).

Short APDUs only. The same bytes can be case 2 or a data command without data, so the parser
is told the shape the INS expects; a form that does not fit gives None (the caller answers 6700).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Shape(enum.Enum):
    """Which APDU forms an INS accepts."""

    OUT = "out"  # case 1 or 2: no data in, maybe data out (READ RECORD, GET CHALLENGE …)
    IN = "in"  # case 3 or 4: data in; a trailing Le is kept for R2 or ignored
    VERIFY = "verify"  # as IN, plus the empty forms `00 20 00 00` and `00 20 00 00 00`


@dataclass(frozen=True)
class Command:
    """One parsed command APDU. ``le`` is the raw Le byte (``00`` means 256) or None."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None
    lc: int | None

    @property
    def header(self) -> bytes:
        """``CLA INS P1 P2`` and, when the command has one, ``Lc`` (what a MAC covers)."""
        tail = bytes([self.lc]) if self.lc is not None else b""
        return bytes([self.cla, self.ins, self.p1, self.p2]) + tail


def parse(raw: bytes | bytearray, shape: Shape) -> Command | None:
    """Split ``raw`` into a `Command` of the given shape; None when the form does not fit (→ 6700)."""
    n = len(raw)
    if n < 4:
        return None
    cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
    data = b""
    le: int | None = None
    lc: int | None = None
    if n == 4:
        if shape is Shape.IN:
            return None
    elif n == 5:
        if shape is Shape.OUT:
            le = raw[4]
        elif shape is Shape.VERIFY and raw[4] == 0:
            lc = 0
        else:  # Lc = P3 with no data
            return None
    else:
        if shape is Shape.OUT:
            return None
        lc = raw[4]
        if n == 5 + lc:
            data = bytes(raw[5:])
        elif n == 6 + lc:
            data = bytes(raw[5:-1])
            le = raw[-1]
        else:
            return None
    return Command(cla, ins, p1, p2, data, le, lc)
