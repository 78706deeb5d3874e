"""Any byte string gets a status word from §8.1 and never an exception (card and PSAM)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counter_app.emulator import TEST_CARDS, EmulatedCard, EmulatedPsam, build_card, build_psam
from tests.emulator.helpers import SELECT_PSAM, SELECT_SSSE, authenticate, hx

FIXED_SW = {0x9000, 0x6700, 0x6982, 0x6983, 0x6984, 0x6985, 0x6986, 0x6988}
FIXED_SW |= {0x6A80, 0x6A82, 0x6A83, 0x6A86, 0x6A88, 0x6D00, 0x6E00}
CARD_INS = [0xA4, 0xC0, 0xB2, 0xDC, 0x84, 0x82, 0x88, 0x20, 0x5E, 0x24]
PSAM_INS = [0xA4, 0xC0, 0xB0, 0x1A, 0xFA]


def _documented(sw: int) -> bool:
    return sw in FIXED_SW or sw >> 8 in (0x61, 0x6C) or sw & 0xFFF0 == 0x63C0


def _check(response: bytes) -> None:
    assert len(response) >= 2
    sw = int.from_bytes(response[-2:], "big")
    assert _documented(sw), f"{sw:04X}"
    if len(response) > 2:
        assert sw == 0x9000  # data only with 9000
    assert len(response) <= 258


def _commands(ins: list[int]) -> st.SearchStrategy[bytes]:
    header = st.tuples(
        st.sampled_from([0x00, 0x80, 0x84]) | st.integers(0, 255),
        st.sampled_from(ins) | st.integers(0, 255),
        st.sampled_from([0x00, 0x01, 0x04, 0x09, 0x0A, 0x4E, 0x96]) | st.integers(0, 255),
        st.sampled_from([0x00, 0x04, 0x05, 0x0C, 0x0D, 0x28, 0x2C, 0x2D, 0x30, 0x34, 0x35])
        | st.integers(0, 255),
    )
    body = st.binary(max_size=40).map(lambda b: bytes([len(b)]) + b) | st.binary(max_size=3)
    structured = st.tuples(header, body, st.binary(max_size=1)).map(lambda t: bytes(t[0]) + t[1] + t[2])
    return structured | st.binary(max_size=300)


def _card(name: str, prepare: str, multi_record_read: bool = True) -> EmulatedCard:
    card = build_card(name, multi_record_read=multi_record_read)
    if prepare != "fresh":
        card.process(hx(SELECT_SSSE))
    if prepare == "authenticated":
        authenticate(card, 0x0A)
        authenticate(card, 0x04)
    return card


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(TEST_CARDS)),
    prepare=st.sampled_from(["fresh", "ssse", "authenticated"]),
    commands=st.lists(_commands(CARD_INS), max_size=25),
    multi_record_read=st.booleans(),
)
def test_card_answers_any_bytes_with_a_status_word(
    name: str, prepare: str, commands: list[bytes], multi_record_read: bool
) -> None:
    card = _card(name, prepare, multi_record_read)
    for command in commands:
        _check(card.process(command))
        assert 0 <= card.pin_tries_left <= 6
        assert all(0 <= card.key_tries_left(k) <= 15 for k in (0x0A, 0x04))
    assert card.card_id.hex().upper() == TEST_CARDS[name].card_id  # 01–04 never change


@settings(max_examples=300, deadline=None)
@given(selected=st.booleans(), commands=st.lists(_commands(PSAM_INS), max_size=25))
def test_psam_answers_any_bytes_with_a_status_word(selected: bool, commands: list[bytes]) -> None:
    psam: EmulatedPsam = build_psam()
    if selected:
        psam.process(hx(SELECT_PSAM))
        psam.process(hx("801A0A0010511100D15600000512345678ABCDEF01"))
    for command in commands:
        _check(psam.process(command))


@given(st.binary(max_size=300))
def test_single_arbitrary_command_on_a_fresh_card(command: bytes) -> None:
    _check(build_card("card_a").process(bytearray(command)))
