"""PIN pads (密码键盘): the citizen types the card PIN in front of them, never on the clerk's keyboard.

Implementations of the `PinPad` port:

- `Part10PinPad` — a reader with its own keypad through PC/SC Part 10; the PIN never reaches the
  host (secure). VERIFY and CHANGE only.
- `SerialPinPad` — a serial pad speaking this project's frame protocol; in training and tests the
  pad is `counter_app.emulator.pinpad.TrainingPinPad` on a pseudo-terminal.
- `VendorPadClient` — a vendor's 密码键盘 behind a helper process (JSON lines), so that a 32-bit
  vendor DLL can live outside this process; `helper` is the reference helper.

`PinService` runs 校验/修改/重置/解锁 with a pad and the card: entries collected first on the
calling thread, then one card job, then the entries wiped. docs/pinpad.md describes all of it.
"""

from __future__ import annotations

from counter_app.devices.pinpad.dialogue import PROMPTS, Entry, Prompt, run_dialogue
from counter_app.devices.pinpad.errors import (
    NoPinPadOnReader,
    PinPadError,
    PinPadFault,
    PinPadNotCapable,
    PinPadUnavailable,
)
from counter_app.devices.pinpad.secure_pad import Part10PinPad, ReaderCapabilities, ScardControl, discover
from counter_app.devices.pinpad.serial_pad import SerialPinPad
from counter_app.devices.pinpad.service import CardRunner, CardSession, PinOperation, PinResult, PinService
from counter_app.devices.pinpad.vendor import VendorPadClient

__all__ = [
    "PROMPTS",
    "CardRunner",
    "CardSession",
    "Entry",
    "NoPinPadOnReader",
    "Part10PinPad",
    "PinOperation",
    "PinPadError",
    "PinPadFault",
    "PinPadNotCapable",
    "PinPadUnavailable",
    "PinResult",
    "PinService",
    "Prompt",
    "ReaderCapabilities",
    "ScardControl",
    "SerialPinPad",
    "VendorPadClient",
    "discover",
    "run_dialogue",
]
