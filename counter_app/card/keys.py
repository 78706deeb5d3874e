"""The PSAM key provider (PSAM卡密钥运算), card-protocol §3.13–§3.14, over a second `CardTransport`.

The PSAM holds the master keys and diversifies them per card; the host only ever sees cryptograms
and MACs. A session starts once (SELECT ``D15600000590``, then READ BINARY of 终端机编号) and is
opened again after the PSAM was reset or removed. Every computation sends INIT FOR PURPOSE with the
purpose's key index and the card's 卡识别码, then CIPHER DATA, then GET RESPONSE (T1).

A fault of the PSAM's reader is raised as `PsamUnavailable` (a `CardError`), never as the port's
`TransportError`, so it cannot be taken for the citizen's card leaving its reader.

The MAC input of RELOAD PIN carries the new PIN: that CIPHER DATA command is redacted in the trace
and its buffer wiped.
"""

from __future__ import annotations

from counter_app.card.apdu import Channel, Command, wipe
from counter_app.card.errors import ProtocolError, PsamError, PsamKeyMissing, PsamUnavailable
from counter_app.card.kinds import Kind
from counter_app.card.settings import KeyIndices
from counter_app.workflows.ports import CardTransport, KeyPurpose, TransportError

__all__ = ["PSAM_AID", "PsamKeyProvider"]

PSAM_AID = bytes.fromhex("D15600000590")
_TERMINAL_ID_SFI = 0x16


class PsamKeyProvider:
    """`KeyProvider` backed by the 社会保障 PSAM in the second reader (PSAM卡)."""

    def __init__(self, transport: CardTransport, key_indices: KeyIndices | None = None) -> None:
        self._channel = Channel(transport, "psam")
        self._indices = key_indices or KeyIndices()
        self._terminal_id: str | None = None

    def _open(self) -> str:
        """SELECT the PSAM application and read 终端机编号, once per PSAM session."""
        if self._terminal_id is None:
            self._channel.command(Command(0x00, 0xA4, 0x04, 0x00, PSAM_AID, kind=Kind.PSAM_SELECT))
            raw = self._channel.command(
                Command(0x00, 0xB0, 0x80 | _TERMINAL_ID_SFI, 0x00, le=0x06, kind=Kind.PSAM_READ_BINARY)
            )
            digits = raw.hex().upper()
            if len(raw) != 6 or not digits.isdigit():
                raise ProtocolError("PSAM 终端机编号不是 12 位数字")
            self._terminal_id = digits
        return self._terminal_id

    def _run(self, purpose: KeyPurpose, diversifier: bytes, cipher: Command) -> bytes:
        if len(diversifier) != 16:
            raise ValueError("diversifier must be the 16-byte 卡识别码")
        init = Command(0x80, 0x1A, self._indices.index(purpose), 0x00, diversifier, kind=Kind.PSAM_INIT)
        try:
            reopened = self._terminal_id is None
            self._open()
            try:
                self._channel.command(init)
            except PsamError as error:
                if error.sw != 0x6985 or reopened:
                    raise
                self._terminal_id = None  # reset behind our back (application no longer selected)
                self._open()
                self._channel.command(init)
            return self._channel.command(cipher)
        except PsamKeyMissing as missing:
            if purpose is KeyPurpose.READ_AUTH:
                raise PsamKeyMissing(missing.sw or 0x6A88, read_auth=True) from None
            raise
        except TransportError as error:
            self._terminal_id = None  # the PSAM was reset or removed: open a new session next time
            raise PsamUnavailable(str(error) or type(error).__name__) from error

    def cryptogram(self, purpose: KeyPurpose, diversifier: bytes, challenge: bytes) -> bytes:
        """``SM4(K_card, challenge ‖ 00×8)`` computed by the PSAM (CIPHER DATA ``80 FA 00 00``)."""
        if len(challenge) != 8:
            raise ValueError("challenge must be 8 bytes")
        answer = self._run(
            purpose, diversifier, Command(0x80, 0xFA, 0x00, 0x00, bytes(challenge), kind=Kind.PSAM_CIPHER)
        )
        if len(answer) != 16:
            raise ProtocolError(f"PSAM 返回的密文为 {len(answer)} 字节，应为 16 字节")
        return answer

    def mac(
        self, purpose: KeyPurpose, diversifier: bytes, challenge: bytes, data: bytes | bytearray
    ) -> bytes:
        """4-byte MAC over ``data`` with IV = challenge ‖ 00×8 (CIPHER DATA ``80 FA 01 00``).

        ``data`` may be a ``bytearray`` (RELOAD PIN: it holds the new PIN); it is copied into a
        buffer that is wiped after sending, and the command is redacted in the trace.
        """
        if len(challenge) != 8:
            raise ValueError("challenge must be 8 bytes")
        if len(data) > 247:
            raise ValueError("MAC data longer than 247 bytes")
        buffer = bytearray(challenge)
        buffer += data
        try:
            answer = self._run(
                purpose,
                diversifier,
                Command(0x80, 0xFA, 0x01, 0x00, buffer, kind=Kind.PSAM_CIPHER, secret=True),
            )
        finally:
            wipe(buffer)
        if len(answer) != 4:
            raise ProtocolError(f"PSAM 返回的 MAC 为 {len(answer)} 字节，应为 4 字节")
        return answer

    def terminal_id(self) -> str:
        """终端机编号 from EF 0016 of the PSAM (12 digits)."""
        try:
            return self._open()
        except TransportError as error:
            self._terminal_id = None
            raise PsamUnavailable(str(error) or type(error).__name__) from error
