"""PC/SC Part 10 secure PIN entry: golden structures, discovery, properties and outcomes.

vpcd cannot emulate a PIN-pad reader (pcsc-stack.md §7), so:

- the PIN_VERIFY / PIN_MODIFY bytes are checked against golden strings written out by hand, field by
  field, from pcsc-lite's ``reader.h`` layout (packed; wPINMaxExtraDigit, wLangId and ulDataLength
  little-endian) — not computed with the builder's code;
- `Part10PinPad` runs against a thin fake at the level of pyscard's ``CardConnection.control``;
- the real pcscd + vpcd reader is asked for its features and must come out as "no PIN pad".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from smartcard import scard
from smartcard.Exceptions import SmartcardException

from counter_app.card.errors import PinFormatError
from counter_app.devices.pinpad import (
    NoPinPadOnReader,
    Part10PinPad,
    PinPadFault,
    PinPadNotCapable,
    discover,
    part10,
)
from counter_app.devices.pinpad.secure_pad import CM_IOCTL_GET_FEATURE_REQUEST, ScardControl
from counter_app.workflows.ports import CardRemovedError, PinEntryKind, PinPadOutcome, PinRequest

# --- golden bytes, by hand ---------------------------------------------------------------------------

VERIFY_6 = bytes.fromhex(
    "1E"  # bTimerOut: 30 s
    "1E"  # bTimerOut2: 30 s
    "81"  # bmFormatString: 1 (units bytes) 0000 (PIN at data offset 0) 0 (left) 01 (BCD)
    "03"  # bmPINBlockString: 0000 (no PIN length field) 0011 (3-byte block = 6 BCD digits)
    "00"  # bmPINLengthFormat: no length inserted
    "06 06"  # wPINMaxExtraDigit 0x0606 (min 6, max 6), little-endian
    "02"  # bEntryValidationCondition: 确认 key
    "01"  # bNumberMessage: one message
    "04 08"  # wLangId 0x0804 (zh-CN), little-endian
    "00"  # bMsgIndex
    "00 00 00"  # bTeoPrologue
    "08 00 00 00"  # ulDataLength = 8, little-endian
    "00 20 00 00 03 FF FF FF"  # abData: VERIFY, Lc 03, PIN block filled with FF for the reader
)
VERIFY_4_TO_12 = bytes.fromhex(
    "3C"  # bTimerOut: 60 s
    "3C"  # bTimerOut2: 60 s
    "81"  # bmFormatString: bytes, offset 0, left, BCD
    "06"  # bmPINBlockString: 6-byte block (12 digits)
    "00"  # bmPINLengthFormat
    "0C 04"  # wPINMaxExtraDigit 0x040C: min 4 (high byte), max 12 (low byte) -> bytes 0C 04
    "02"  # bEntryValidationCondition
    "01"  # bNumberMessage
    "04 08"  # wLangId
    "00"  # bMsgIndex
    "00 00 00"  # bTeoPrologue
    "0B 00 00 00"  # ulDataLength = 11
    "00 20 00 00 06 FF FF FF FF FF FF"  # abData
)
MODIFY_6 = bytes.fromhex(
    "1E"  # bTimerOut
    "1E"  # bTimerOut2
    "81"  # bmFormatString
    "03"  # bmPINBlockString: 3-byte blocks
    "00"  # bmPINLengthFormat
    "00"  # bInsertionOffsetOld: old PIN at data offset 0
    "04"  # bInsertionOffsetNew: after old (3 bytes) and the FF separator
    "06 06"  # wPINMaxExtraDigit
    "03"  # bConfirmPIN: old PIN requested (bit 1) + new PIN confirmed (bit 0)
    "02"  # bEntryValidationCondition
    "03"  # bNumberMessage: three prompts
    "04 08"  # wLangId
    "00"  # bMsgIndex1: 请输入原密码
    "01"  # bMsgIndex2: 请输入新密码
    "02"  # bMsgIndex3: 请再次输入新密码
    "00 00 00"  # bTeoPrologue
    "0C 00 00 00"  # ulDataLength = 12
    "80 5E 01 00 07 FF FF FF FF FF FF FF"  # abData: CHANGE PIN, Lc 07 = old(3) FF new(3)
)


def test_pin_verify_structure_matches_the_golden_bytes() -> None:
    assert len(VERIFY_6) == 19 + 8
    assert part10.verify_structure(timeout=30, min_length=6, max_length=6) == VERIFY_6
    assert part10.verify_structure(timeout=60, min_length=4, max_length=12) == VERIFY_4_TO_12


def test_pin_modify_structure_matches_the_golden_bytes() -> None:
    assert len(MODIFY_6) == 24 + 12
    assert part10.modify_structure(timeout=30, min_length=6, max_length=6) == MODIFY_6


def test_the_structures_refuse_impossible_parameters() -> None:
    with pytest.raises(ValueError, match="timeout"):
        part10.verify_structure(timeout=0, min_length=6, max_length=6)
    with pytest.raises(ValueError, match="lengths"):
        part10.verify_structure(timeout=30, min_length=3, max_length=6)


# --- discovery and properties --------------------------------------------------------------------

# A CCID-style answer: tag, 04, control code big-endian (pcsc-lite CCID: 0x42330000 + tag).
FEATURES_CCID = bytes.fromhex(
    "06 04 42 33 00 06"  # FEATURE_VERIFY_PIN_DIRECT
    "07 04 42 33 00 07"  # FEATURE_MODIFY_PIN_DIRECT
    "0A 04 42 33 00 0A"  # FEATURE_IFD_PIN_PROPERTIES
    "12 04 42 33 00 12"  # FEATURE_GET_TLV_PROPERTIES
)
PIN_PROPERTIES = bytes.fromhex(
    "10 02 02 05"
)  # wLcdLayout 0x0210 (16 columns, 2 lines), validation 02, TimeOut2 5
TLV_PROPERTIES = bytes.fromhex(
    "01 02 00 00"  # wLcdLayout 0 (kept in other)
    "02 01 02"  # bEntryValidationCondition 2
    "03 01 00"  # bTimeOut2 0
    "06 01 04"  # bMinPINSize 4
    "07 01 08"  # bMaxPINSize 8
    "0A 04 0D 01 00 00"  # dwMaxAPDUDataSize 0x0000010D = 269 (LE)
    "0B 02 E6 08"  # wIdVendor 0x08E6 (LE)
    "0C 02 34 35"  # wIdProduct 0x3534 (LE)
    "08 03 41 42 43"  # sFirmwareID "ABC"
)


def test_feature_tlvs_are_big_endian_control_codes() -> None:
    assert part10.parse_features(FEATURES_CCID) == {
        0x06: 0x42330006, 0x07: 0x42330007, 0x0A: 0x4233000A, 0x12: 0x42330012,
    }  # fmt: skip
    assert part10.parse_features(b"") == {}
    with pytest.raises(PinPadFault, match="6 的倍数"):
        part10.parse_features(FEATURES_CCID[:-1])
    with pytest.raises(PinPadFault, match="应为 4"):
        part10.parse_features(bytes.fromhex("06 02 42 33 00 06"))


def test_pin_properties_and_tlv_properties_parse_little_endian() -> None:
    assert part10.parse_pin_properties(PIN_PROPERTIES) == part10.PinProperties(16, 2, 2, 5)
    tlv = part10.parse_tlv_properties(TLV_PROPERTIES)
    assert (tlv.min_pin_size, tlv.max_pin_size, tlv.max_apdu_data_size) == (4, 8, 269)
    assert (tlv.entry_validation, tlv.timeout2, tlv.firmware_id, tlv.usb_id) == (2, 0, "ABC", "08E6:3534")
    assert tlv.other == {0x01: b"\x00\x00"}
    with pytest.raises(PinPadFault):
        part10.parse_tlv_properties(bytes.fromhex("06 02 04"))
    with pytest.raises(PinPadFault):
        part10.parse_pin_properties(b"\x00\x00\x02")


def test_the_feature_request_code_is_pcsc_lites_scard_ctl_code_3400() -> None:
    assert CM_IOCTL_GET_FEATURE_REQUEST == 0x42000000 + 3400 == 0x42000D48


# --- Part10PinPad against a fake at pyscard's control level ------------------------------------------

VERIFY_CODE, MODIFY_CODE, PROPS_CODE, TLV_CODE = 0x31415926, 0x27182818, 0x16180339, 0x14142135


class FakeReader:
    """``control(code, bytes) -> bytes`` like pyscard's CardConnection; answers by control code."""

    def __init__(self, answers: dict[int, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[int, bytes]] = []

    def control(self, controlCode: int, command: list[int] | None = None) -> list[int]:  # noqa: N803
        self.calls.append((controlCode, bytes(command or [])))
        answer = self.answers[controlCode]
        if callable(answer):
            answer = answer(bytes(command or []))
        if isinstance(answer, Exception):
            raise answer
        return list(answer)


class Transport:
    reader_name = "REINER SCT cyberJack RFID standard 00 00"

    def atr(self) -> bytes:
        return b""

    def transmit(self, command: bytes | bytearray) -> bytes:
        raise AssertionError("the Part 10 pad never transmits through the host")


def features(*tags: tuple[int, int]) -> bytes:
    return b"".join(bytes((tag, 4)) + code.to_bytes(4, "big") for tag, code in tags)


def reader(verify: Callable[[bytes], Any] | bytes = b"\x90\x00", modify: Any = b"\x90\x00") -> FakeReader:
    return FakeReader(
        {
            CM_IOCTL_GET_FEATURE_REQUEST: features(
                (0x06, VERIFY_CODE), (0x07, MODIFY_CODE), (0x0A, PROPS_CODE), (0x12, TLV_CODE)
            ),
            PROPS_CODE: PIN_PROPERTIES,
            TLV_CODE: bytes.fromhex("06 01 04 07 01 0C"),
            VERIFY_CODE: verify,
            MODIFY_CODE: modify,
        }
    )


def test_verify_uses_the_discovered_control_code_and_the_golden_structure() -> None:
    fake = reader()
    pad = Part10PinPad(lambda transport: fake)
    result = pad.enter_on_card(PinRequest(PinEntryKind.VERIFY), Transport())
    assert (result.outcome, result.sw) == (PinPadOutcome.ENTERED, 0x9000)
    assert fake.calls[0] == (0x42000D48, b"")
    assert fake.calls[-1] == (VERIFY_CODE, VERIFY_6)
    caps = pad.capabilities(Transport())
    assert caps.can_verify and caps.can_modify and caps.pin_properties == part10.PinProperties(16, 2, 2, 5)
    pad.enter_on_card(PinRequest(PinEntryKind.CHANGE), Transport())
    assert fake.calls[-1] == (MODIFY_CODE, MODIFY_6)
    assert [code for code, _ in fake.calls].count(CM_IOCTL_GET_FEATURE_REQUEST) == 1  # discovered once


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (b"\x64\x00", PinPadOutcome.TIMED_OUT),
        (b"\x64\x01", PinPadOutcome.CITIZEN_CANCELLED),
        (b"\x64\x02", PinPadOutcome.MISMATCH),
    ],
)
def test_the_pads_own_status_words_are_outcomes(answer: bytes, outcome: PinPadOutcome) -> None:
    pad = Part10PinPad(lambda transport: reader(verify=answer, modify=answer))
    kind = PinEntryKind.CHANGE if outcome is PinPadOutcome.MISMATCH else PinEntryKind.VERIFY
    result = pad.enter_on_card(PinRequest(kind), Transport())
    assert (result.outcome, result.sw) == (outcome, None)


