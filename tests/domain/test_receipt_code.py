"""受理编号 and the receipt verification code (counter_app.domain.receipt_code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from counter_app.domain.receipt_code import (
    CODE_LENGTH,
    AcceptanceNumber,
    ReceiptCodeError,
    format_acceptance_number,
    parse_acceptance_number,
    parse_qr_text,
    qr_text,
    verification_code,
    verify_qr_text,
)

KEY = bytes(range(32))
NUMBER = "511102001-03-20261127-0042"
QR_ALPHANUMERIC = re.compile(r"^[0-9A-Z $%*+\-./:]+$")


def test_known_answer_vector() -> None:
    assert qr_text(KEY, NUMBER) == "511102001-03-20261127-0042.ZMAKE655XBOPH3LC"


def test_code_is_the_documented_truncated_hmac() -> None:
    """An independent computation of the format written in the module docstring."""
    mac = hmac.new(KEY, b"LSSBK-RECEIPT-1\x00" + NUMBER.encode(), hashlib.sha256).digest()
    assert verification_code(KEY, NUMBER) == base64.b32encode(mac[:10]).decode()
    assert len(verification_code(KEY, NUMBER)) == CODE_LENGTH


def test_format_and_parse_round_trip() -> None:
    number = format_acceptance_number("511102001", "03", date(2026, 11, 27), 42)
    assert number == NUMBER
    assert parse_acceptance_number(number) == AcceptanceNumber("511102001", "03", date(2026, 11, 27), 42)
    assert str(parse_acceptance_number(" " + number.lower() + " ")) == NUMBER


@pytest.mark.parametrize(
    "text",
    [
        "",
        "511102001-03-20261127",
        "511102001_03_20261127_0042",
        "511102001-03-20261127-042",  # fewer than 4 sequence digits
        "511102001-03-20260230-0042",  # no such date
        "511102001-03-20261127-0000",
        "中心-03-20261127-0042",
    ],
)
def test_malformed_numbers_are_refused_in_chinese(text: str) -> None:
    with pytest.raises(ReceiptCodeError, match=r"[\u4e00-\u9fff]"):
        parse_acceptance_number(text)


def test_format_refuses_bad_parts() -> None:
    with pytest.raises(ReceiptCodeError):
        format_acceptance_number("511-102", "03", date(2026, 1, 1), 1)
    with pytest.raises(ReceiptCodeError):
        format_acceptance_number("511102001", "00003", date(2026, 1, 1), 1)
    with pytest.raises(ReceiptCodeError):
        format_acceptance_number("511102001", "03", date(2026, 1, 1), 0)


def test_verification_accepts_the_right_key_only() -> None:
    text = qr_text(KEY, NUMBER)
    assert verify_qr_text(KEY, text)
    assert verify_qr_text(KEY, "  " + text.lower() + "\n")
    assert not verify_qr_text(bytes(32), text)


def test_any_change_of_the_number_breaks_the_code() -> None:
    code = verification_code(KEY, NUMBER)
    assert not verify_qr_text(KEY, f"511102001-03-20261127-0043.{code}")
    assert not verify_qr_text(KEY, f"511102001-04-20261127-0042.{code}")


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        verification_code(b"short", NUMBER)


@pytest.mark.parametrize("text", [NUMBER, f"{NUMBER}.ABC", f"{NUMBER}.ZMAKE655XBOPH3L1"])
def test_malformed_qr_text(text: str) -> None:
    with pytest.raises(ReceiptCodeError):
        parse_qr_text(text)


@given(
    outlet=st.from_regex(r"\A[A-Z0-9]{1,16}\Z"),
    counter=st.from_regex(r"\A[A-Z0-9]{1,4}\Z"),
    on=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    sequence=st.integers(min_value=1, max_value=999_999_999),
    key=st.binary(min_size=16, max_size=64),
)
def test_round_trip_and_qr_alphabet(outlet: str, counter: str, on: date, sequence: int, key: bytes) -> None:
    number = format_acceptance_number(outlet, counter, on, sequence)
    text = qr_text(key, number)
    assert QR_ALPHANUMERIC.fullmatch(text)
    parsed, _ = parse_qr_text(text)
    assert parsed == AcceptanceNumber(outlet, counter, on, sequence)
    assert verify_qr_text(key, text)
