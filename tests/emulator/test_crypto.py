"""SM4, diversification and MAC known answers (card-protocol §4, §5.1–§5.3, §5.6–§5.8 intermediates)."""

from __future__ import annotations

import pytest

from counter_app.emulator.crypto import cryptogram, diversify, mac, sm4_ecb
from counter_app.emulator.keys import TEST_MASTER_KEYS, card_keys
from tests.emulator.helpers import hx

CARD_A = hx("511100D15600000512345678ABCDEF01")
CARD_B = hx("511100D156000005A0B1C2D3E4F50617")
K = hx("0123456789ABCDEFFEDCBA9876543210")


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def test_sm4_standard_vector_without_library_padding() -> None:
    out = sm4_ecb(K, K)
    assert out == hx("681EDF34D206965E86B3E94F536E4246")
    assert len(out) == 16  # 16 in, 16 out: no PKCS7 block appended


def test_sm4_refuses_a_partial_block() -> None:
    with pytest.raises(ValueError, match="16-byte"):
        sm4_ecb(K, bytes(15))


@pytest.mark.parametrize(
    ("card_id", "index", "expected"),
    [
        (CARD_A, 0x0A, "51222734B989104B7E71748E65EE7D87"),
        (CARD_A, 0x04, "A79FB6389C07CD0AF55214E4C61DCD04"),
        (CARD_A, 0x06, "37EFF2B052827F79940D7B07EB5FA375"),
        (CARD_A, 0x07, "6ABF6A2451B973E8DD339F89349A7361"),
        (CARD_A, 0x08, "A358EE3DA85832BF7D144648B6CAB3C6"),
        (CARD_B, 0x0A, "119EEBB2F7644CCF94B419A666D8C91A"),
        (CARD_B, 0x04, "4EE974412A12445FE7A7A3B0038F8163"),
        (CARD_B, 0x06, "818B2C83255823EBCD868C9727AABD26"),
        (CARD_B, 0x07, "2664DB13C2395D482438856CDC8EFC9B"),
        (CARD_B, 0x08, "E7BDB3D35FE8468956F87B6D1E77E7AD"),
    ],
)
def test_diversified_card_keys(card_id: bytes, index: int, expected: str) -> None:
    assert card_keys(TEST_MASTER_KEYS, card_id)[index] == hx(expected)
    assert diversify(TEST_MASTER_KEYS[index], card_id) == hx(expected)


@pytest.mark.parametrize(
    ("data", "p2", "c2", "expected"),
    [
        (
            "000102030405060708090A0B0C0D0E0F10111213",
            "10111213800000000000000000000000",
            "7D4462DF09AC7D2B65327983F9A0A179",
            "7D4462DF",
        ),
        (
            "000102030405060708090A0B0C0D0E0F",
            "80000000000000000000000000000000",
            "D18D896A5FEF9B89A2FEA41882482157",
            "D18D896A",
        ),
    ],
)
def test_generic_mac_and_its_intermediate_blocks(data: str, p2: str, c2: str, expected: str) -> None:
    iv = hx("01020304050607080000000000000000")
    c1 = sm4_ecb(K, xor(iv, hx("000102030405060708090A0B0C0D0E0F")))
    assert c1 == hx("5E4C9FA1282740CCB316E791D867A760")
    assert sm4_ecb(K, xor(c1, hx(p2))) == hx(c2)
    assert mac(K, hx("0102030405060708"), hx(data)) == hx(expected)


def test_cryptograms_of_the_vectors() -> None:
    keys_a = card_keys(TEST_MASTER_KEYS, CARD_A)
    keys_b = card_keys(TEST_MASTER_KEYS, CARD_B)
    assert cryptogram(keys_a[0x0A], hx("1122334455667788")) == hx("09DE477B50DEA199E6650E8E61E65271")
    assert cryptogram(keys_b[0x04], hx("0F1E2D3C4B5A6978")) == hx("D5E0FF5850214F5FD1E84C68A41AF46F")
    assert cryptogram(keys_a[0x08], hx("0102030405060708")) == hx("6AA9AEA31C5B3F5B84EDBB56379DBE55")


def test_reload_mac_intermediates() -> None:
    key = card_keys(TEST_MASTER_KEYS, CARD_A)[0x06]
    iv = hx("88776655443322110000000000000000")
    p1 = hx("805E0000076543218000000000000000")
    assert xor(p1, iv) == hx("08296655435661308000000000000000")
    assert sm4_ecb(key, xor(p1, iv)) == hx("C6E03A43C0A09DDB90BC8639F6EB3E1B")
    assert mac(key, hx("8877665544332211"), hx("805E000007654321")) == hx("C6E03A43")


def test_unblock_mac_intermediates() -> None:
    key = card_keys(TEST_MASTER_KEYS, CARD_A)[0x07]
    p1 = hx("84240000048000000000000000000000")
    assert xor(p1, hx("A1A2A3A4A5A6A7A80000000000000000")) == hx("2586A3A4A126A7A80000000000000000")
    assert sm4_ecb(key, hx("2586A3A4A126A7A80000000000000000")) == hx("06B4C6E39B53E08D7F8D7184D0FFA60C")
    assert mac(key, hx("A1A2A3A4A5A6A7A8"), hx("8424000004")) == hx("06B4C6E3")