def test_the_cards_answer_comes_back_and_reader_errors_are_typed() -> None:
    result = Part10PinPad(lambda t: reader(verify=b"\x63\xc2")).enter_on_card(
        PinRequest(PinEntryKind.VERIFY), Transport()
    )
    assert (result.outcome, result.sw) == (PinPadOutcome.ENTERED, 0x63C2)
    with pytest.raises(PinFormatError):
        Part10PinPad(lambda t: reader(verify=b"\x64\x03")).enter_on_card(
            PinRequest(PinEntryKind.VERIFY), Transport()
        )
    with pytest.raises(PinPadFault, match="6B80"):
        Part10PinPad(lambda t: reader(verify=b"\x6b\x80")).enter_on_card(
            PinRequest(PinEntryKind.VERIFY), Transport()
        )
    with pytest.raises(PinPadFault, match="3 字节"):
        Part10PinPad(lambda t: reader(verify=b"\x90\x00\x00")).enter_on_card(
            PinRequest(PinEntryKind.VERIFY), Transport()
        )
    removed = SmartcardException("removed", hresult=scard.SCARD_W_REMOVED_CARD)
    with pytest.raises(CardRemovedError):
        Part10PinPad(lambda t: reader(verify=removed)).enter_on_card(
            PinRequest(PinEntryKind.VERIFY), Transport()
        )


