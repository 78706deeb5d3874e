"""The PIN pad a counter's configuration names, on the real stack (`tests.ui.wizards.real_stack`).

``[devices] pinpad = "reader"`` makes the flows use the card reader's own keypad (PC/SC Part 10):
the secure entry goes from the wizard's worker through the device thread to ``SCardControl`` on the
reader. The vpcd reader has no keypad, so the clerk is told so on the PIN step — in words, with what
to do — and nothing is written to the card or recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from counter_app.config import Settings
from counter_app.devices.pinpad import Part10PinPad, SerialPinPad
from counter_app.ui.main_window import MainWindow
from counter_app.ui.wizards.compose import NoPinPad, configured_pin_pad
from tests.ui.wizards.real_stack import RealCounter, counter_window, insert_and_read, open_item
from tests.ui.wizards.real_stack import keyring_in_memory as keyring_in_memory
from tests.ui.wizards.real_stack import real_counter as real_counter
from tests.ui.wizards.test_flow_wizards import HOLDER_ANSWER, run

pytestmark = [pytest.mark.integration, pytest.mark.pcsc, pytest.mark.gui, pytest.mark.slow]


def test_the_configured_pad_is_the_one_the_flows_get(tmp_path: object) -> None:
    base = Settings(mode=None, config_file=None, data_dir=None)  # type: ignore[arg-type]
    assert isinstance(configured_pin_pad(base), NoPinPad)
    assert isinstance(configured_pin_pad(dataclasses.replace(base, pinpad_port="/dev/ttyS0")), SerialPinPad)
    reader = dataclasses.replace(base, pinpad="reader", pinpad_port="/dev/ttyS0")
    assert isinstance(configured_pin_pad(reader), Part10PinPad)


@pytest.fixture
def reader_pad_window(qtbot: QtBot, real_counter: RealCounter) -> Iterator[MainWindow]:
    settings = dataclasses.replace(real_counter.settings, pinpad="reader")
    with counter_window(qtbot, real_counter, settings) as window:
        yield window


def test_a_reader_without_a_keypad_is_named_on_the_pin_step_and_nothing_changes(
    reader_pad_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    card = insert_and_read(qtbot, reader_pad_window, real_counter, "muchuan_v3")
    journal = real_counter.journal_counts()
    wizard = open_item(qtbot, reader_pad_window, "pin_change")
    step = run(qtbot, wizard, HOLDER_ANSWER, until_problem=True)
    assert step.key == "change_pin" and step.problem is not None
    assert step.problem.code == "no_pinpad_on_reader", step.problem
    assert "此读卡器没有密码键盘" in wizard.page_text() and "串口密码键盘" in wizard.page_text()
    assert card.pin_tries_left == 6 and card.pin_matches("147258")
    assert real_counter.journal_counts() == journal
