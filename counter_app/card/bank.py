"""The bank account number (金融账户卡号) from the financial application, card-protocol §2.7.

SELECT ``A000000333010101``, then for SFI 1, 2, 3 READ RECORD 1, 2, … with Le ``00`` (the card
answers ``6Cxx`` and the channel resends, T2); the first record holding tag ``5A`` gives the PAN:
the digits before the first ``F``. ``6A83`` ends an SFI, ``6A82`` skips it. The Luhn check only warns.
Selecting this application empties the SSSE security state; SSSE operations select SSSE again.
"""

from __future__ import annotations

import logging

from counter_app.card import tlv
from counter_app.card.apdu import Channel, Command
from counter_app.card.errors import FileNotFound, PanNotFound, RecordNotFound, TlvFormatError
from counter_app.card.kinds import Kind
from counter_app.domain.identity import check_bank_card

__all__ = ["FINANCIAL_AID", "pan_of", "read_pan"]

FINANCIAL_AID = bytes.fromhex("A000000333010101")
_SFIS = (1, 2, 3)
_MAX_RECORDS = 16

_log = logging.getLogger(__name__)


def pan_of(value: bytes) -> str:
    """The PAN digits of a tag-5A value (cn, ``F``-padded)."""
    text = value.hex().upper()
    digits = text.split("F", 1)[0]
    if not digits or not digits.isdigit():
        raise TlvFormatError("银行卡号（5A）不是数字")
    return digits


def read_pan(channel: Channel) -> str:
    """Select the financial application and return the bank card number (never masked)."""
    channel.command(Command(0x00, 0xA4, 0x04, 0x00, FINANCIAL_AID, kind=Kind.SELECT))
    for sfi in _SFIS:
        for number in range(1, _MAX_RECORDS + 1):
            command = Command(0x00, 0xB2, number, (sfi << 3) | 0x04, le=0x00, kind=Kind.READ_RECORD)
            try:
                record = channel.command(command)
            except (RecordNotFound, FileNotFound):  # 6A83 ends this SFI, 6A82 skips it
                break
            try:
                found = tlv.find(tlv.parse(record), 0x5A)
            except TlvFormatError:
                _log.warning("金融应用 SFI %d 记录 %d 不是 TLV 格式，已跳过", sfi, number)
                continue
            if found is not None:
                pan = pan_of(found.value)
                if not check_bank_card(pan).ok:
                    _log.warning("卡内银行卡号 %s****%s 未通过 Luhn 校验", pan[:6], pan[-4:])
                return pan
    raise PanNotFound()
