"""PIN (个人密码) encoding and the terminal's PIN rules, without ever making a ``str`` of a PIN.

cn encoding (§3.8): two digits a byte, an odd count padded with a final ``F`` nibble:
``123456`` → ``12 34 56``, ``12345`` → ``12 34 5F``. Every function works on the ``bytearray`` of a
`SecretPin` and returns ``bytearray`` buffers the caller wipes. Error messages never contain digits.
"""

from __future__ import annotations

from counter_app.card.errors import InitialPinRefused, PinFormatError
from counter_app.card.settings import PIN_MAX_LENGTH, PIN_MIN_LENGTH
from counter_app.workflows.ports import SecretPin

__all__ = ["INITIAL_PIN", "check_new_pin", "encode_pin", "is_initial_pin"]

INITIAL_PIN = b"123456"  # 初始密码


def _check_digits(digits: bytearray, low: int, high: int) -> None:
    if not low <= len(digits) <= high:
        if low == high:
            raise PinFormatError(f"密码应为 {low} 位数字")
        raise PinFormatError(f"密码应为 {low} 至 {high} 位数字")
    if any(not 0x30 <= b <= 0x39 for b in digits):
        raise PinFormatError("密码只能由数字组成")


def encode_pin(pin: SecretPin, *, low: int = PIN_MIN_LENGTH, high: int = PIN_MAX_LENGTH) -> bytearray:
    """The cn bytes of ``pin`` in a new ``bytearray`` (wipe it after use)."""
    digits = pin.digits
    _check_digits(digits, low, high)
    out = bytearray((len(digits) + 1) // 2)
    for i in range(len(digits)):
        nibble = digits[i] - 0x30
        out[i // 2] |= nibble << 4 if i % 2 == 0 else nibble
    if len(digits) % 2:
        out[-1] |= 0x0F
    return out


def is_initial_pin(pin: SecretPin) -> bool:
    """True when ``pin`` is the initial PIN 123456 (初始密码)."""
    return bytes(INITIAL_PIN) == pin.digits


def check_new_pin(pin: SecretPin, lengths: tuple[int, int]) -> None:
    """Refuse a new PIN of the wrong form or equal to the initial PIN (不能改为初始密码, −36)."""
    _check_digits(pin.digits, *lengths)
    if is_initial_pin(pin):
        raise InitialPinRefused()
