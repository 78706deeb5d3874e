"""Card-layer settings (读写卡参数) with the defaults of card-protocol §2.2, §4.5, §7.4.

Key indices and the supported algorithms depend on the province's personalisation (待确认), so
they are configuration, never constants in the protocol code. The composition root builds one
`CardSettings` from the counter's configuration; the defaults are the protocol document's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from counter_app.workflows.ports import KeyPurpose

__all__ = ["DEFAULT_SETTINGS", "CardSettings", "KeyIndices"]

PIN_MIN_LENGTH = 4
PIN_MAX_LENGTH = 16


@dataclass(frozen=True)
class KeyIndices:
    """Key index per purpose (密钥索引): the card's key reference and the PSAM's master-key slot."""

    read_auth: int = 0x0A  # RKSSSE
    write_auth: int = 0x04
    pin_reload: int = 0x06
    pin_unblock: int = 0x07
    internal_auth: int = 0x08

    def __post_init__(self) -> None:
        for name in ("read_auth", "write_auth", "pin_reload", "pin_unblock", "internal_auth"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ValueError(f"key index {name} out of range")

    def index(self, purpose: KeyPurpose) -> int:
        return int(getattr(self, purpose.value))


@dataclass(frozen=True)
class CardSettings:
    """What the card layer reads from configuration.

    ``new_pin_lengths``: allowed lengths of a new PIN (6 in practice; the interface allows 4–16).
    ``chip_rewrite_enabled`` / ``chip_rewrite_tags``: the optional rewrite of EF06 items not
    printed on the card face (§7.4), off by default.
    """

    key_indices: KeyIndices = field(default_factory=KeyIndices)
    supported_algorithms: frozenset[int] = frozenset({0x03})
    new_pin_lengths: tuple[int, int] = (6, 6)
    chip_rewrite_enabled: bool = False
    chip_rewrite_tags: frozenset[int] = frozenset({0x0B, 0x0C})

    def __post_init__(self) -> None:
        low, high = self.new_pin_lengths
        if not PIN_MIN_LENGTH <= low <= high <= PIN_MAX_LENGTH:
            raise ValueError(f"new PIN lengths must lie within {PIN_MIN_LENGTH}–{PIN_MAX_LENGTH}")
        never = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x4E}
        if self.chip_rewrite_tags & never:
            raise ValueError("tags 01–09 and 4E are never rewritten (a change there is 换卡)")


DEFAULT_SETTINGS = CardSettings()
