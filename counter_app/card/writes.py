"""Write intents and outcomes (写卡意图与结果): `PendingWrite`, `WriteOutcome`, card-protocol §7.2.

A write sequence never reports success without a read-back. It ends CONFIRMED (every record read
back equal to what was written) or UNCERTAIN, with a `PendingWrite`: what was intended, for which
卡识别码, and where each record stands. The caller keeps the `PendingWrite` (journal checkpoint,
``to_dict``/``from_dict``) and hands it to `resolve_uncertain` on the next contact with the card.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from counter_app.card.errors import CardError, InvalidWriteData
from counter_app.card.records import Field

__all__ = [
    "Checkpoint",
    "PendingWrite",
    "RecordState",
    "RecordWrite",
    "WriteKind",
    "WriteOutcome",
    "WriteStatus",
]

_FORMAT_VERSION = 1


class WriteKind(enum.Enum):
    """Which write sequence (写卡业务)."""

    PREFAB = "prefab"  # 预制卡个人化 (§7.1)
    REWRITE = "rewrite"  # 芯片信息改写, items not printed on the face (§7.4)


class RecordState(enum.Enum):
    """Where one record of a write stands (记录写入状态)."""

    PENDING = "pending"  # no UPDATE sent yet
    UNCERTAIN = "uncertain"  # UPDATE sent, not read back equal (old or new value, never a mix)
    CONFIRMED = "confirmed"  # read back equal to the intended data


class WriteStatus(enum.Enum):
    """How a write sequence ended (写卡结果)."""

    CONFIRMED = "confirmed"  # 写卡成功（已读回核对）
    UNCERTAIN = "uncertain"  # 写卡结果未确认


@dataclass(frozen=True)
class RecordWrite:
    """One record to write: the item and the full UPDATE data ``tag ‖ L ‖ value``."""

    item: Field
    data: bytes
    state: RecordState = RecordState.PENDING

    def __post_init__(self) -> None:
        if len(self.data) != self.item.length + 2 or self.data[:2] != bytes(
            (self.item.tag, self.item.length)
        ):
            raise InvalidWriteData(f"{self.item.label}的写卡数据与记录格式不符")

    @property
    def value(self) -> bytes:
        return self.data[2:]


@dataclass(frozen=True)
class PendingWrite:
    """An unfinished write (未完成的写卡): intent, card, and each record's state, in writing order."""

    kind: WriteKind
    card_id: str  # 卡识别码, 32 upper-case hex
    records: tuple[RecordWrite, ...]
    reason: str = ""  # why it is unfinished (Chinese, for the clerk)

    @property
    def step(self) -> RecordWrite | None:
        """The first record not confirmed: where the sequence stopped (None: all confirmed)."""
        return next((r for r in self.records if r.state is not RecordState.CONFIRMED), None)

    @property
    def card_touched(self) -> bool:
        """Whether any UPDATE may have reached the card."""
        return any(r.state is not RecordState.PENDING for r in self.records)

    def with_state(self, index: int, state: RecordState) -> PendingWrite:
        records = list(self.records)
        records[index] = replace(records[index], state=state)
        return replace(self, records=tuple(records))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form for the journal checkpoint."""
        return {
            "format": _FORMAT_VERSION,
            "kind": self.kind.value,
            "card_id": self.card_id,
            "reason": self.reason,
            "records": [
                {"sfi": r.item.sfi, "tag": r.item.tag, "data": r.data.hex().upper(), "state": r.state.value}
                for r in self.records
            ],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PendingWrite:
        """Rebuild from `to_dict`; anything malformed raises `InvalidWriteData`."""
        try:
            if raw["format"] != _FORMAT_VERSION:
                raise InvalidWriteData("未完成写卡记录的格式版本不受支持")
            card_id = str(raw["card_id"]).upper()
            bytes.fromhex(card_id)
            if len(card_id) != 32:
                raise InvalidWriteData("未完成写卡记录中的卡识别码无效")
            records = tuple(
                RecordWrite(
                    Field.by_tag(int(r["sfi"]), int(r["tag"])),
                    bytes.fromhex(str(r["data"])),
                    RecordState(r["state"]),
                )
                for r in raw["records"]
            )
            return cls(WriteKind(raw["kind"]), card_id, records, str(raw.get("reason", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidWriteData(f"未完成写卡记录无法读取（{exc}）") from None


Checkpoint = Callable[[PendingWrite], None]
"""Called before every step of a write (started, each record uncertain, each record confirmed)."""


@dataclass(frozen=True)
class WriteOutcome:
    """The end of a write sequence: CONFIRMED with the records read back, or UNCERTAIN with the
    `PendingWrite` to resolve on the next contact (and the error that stopped it, if any)."""

    status: WriteStatus
    card_id: str
    records: tuple[RecordWrite, ...]
    pending: PendingWrite | None = None
    error: CardError | None = None

    @property
    def confirmed(self) -> bool:
        return self.status is WriteStatus.CONFIRMED

    @property
    def message(self) -> str:
        """What to tell the clerk."""
        if self.confirmed:
            return "写卡完成，已读回核对一致"
        reason = self.pending.reason if self.pending else ""
        return f"写卡结果未确认：{reason}" if reason else "写卡结果未确认"