def test_no_feature_list_or_no_verify_feature_means_no_pin_pad() -> None:
    unsupported = SmartcardException("Feature not supported", hresult=0x8010001F)
    plain = FakeReader({CM_IOCTL_GET_FEATURE_REQUEST: unsupported})
    with pytest.raises(NoPinPadOnReader, match="此读卡器没有密码键盘"):
        Part10PinPad(lambda t: plain).enter_on_card(PinRequest(PinEntryKind.VERIFY), Transport())
    only_tlv = FakeReader({CM_IOCTL_GET_FEATURE_REQUEST: features((0x12, TLV_CODE)), TLV_CODE: b""})
    with pytest.raises(NoPinPadOnReader):  # newer vpcd answers only FEATURE_GET_TLV_PROPERTIES
        Part10PinPad(lambda t: only_tlv).enter_on_card(PinRequest(PinEntryKind.VERIFY), Transport())


def test_what_a_part10_pad_cannot_do_is_refused_before_the_reader_is_asked() -> None:
    fake = reader()
    pad = Part10PinPad(lambda t: fake)
    with pytest.raises(PinPadNotCapable, match="密码重置"):
        pad.enter_on_card(PinRequest(PinEntryKind.RELOAD), Transport())
    with pytest.raises(PinPadNotCapable, match="固定位数"):
        pad.enter_on_card(PinRequest(PinEntryKind.VERIFY, 4, 6), Transport())
    assert fake.calls == []
    with pytest.raises(PinPadNotCapable, match="4–12"):
        pad.enter_on_card(PinRequest(PinEntryKind.VERIFY, 16, 16), Transport())
    with pytest.raises(PinPadNotCapable):
        pad.collect(PinRequest(PinEntryKind.VERIFY))
    assert pad.secure and pad.cancel() is False


