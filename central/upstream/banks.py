"""Simulated cooperating banks (合作银行): the financial account of a new card.

Banks are identified by their short Chinese name (what outlets and cards store and what refusals
show). The BIN prefixes are illustrative, not the banks' real social-card BINs. Only a masked
account (first 6, last 4) is kept by the city: the full number belongs to the bank.
"""

from __future__ import annotations

import random
import secrets
from typing import Final

from stdnum import luhn

#: Bank short name → illustrative 6-digit BIN of its social security cards.
BANK_BINS: Final = {
    "农业银行": "622848",
    "工商银行": "622202",
    "建设银行": "621700",
    "中国银行": "621661",
    "邮储银行": "621799",
    "乐山市商业银行": "623196",
    "四川农信": "621458",
}
BANKS: Final = tuple(BANK_BINS)


def mask_account(number: str) -> str:
    """``6228481234567890123`` → ``622848*********0123``."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def open_account(bank: str, rng: random.Random | None = None) -> str:
    """Open the financial account of a new card at ``bank``; returns the masked 19-digit number."""
    bin_ = BANK_BINS.get(bank, "621000")
    middle = "".join(str(rng.randrange(10) if rng else secrets.randbelow(10)) for _ in range(12))
    body = bin_ + middle
    return mask_account(body + luhn.calc_check_digit(body))
