"""The terminal side of the 社会保障卡 protocol (社保卡读写), docs/card-protocol.md.

Transport-agnostic: everything talks to the card through the `CardTransport` port and to the PSAM
(or HSM) through the `KeyProvider` port; no PC/SC, no Qt. `SocialSecurityCard` is the entry point;
`PsamKeyProvider` is the PSAM's `KeyProvider`.
"""

from __future__ import annotations

from counter_app.card.cardinfo import CardInfo, HolderStatus, ReadScope
from counter_app.card.errors import CardError
from counter_app.card.keys import PsamKeyProvider
from counter_app.card.personalise import PrefabData
from counter_app.card.readcardbas import ReadCardBas
from counter_app.card.records import Field
from counter_app.card.settings import CardSettings, KeyIndices
from counter_app.card.sscard import SocialSecurityCard
from counter_app.card.writes import (
    PendingWrite,
    RecordState,
    RecordWrite,
    WriteKind,
    WriteOutcome,
    WriteStatus,
)

__all__ = [
    "CardError",
    "CardInfo",
    "CardSettings",
    "Field",
    "HolderStatus",
    "KeyIndices",
    "PendingWrite",
    "PrefabData",
    "PsamKeyProvider",
    "ReadCardBas",
    "ReadScope",
    "RecordState",
    "RecordWrite",
    "SocialSecurityCard",
    "WriteKind",
    "WriteOutcome",
    "WriteStatus",
]