def test_discovery_of_a_reader_without_part10_extras() -> None:
    caps = discover(FakeReader({CM_IOCTL_GET_FEATURE_REQUEST: features((0x06, VERIFY_CODE))}))
    assert (
        caps.can_verify
        and not caps.can_modify
        and caps.pin_properties is None
        and caps.tlv_properties is None
    )


# --- the real pcscd + vpcd reader --------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.pcsc
def test_the_vpcd_reader_through_real_pcscd_has_no_pin_pad(pcscd: dict[str, str]) -> None:
    from counter_app.emulator import build_card
    from counter_app.emulator.vpcd import VpcdSlot
    from tests.devices.pinpad.stack import wait_until_empty

    slot = VpcdSlot(port=int(pcscd["COUNTER_TEST_VPCD_PORT"]))
    slot.insert(build_card("card_a"))
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    reader_name = pcscd["COUNTER_TEST_PCSC_CARD_READER"]
    try:
        handle = None
        for _ in range(40):  # pcscd notices the card within its ~0.4 s poll
            hresult, handle, _protocol = scard.SCardConnect(
                context,
                reader_name,
                scard.SCARD_SHARE_SHARED,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )
            if hresult == scard.SCARD_S_SUCCESS:
                break
            import time

            time.sleep(0.1)
        assert hresult == scard.SCARD_S_SUCCESS and handle is not None
        try:
            with pytest.raises(NoPinPadOnReader, match="此读卡器没有密码键盘"):
                discover(ScardControl(handle), reader_name)
        finally:
            scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
    finally:
        scard.SCardReleaseContext(context)
        slot.remove()
        wait_until_empty(reader_name)
