"""遮蔽 (masking) of ID numbers in list views: the first 4 and last 4 characters stay.

The same rule as the receipt (``counter_app.receipts.masking``; central may import only the
domain): ``511102199003071234`` → ``5111**********1234``; shorter numbers keep 2 + 2 (8 or more
characters) or 1 + 1.
"""

from __future__ import annotations


def mask_id_number(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    n = len(text)
    keep = 4 if n >= 12 else 2 if n >= 8 else 1
    if n <= 2 * keep:
        return "*" * n
    return text[:keep] + "*" * (n - 2 * keep) + text[-keep:]
