"""The emulator's own exceptions (模拟器异常)."""

from __future__ import annotations


class PowerLoss(Exception):
    """掉电: the power-loss test hook fired during UPDATE RECORD; the card answered nothing.

    `InProcessTransport` turns it into ``CardRemovedError``. The card's volatile state is already
    cleared; its records hold the old or the new value as the hook's mode said.
    """


class EncodingError(ValueError):
    """A value cannot be written to the chip in the record's encoding (e.g. a character outside GBK)."""
