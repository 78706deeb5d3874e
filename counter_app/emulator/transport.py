"""In-process card reader slot (模拟读卡器卡座): the emulator's `CardTransport` — TRAINING / TEST only.

Connects an `EmulatedCard` or `EmulatedPsam` to the terminal's card layer without PC/SC.
No automatic GET RESPONSE or Le retry (the card layer does those), no trace, no log: PIN-carrying
commands pass straight to the card and are never kept.
"""

from __future__ import annotations

import threading

from counter_app.emulator.card import EmulatedCard
from counter_app.emulator.errors import PowerLoss
from counter_app.emulator.psam import EmulatedPsam
from counter_app.workflows.ports import CardRemovedError

Chip = EmulatedCard | EmulatedPsam


class InProcessTransport:
    """One reader slot holding at most one emulated card or PSAM (implements ``CardTransport``)."""

    def __init__(self, reader_name: str, card: Chip | None = None) -> None:
        self._reader_name = reader_name
        self._lock = threading.Lock()
        self._card: Chip | None = None
        if card is not None:
            self.insert(card)

    @property
    def reader_name(self) -> str:
        return self._reader_name

    @property
    def present(self) -> bool:
        """Whether a card is in the slot."""
        return self._card is not None

    def insert(self, card: Chip) -> None:
        """Put ``card`` in the slot and power it on (a card already there is taken out first)."""
        with self._lock:
            card.power_on()
            self._card = card

    def remove(self) -> None:
        """Take the card out (its records, PIN and counters stay on it); no error when empty."""
        with self._lock:
            self._card = None

    def atr(self) -> bytes:
        with self._lock:
            return self._present_card().atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        """Send one APDU; ``CardRemovedError`` when the slot is empty or the card lost power."""
        with self._lock:
            card = self._present_card()
            try:
                return card.process(command)
            except PowerLoss:
                self._card = None
                raise CardRemovedError(f"{self._reader_name}: 卡片已拔出（模拟掉电）") from None

    def _present_card(self) -> Chip:
        if self._card is None:
            raise CardRemovedError(f"{self._reader_name}: 读卡器中没有卡片")
        return self._card
