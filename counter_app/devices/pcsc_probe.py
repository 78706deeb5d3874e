"""A one-off, read-only look at the PC/SC service and its readers (读卡器诊断), for ``diagnose``.

Unlike `PcscDevices` nothing here keeps running: one context, a few calls, released. It sends no
APDU of its own; `PcscProbe.connect` hands one card to the caller as a `CardTransport`. That
connection is exclusive, so the probe never interleaves its commands with another program's session
on the same card (the workstation's, say): when another program holds the card, the reader is
reported busy instead. Cards are left as they are on disconnect (no reset, no power-off).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from smartcard import scard

from counter_app.devices.pcsc import CARD_GONE, SERVICE_GONE, transmit_result
from counter_app.workflows.ports import CardRemovedError, TransportError

__all__ = [
    "PART10_FEATURES",
    "FeatureReport",
    "PcscProbe",
    "PcscUnavailable",
    "ProbeTransport",
    "ReaderBusy",
    "ReaderState",
    "parse_features",
]

CM_IOCTL_GET_FEATURE_REQUEST = scard.SCARD_CTL_CODE(3400)

#: PC/SC Part 10 feature tags (PC/SC v2.02.09 part 10, §2.3) and their names
PART10_FEATURES = {
    0x01: "VERIFY_PIN_START",
    0x02: "VERIFY_PIN_FINISH",
    0x03: "MODIFY_PIN_START",
    0x04: "MODIFY_PIN_FINISH",
    0x05: "GET_KEY_PRESSED",
    0x06: "VERIFY_PIN_DIRECT",
    0x07: "MODIFY_PIN_DIRECT",
    0x08: "MCT_READER_DIRECT",
    0x09: "MCT_UNIVERSAL",
    0x0A: "IFD_PIN_PROPERTIES",
    0x0B: "ABORT",
    0x0C: "SET_SPE_MESSAGE",
    0x0D: "VERIFY_PIN_DIRECT_APP_ID",
    0x0E: "MODIFY_PIN_DIRECT_APP_ID",
    0x0F: "WRITE_DISPLAY",
    0x10: "GET_KEY",
    0x11: "IFD_DISPLAY_PROPERTIES",
    0x12: "GET_TLV_PROPERTIES",
    0x13: "CCID_ESC_COMMAND",
    0x20: "EXECUTE_PACE",
}
PIN_PAD_FEATURES = frozenset({"VERIFY_PIN_DIRECT", "MODIFY_PIN_DIRECT", "VERIFY_PIN_START"})


def hresult_text(hresult: int) -> str:
    """``Service not available，0x8010001D`` for a PC/SC return code."""
    return f"{scard.SCardGetErrorMessage(hresult).strip().rstrip('.')}，0x{hresult & 0xFFFFFFFF:08X}"


class PcscUnavailable(Exception):
    """The PC/SC service (pcscd, Windows 智能卡服务) is not running or not reachable."""

    def __init__(self, hresult: int) -> None:
        super().__init__(hresult_text(hresult))
        self.hresult = hresult


class ReaderBusy(TransportError):
    """Another program holds the card in this reader (读卡器正被其他程序使用)."""


@dataclass(frozen=True)
class ReaderState:
    """What the PC/SC service says about one reader without connecting to it."""

    name: str
    present: bool
    atr: bytes = b""
    in_use: bool = False  # some program holds a connection to the card
    mute: bool = False  # a card is in, but it does not answer the reset


@dataclass(frozen=True)
class FeatureReport:
    """The reader's PC/SC Part 10 features (扩展功能): supported None = could not be asked."""

    supported: bool | None
    features: tuple[str, ...] = field(default=())
    detail: str = ""

    @property
    def pin_pad(self) -> bool:
        """Whether the reader offers secure PIN entry (带密码键盘)."""
        return bool(PIN_PAD_FEATURES & set(self.features))


def parse_features(tlv: bytes) -> tuple[str, ...]:
    """Feature names from a GET_FEATURE_REQUEST answer: ``tag 04 ctl-code(4)`` repeated."""
    names = []
    i = 0
    while i + 2 <= len(tlv):
        tag, length = tlv[i], tlv[i + 1]
        names.append(PART10_FEATURES.get(tag, f"0x{tag:02X}"))
        i += 2 + length
    return tuple(names)


