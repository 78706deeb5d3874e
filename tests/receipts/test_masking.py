"""遮蔽: ID numbers keep 4 + 4, phones 3 + 4, landlines their area code."""

from __future__ import annotations

import pytest

from counter_app.receipts.masking import mask, mask_id_number, mask_phone


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("511102199003071235", "5111**********1235"),
        (" 51110219900307123X ", "5111**********123X"),
        ("E12345678", "E1*****78"),  # a passport keeps 2 + 2
        ("AB123", "A***3"),
        ("", ""),
    ],
)
def test_id_numbers(raw: str, masked: str) -> None:
    assert mask_id_number(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "138****5678"),
        ("0833-2101916", "0833-***1916"),
        ("2101916", "***1916"),
        ("12345", "***45"),
        ("", ""),
    ],
)
def test_phones(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked


def test_mask_by_kind_leaves_other_values_alone() -> None:
    assert mask("id", "511102199003071235") == "5111**********1235"
    assert mask("phone", "13812345678") == "138****5678"
    assert mask("", "王䶮") == "王䶮"
