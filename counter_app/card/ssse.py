"""The SSSE application (社会保障系统环境) on the card: select, read, update, authenticate.

The building blocks the card operations share (card-protocol §3.1–§3.6): SELECT by AID with the FCI
and its 算法标识, READ/UPDATE RECORD by tag with SFI, the optional multi-record READ RECORD of a
whole EF (§3.3.1), GET CHALLENGE and EXTERNAL AUTHENTICATE with a cryptogram from the `KeyProvider`.
Key operations run only when the card's 算法标识 is supported.
"""

from __future__ import annotations

import functools

from counter_app.card import tlv
from counter_app.card.apdu import Channel, Command
from counter_app.card.errors import AlgorithmNotSupported, NoKeyProvider, ProtocolError, TlvFormatError
from counter_app.card.kinds import Kind
from counter_app.card.records import Field, file_length, parse_record, split_records
from counter_app.card.settings import CardSettings
from counter_app.card.status import error_for
from counter_app.workflows.ports import KeyProvider, KeyPurpose

__all__ = ["DEFAULT_ALGORITHM", "MULTI_READ_REFUSALS", "SSSE_AID", "SsseApplication", "algorithm_of"]

SSSE_AID = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")  # "sx1.sh." ‖ GBK "社会保障"
DEFAULT_ALGORITHM = 0x01  # 算法标识 when the FCI has no 9F0C (spec §2.1)
ALL_RECORDS_FROM_P1 = 0x05  # READ RECORD P2 bits 3–1 = 101 (§3.3.1)
# A card without the multi-record read answers one of these (§3.3.1): read one record at a time.
MULTI_READ_REFUSALS = frozenset({0x6A86, 0x6A81, 0x6D00, 0x6A83})

# Commands are immutable: the ones every read sends are built once.
_SELECT_SSSE = Command(0x00, 0xA4, 0x04, 0x00, SSSE_AID, kind=Kind.SELECT)


@functools.lru_cache(maxsize=16)
def _read_file_command(sfi: int, le: int) -> Command:
    return Command(0x00, 0xB2, 0x01, (sfi << 3) | ALL_RECORDS_FROM_P1, le=le, kind=Kind.READ_RECORD)


def algorithm_of(fci: bytes) -> int:
    """算法标识: tag 86 inside 9F0C of the FCI; ``01`` when absent (§2.2). Raises `TlvFormatError`."""
    return _algorithm_of(bytes(fci))


# Every card of an issuer answers SELECT with the same FCI: parse each distinct FCI once. A
# malformed one is not cached (lru_cache keeps no exceptions) and raises again on every call.
@functools.lru_cache(maxsize=64)
def _algorithm_of(fci: bytes) -> int:
    container = tlv.find(tlv.parse(fci), 0x9F0C)
    if container is None:
        return DEFAULT_ALGORITHM
    inner = tlv.find(tlv.parse(container.value), 0x86)
    if inner is None:
        return DEFAULT_ALGORITHM
    if len(inner.value) != 1:
        raise TlvFormatError("算法标识应为 1 字节")
    return inner.value[0]


class SsseApplication:
    """Commands of the SSSE application over one card channel."""

    def __init__(self, channel: Channel, key_provider: KeyProvider | None, settings: CardSettings) -> None:
        self.channel = channel
        self.key_provider = key_provider
        self.settings = settings
        self.algorithm = DEFAULT_ALGORITHM

    def select(self) -> int:
        """SELECT SSSE (empties the card's security state); return its 算法标识."""
        fci = self.channel.command(_SELECT_SSSE)
        self.algorithm = algorithm_of(fci)
        return self.algorithm

    @property
    def algorithm_supported(self) -> bool:
        return self.algorithm in self.settings.supported_algorithms

    def require_key_provider(self) -> KeyProvider:
        """The key provider; `NoKeyProvider` when there is none (checked before any APDU)."""
        if self.key_provider is None:
            raise NoKeyProvider()
        return self.key_provider

    def keys(self) -> KeyProvider:
        """The key provider, when there is one and the selected card's algorithm is supported."""
        provider = self.require_key_provider()
        if not self.algorithm_supported:
            raise AlgorithmNotSupported(self.algorithm)
        return provider

    def read_raw(self, item: Field) -> bytes:
        """READ RECORD by tag with SFI, Le = L + 2: the response data ``tag ‖ L ‖ value``."""
        return self.channel.command(
            Command(0x00, 0xB2, item.tag, item.sfi << 3, le=item.length + 2, kind=Kind.READ_RECORD)
        )

    def read(self, item: Field) -> bytes:
        """The value of one item (tag and length checked)."""
        return parse_record(item, self.read_raw(item))

    def read_file(self, sfi: int, spec_version: str) -> dict[Field, bytes] | None:
        """Every item of EF ``sfi`` with one READ RECORD ``00 B2 01 SFI<<3|5 Le`` (§3.3.1).

        Le is the exact length for the 规范版本's layout (a ``6Cxx`` is resent anyway, T2). None
        when the card refuses the form (`MULTI_READ_REFUSALS`): read one record at a time instead.
        Any other status is the error a single read would give; a malformed answer raises
        `RecordFormatError`.
        """
        command = _read_file_command(sfi, file_length(sfi, spec_version))
        response = self.channel.exchange(command)
        if response.sw in MULTI_READ_REFUSALS:
            return None
        if not response.ok:
            raise error_for(response.sw, command.kind)
        return split_records(sfi, response.data, spec_version)

    def update(self, item: Field, data: bytes) -> None:
        """UPDATE RECORD by tag with SFI; ``data`` is ``tag ‖ L ‖ value``."""
        self.channel.command(Command(0x00, 0xDC, item.tag, item.sfi << 3, data, kind=Kind.UPDATE_RECORD))

    def challenge(self) -> bytes:
        """GET CHALLENGE: 8 bytes, consumed by the next command the card receives."""
        value = self.channel.command(Command(0x00, 0x84, 0x00, 0x00, le=0x08, kind=Kind.GET_CHALLENGE))
        if len(value) != 8:
            raise ProtocolError(f"随机数为 {len(value)} 字节，应为 8 字节")
        return value

    def authenticate(self, purpose: KeyPurpose, card_id: bytes) -> None:
        """GET CHALLENGE → PSAM cryptogram → EXTERNAL AUTHENTICATE with the purpose's key index."""
        keys = self.keys()
        challenge = self.challenge()
        cryptogram = keys.cryptogram(purpose, card_id, challenge)
        if len(cryptogram) != 16:
            raise ProtocolError(f"密钥设备返回的密文为 {len(cryptogram)} 字节，应为 16 字节")
        index = self.settings.key_indices.index(purpose)
        self.channel.command(Command(0x00, 0x82, 0x00, index, cryptogram, kind=Kind.EXTERNAL_AUTH))
