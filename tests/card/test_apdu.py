"""Command encoding and the T=0 exchange rules T1/T2 (card-protocol §1.4)."""

from __future__ import annotations

import pytest

from counter_app.card.apdu import Channel, Command, Response
from counter_app.card.errors import ProtocolError, RecordNotFound
from counter_app.card.kinds import Kind
from tests.card.helpers import ScriptedSequence
from tests.fakes import ScriptedCardTransport


@pytest.mark.parametrize(
    ("command", "encoded"),
    [
        (Command(0x00, 0x20, 0x00, 0x00), "00200000"),  # case 1
        (Command(0x00, 0x84, 0x00, 0x00, le=0x08), "0084000008"),  # case 2
        (Command(0x00, 0xB2, 0x07, 0x28, le=0x00), "00B2072800"),  # case 2, Le 00
        (Command(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A000000333010101")), "00A4040008A000000333010101"),
        (Command(0x00, 0xA4, 0x04, 0x00, b"\x3f\x00", le=0x00), "00A40400023F0000"),  # case 4
    ],
)
def test_encoding(command: Command, encoded: str) -> None:
    assert command.encode().hex().upper() == encoded


def test_with_le_replaces_or_appends() -> None:
    assert Command(0, 0xB2, 1, 0x0C, le=0).with_le(0x0E).encode().hex().upper() == "00B2010C0E"
    assert Command(0, 0x88, 0, 8, b"\x01").with_le(0x10).encode().hex().upper() == "0088000801" + "0110"


def test_invalid_commands_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="cla"):
        Command(0x100, 0, 0, 0)
    with pytest.raises(ValueError, match="255"):
        Command(0, 0, 0, 0, bytes(256))
    with pytest.raises(ValueError, match="Le"):
        Command(0, 0, 0, 0, le=256)


def test_61xx_is_followed_by_get_response_and_data_concatenated() -> None:
    card = ScriptedSequence(
        [("00A4040002AABB", "6103"), ("00C0000003", "0102036102"), ("00C0000002", "04059000")]
    )
    response = Channel(card).exchange(Command(0, 0xA4, 4, 0, b"\xaa\xbb"))
    assert response == Response(bytes.fromhex("0102030405"), 0x9000)


def test_6cxx_resends_with_le_once() -> None:
    card = ScriptedSequence([("00B2072800", "6C0B"), ("00B207280B", "0709533131303030303138" + "9000")])
    data = Channel(card).command(Command(0, 0xB2, 7, 0x28, le=0, kind=Kind.READ_RECORD))
    assert data.hex().upper() == "0709533131303030303138"


def test_6cxx_on_a_command_without_le_appends_it() -> None:
    card = ScriptedSequence([("0084000000", "6C08"), ("0084000008", "11223344556677889000")])
    assert Channel(card).command(Command(0, 0x84, 0, 0, le=0)) == bytes.fromhex("1122334455667788")


def test_a_second_6cxx_is_an_error() -> None:
    card = ScriptedSequence([("00B2072800", "6C0B"), ("00B207280B", "6C0C")])
    with pytest.raises(ProtocolError):
        Channel(card).exchange(Command(0, 0xB2, 7, 0x28, le=0))


def test_get_response_answered_6cxx_is_resent_with_that_le() -> None:
    card = ScriptedSequence([("00A4040001AA", "6102"), ("00C0000002", "6C03"), ("00C0000003", "0102039000")])
    assert Channel(card).command(Command(0, 0xA4, 4, 0, b"\xaa")) == bytes.fromhex("010203")


def test_endless_61xx_is_cut_after_16_get_responses() -> None:
    card = ScriptedCardTransport({"00A4040001AA": "6101", "00C0000001": "006101"})
    with pytest.raises(ProtocolError, match="16"):
        Channel(card).exchange(Command(0, 0xA4, 4, 0, b"\xaa"))
    assert len(card.sent) == 17


def test_t1_card_answering_data_and_9000_directly_is_accepted() -> None:
    card = ScriptedSequence([("00A4040001AA", "6F009000")])
    assert Channel(card).command(Command(0, 0xA4, 4, 0, b"\xaa")) == b"\x6f\x00"


@pytest.mark.parametrize("answer", ["", "90"])
def test_answer_without_status_word_is_a_protocol_error(answer: str) -> None:
    card = ScriptedSequence([("00A4040001AA", answer)])
    with pytest.raises(ProtocolError):
        Channel(card).exchange(Command(0, 0xA4, 4, 0, b"\xaa"))


def test_error_status_after_get_response_is_mapped_with_the_original_kind() -> None:
    card = ScriptedSequence([("00B2012800", "6A83")])
    with pytest.raises(RecordNotFound) as caught:
        Channel(card).command(Command(0, 0xB2, 1, 0x28, le=0, kind=Kind.READ_RECORD))
    assert caught.value.sw == 0x6A83 and caught.value.interface_code == -0x6A83


def test_secret_command_buffer_is_wiped_after_sending() -> None:
    seen: list[bytearray] = []

    class Keep(ScriptedSequence):
        def transmit(self, command: bytes | bytearray) -> bytes:
            assert isinstance(command, bytearray)
            seen.append(command)
            return super().transmit(command)

    card = Keep([("0020000003731946", "9000")])
    Channel(card).command(Command(0, 0x20, 0, 0, bytes.fromhex("731946"), kind=Kind.VERIFY))
    assert seen[0] == bytearray(8)


def test_command_repr_never_shows_the_data() -> None:
    command = Command(0, 0x20, 0, 0, bytearray.fromhex("731946"), kind=Kind.VERIFY)
    assert "data" not in repr(command) and "bytearray" not in repr(command)
