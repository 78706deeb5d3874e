"""T=0 response delivery (T=0 响应规则 R1–R4, card-protocol §1.4), shared by card and PSAM."""

from __future__ import annotations

from dataclasses import dataclass

from counter_app.emulator import sw


@dataclass(frozen=True)
class Reply:
    """What one command answers: data, status word and the data left pending for GET RESPONSE."""

    sw: int
    data: bytes = b""
    pending: bytes | None = None

    @property
    def delivered(self) -> bool:
        """True when the command did its work (``9000`` or ``61xx``), False for any error or ``6Cxx``."""
        return self.sw == sw.OK or self.sw >> 8 == 0x61

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")


def status(word: int) -> Reply:
    """A reply with no data."""
    return Reply(word)


def _le_length(le: int) -> int:
    return 256 if le == 0 else le


def case2(le: int | None, data: bytes) -> Reply:
    """R3: a case-2 command answers its data only when Le equals its length, else ``6C LL``."""
    if le is not None and _le_length(le) == len(data):
        return Reply(sw.OK, data)
    return Reply(sw.wrong_le(len(data)))


def case4(le: int | None, data: bytes) -> Reply:
    """R1/R2: a command with data that returns data: ``61 LL`` without Le; Le ``00``/LL → data."""
    if le is None:
        return Reply(sw.bytes_pending(len(data)), pending=data)
    if le in (0, len(data)):
        return Reply(sw.OK, data)
    return Reply(sw.wrong_le(len(data)))


def get_response(le: int | None, pending: bytes | None) -> Reply:
    """R4: the pending data when Le equals its length; ``6985`` when nothing is pending."""
    if pending is None:
        return status(sw.CONDITIONS_NOT_SATISFIED)
    if le is not None and _le_length(le) == len(pending):
        return Reply(sw.OK, pending)
    return Reply(sw.wrong_le(len(pending)), pending=pending)