class ProbeTransport:
    """`CardTransport` over one exclusive connection of a `PcscProbe` (single-threaded use)."""

    def __init__(self, reader: str, handle: int, protocol: int, atr: bytes) -> None:
        self._reader = reader
        self._handle = handle
        self._pci = scard.SCARD_PCI_T0 if protocol == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1
        self._atr = atr

    @property
    def reader_name(self) -> str:
        return self._reader

    def atr(self) -> bytes:
        return self._atr

    def transmit(self, command: bytes | bytearray) -> bytes:
        hresult, response = scard.SCardTransmit(self._handle, self._pci, list(command))
        return transmit_result(hresult, response)


class PcscProbe:
    """One PC/SC context for a diagnosis; use it as a context manager."""

    def __init__(self) -> None:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise PcscUnavailable(hresult)
        self._context = context

    def __enter__(self) -> PcscProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._context is not None:
            scard.SCardReleaseContext(self._context)
            self._context = None

    def readers(self) -> list[str]:
        """Every reader the service knows, in its order."""
        hresult, readers = scard.SCardListReaders(self._context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult in SERVICE_GONE:
            raise PcscUnavailable(hresult)
        if hresult != scard.SCARD_S_SUCCESS:
            raise TransportError(f"无法列出读卡器（{hresult_text(hresult)}）")
        return [str(r) for r in readers]

    def states(self, readers: list[str]) -> list[ReaderState]:
        """Presence, ATR and use of each reader, as the service knows them right now."""
        if not readers:
            return []
        hresult, states = scard.SCardGetStatusChange(
            self._context, 0, [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
        )
        if hresult in SERVICE_GONE:
            raise PcscUnavailable(hresult)
        if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            raise TransportError(f"无法读取读卡器状态（{hresult_text(hresult)}）")
        result = []
        for reader, state, atr in states:
            mute = bool(state & scard.SCARD_STATE_MUTE)
            result.append(
                ReaderState(
                    name=str(reader),
                    present=bool(state & scard.SCARD_STATE_PRESENT),
                    atr=bytes(atr),
                    in_use=bool(state & (scard.SCARD_STATE_INUSE | scard.SCARD_STATE_EXCLUSIVE)),
                    mute=mute,
                )
            )
        return result

    def features(self, reader: str) -> FeatureReport:
        """PC/SC Part 10 features through a direct connection (works without a card, powers nothing)."""
        hresult, handle, _ = scard.SCardConnect(self._context, reader, scard.SCARD_SHARE_DIRECT, 0)
        if hresult != scard.SCARD_S_SUCCESS:
            return FeatureReport(None, detail=f"无法直接连接读卡器（{hresult_text(hresult)}）")
        try:
            hresult, answer = scard.SCardControl(handle, CM_IOCTL_GET_FEATURE_REQUEST, [])
        finally:
            scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
        if hresult in (scard.SCARD_E_UNSUPPORTED_FEATURE, scard.SCARD_E_INVALID_PARAMETER):
            return FeatureReport(False, detail=hresult_text(hresult))
        if hresult != scard.SCARD_S_SUCCESS:
            return FeatureReport(None, detail=f"查询失败（{hresult_text(hresult)}）")
        return FeatureReport(True, parse_features(bytes(answer)))

    @contextmanager
    def connect(self, reader: str) -> Iterator[ProbeTransport]:
        """The card in ``reader``, exclusively; `ReaderBusy` when another program holds it."""
        hresult, handle, protocol = scard.SCardConnect(
            self._context,
            reader,
            scard.SCARD_SHARE_EXCLUSIVE,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult == scard.SCARD_E_SHARING_VIOLATION:
            raise ReaderBusy("读卡器正被其他程序使用（如柜面主程序），未读卡")
        if hresult in CARD_GONE:
            raise CardRemovedError(f"无法连接卡片（{hresult_text(hresult)}）")
        if hresult != scard.SCARD_S_SUCCESS:
            raise TransportError(f"无法连接卡片（{hresult_text(hresult)}）")
        try:
            hresult, _, _, _, atr = scard.SCardStatus(handle)
            yield ProbeTransport(reader, handle, protocol, bytes(atr) if hresult == 0 else b"")
        finally:
            scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
