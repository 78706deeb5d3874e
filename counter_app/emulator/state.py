"""The emulated card's state (卡片状态): non-volatile memory, the volatile session, and the test hooks.

Non-volatile: records, keys, PIN and try counters (a reset keeps them). Volatile: the current
application and EF, the security state ``S``, the challenge, pending response data and the
PIN-verified flag (card-protocol §1.5).
"""

from __future__ import annotations

import enum
import secrets
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from counter_app.emulator.encoding import cn_padded, tlv
from counter_app.emulator.errors import PowerLoss
from counter_app.emulator.image import CardImage
from counter_app.emulator.keys import EXTERNAL_AUTH_KEYS
from counter_app.emulator.layout import (
    EF05_LAYOUT,
    EF05_SFI,
    EF06_SFI,
    FINANCE_RECORD_TAG,
    FINANCE_SFI,
    PAN_TAG,
    ef06_layout,
)
from counter_app.emulator.records import Record, RecordFile

PowerLossMode = Literal["before_commit", "after_commit"]


class Application(enum.Enum):
    """The selected application (当前应用)."""

    MF = "MF"
    SSSE = "SSSE"
    FINANCE = "金融"


@dataclass
class Memory:
    """非易失存储: what survives a reset or a power loss."""

    image: CardImage
    files: dict[Application, dict[int, RecordFile]]
    key_tries: dict[int, int]
    pin: str
    pin_tries: int


@dataclass
class Session:
    """易失状态: cleared by reset, by power loss and (partly) by SELECT."""

    application: Application = Application.MF
    current_ef: int | None = None
    security: set[int] = field(default_factory=set)
    challenge: bytes | None = None
    pending: bytes | None = None
    pin_verified: bool = False

    def enter(self, application: Application) -> None:
        """After a successful SELECT by AID or of MF: new application, no EF, ``S`` empty."""
        self.application = application
        self.current_ef = None
        self.security.clear()
        self.pin_verified = False


class Challenges:
    """随机数 source: `secrets` by default, or a fixed sequence set by the test hook."""

    def __init__(self) -> None:
        self._fixed: deque[bytes] = deque()

    def use(self, sequence: Iterable[bytes]) -> None:
        values = [bytes(v) for v in sequence]
        if any(len(v) != 8 for v in values):
            raise ValueError("every fixed challenge is 8 bytes")
        self._fixed = deque(values)

    def next(self) -> bytes:
        """The next fixed challenge while any are left, then random ones."""
        return self._fixed.popleft() if self._fixed else secrets.token_bytes(8)


def _tagged_file(values: dict[int, bytes], layout: tuple[tuple[int, int], ...]) -> RecordFile:
    return RecordFile(tuple(Record(tag, values[tag]) for tag, _ in layout))


def _finance_file(pan: str) -> RecordFile:
    template = tlv(bytes([PAN_TAG]), cn_padded(pan))
    return RecordFile((Record(FINANCE_RECORD_TAG, template),), tag_addressable=False)


@dataclass
class CardState:
    """Everything a command handler may look at or change."""

    memory: Memory
    session: Session = field(default_factory=Session)
    challenges: Challenges = field(default_factory=Challenges)
    power_loss: PowerLossMode | None = None

    @classmethod
    def from_image(cls, image: CardImage) -> CardState:
        files = {
            Application.MF: {},
            Application.SSSE: {
                EF05_SFI: _tagged_file(dict(image.ef05), EF05_LAYOUT),
                EF06_SFI: _tagged_file(dict(image.ef06), ef06_layout(image.profile)),
            },
            Application.FINANCE: {FINANCE_SFI: _finance_file(image.pan)},
        }
        tries = dict.fromkeys(EXTERNAL_AUTH_KEYS, image.key_tries)
        return cls(Memory(image, files, tries, image.pin, image.pin_tries))

    def files(self) -> dict[int, RecordFile]:
        """The record files of the selected application, by SFI."""
        return self.memory.files[self.session.application]

    def commit(self, sfi: int, new_file: RecordFile) -> None:
        """Replace a file of the selected application in one assignment (原子写入, §3.4).

        The power-loss hook fires here: ``before_commit`` leaves the old file, ``after_commit``
        the new one; either way the card answers nothing and loses its volatile state.
        """
        mode, self.power_loss = self.power_loss, None
        if mode == "before_commit":
            raise PowerLoss("power lost before the record was committed")
        self.memory.files[self.session.application][sfi] = new_file
        if mode == "after_commit":
            raise PowerLoss("power lost after the record was committed")
