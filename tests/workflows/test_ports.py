"""The ports: PIN buffers are wiped, and the test fakes really have the ports' shapes."""

from __future__ import annotations

from datetime import date

import pytest

from counter_app.clock import SystemClock
from counter_app.workflows import ports
from tests import fakes


def test_secret_pin_wipe_zeroes_the_callers_buffer_and_repr_hides_digits() -> None:
    buffer = bytearray(b"731946")
    pin = ports.SecretPin(buffer)
    assert "731946" not in repr(pin)
    pin.wipe()
    assert buffer == bytearray(6)  # the very bytes that held the PIN are zero
    assert pin.digits == bytearray()


def test_pin_entries_are_wiped_when_the_with_block_ends_even_on_error() -> None:
    buffers = [bytearray(b"123456"), bytearray(b"654321")]
    entries = ports.PinEntries(ports.PinPadOutcome.ENTERED, [ports.SecretPin(b) for b in buffers])
    with pytest.raises(RuntimeError), entries:
        raise RuntimeError("card pulled")
    assert all(b == bytearray(6) for b in buffers)


@pytest.mark.parametrize(
    ("fake", "port"),
    [
        (fakes.ScriptedCardTransport({}), ports.CardTransport),
        (fakes.FakeKeyProvider(), ports.KeyProvider),
        (fakes.ScriptedPinPad(), ports.PinPad),
        (fakes.FakeIdReader(), ports.IdReader),
        (fakes.FakeCentralApi(), ports.CentralApi),
        (fakes.InMemoryJournal(), ports.Journal),
        (fakes.RecordingRenderer(), ports.ReceiptRenderer),
        (fakes.FakePrinter(), ports.Printer),
        (fakes.FakeClock(), ports.Clock),
        (SystemClock(), ports.Clock),
    ],
)
def test_fakes_implement_their_port(fake: object, port: type) -> None:
    assert isinstance(fake, port)


def test_system_clock_is_timezone_aware_shanghai() -> None:
    now = SystemClock().now()
    assert now.utcoffset() is not None and now.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]


def test_in_memory_journal_numbers_per_counter_and_day_and_records_all_or_nothing() -> None:
    journal = fakes.InMemoryJournal()
    first = journal.next_acceptance_number("511102001", "03", date(2026, 11, 27))
    second = journal.next_acceptance_number("511102001", "03", date(2026, 11, 27))
    next_day = journal.next_acceptance_number("511102001", "03", date(2026, 11, 28))
    assert first == "511102001-03-20261127-0001"
    assert second.endswith("-20261127-0002")
    assert next_day.endswith("-20261128-0001")
    record = ports.TransactionRecord(
        acceptance_number=first,
        item_code="report_loss",
        operator_number="1001",
        outlet_code="511102001",
        counter_number="03",
        occurred_at=fakes.FakeClock().now(),
        holder_ref="p1",
        result="accepted",
        details={},
        server_command="report_loss",
    )
    journal.fail_next_record = True
    with pytest.raises(OSError, match="simulated crash"):
        journal.record(record)
    assert (journal.transactions, journal.audit, journal.outbox) == ({}, [], [])
    journal.record(record)
    assert len(journal.transactions) == len(journal.audit) == len(journal.outbox) == 1


def test_fake_central_applies_a_retried_key_once() -> None:
    central = fakes.FakeCentralApi()
    central.send_command("activate", {"card": "X00000019"}, "k1")
    central.send_command("activate", {"card": "X00000019"}, "k1")
    assert len(central.commands) == 1
    central.down = True
    with pytest.raises(ports.CentralUnavailable):
        central.find_card(card_number="X00000019")
