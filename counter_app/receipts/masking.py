"""遮蔽 (masking) of personal numbers on what the citizen takes home.

DOMAIN §7: the receipt (回执) shows ID numbers and phone numbers masked, the stub (留存联) in full.
Decisions, documented here once:

- 证件号码: the first 4 and last 4 characters stay (``5111**********1234``); the stars keep the
  length. Shorter numbers (passports, permits) keep 2 + 2 from 8 characters on, 1 + 1 below that.
- 电话: a mobile number keeps 3 + 4 (``138****5678``); a landline keeps its area code and the last
  4 digits (``0833-***1916``); a short number keeps its last 2.
- 姓名 is **not** masked: the receipt is the citizen's own paper, and the clerk and the citizen must
  be able to see at a glance that it is theirs (a 生僻字 printed wrongly must be noticed).
- 社会保障卡号 is not masked either: it is printed on the card face and is not a secret.
- Bank accounts are never printed in full anywhere: payments carry only the 尾号.
"""

from __future__ import annotations

MASK = "*"


def mask_id_number(value: str) -> str:
    """``511102199003071234`` → ``5111**********1234``."""
    text = value.strip()
    n = len(text)
    if n == 0:
        return ""
    keep = 4 if n >= 12 else 2 if n >= 8 else 1
    if n <= 2 * keep:
        return MASK * n
    return text[:keep] + MASK * (n - 2 * keep) + text[-keep:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``; landlines keep their area code's first digits."""
    text = value.strip()
    if "-" in text:  # a landline: the area code stays, the local number is masked
        area, _, local = text.partition("-")
        return f"{area}-{mask_phone(local)}" if local else text
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if not digits:
        return text
    head, tail = (3, 4) if len(digits) >= 10 else (0, 4) if len(digits) >= 7 else (0, 2)
    if len(digits) <= head + tail:
        return text
    hidden = set(digits[head : len(digits) - tail])
    return "".join(MASK if i in hidden else ch for i, ch in enumerate(text))


def mask(kind: str, value: str) -> str:
    """Mask ``value`` by ``kind`` (``"id"``, ``"phone"``; anything else is returned as is)."""
    if kind == "id":
        return mask_id_number(value)
    if kind == "phone":
        return mask_phone(value)
    return value
