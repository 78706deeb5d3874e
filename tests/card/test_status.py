"""Status words → typed errors with stable codes and Chinese messages (card-protocol §8.1)."""

from __future__ import annotations

import pickle

import pytest

from counter_app.card import errors as e
from counter_app.card.kinds import Kind
from counter_app.card.status import error_for
from counter_app.domain.errors import DomainError


@pytest.mark.parametrize(
    ("sw", "kind", "cls", "code"),
    [
        (0x63C5, Kind.VERIFY, e.PinIncorrect, "pin_incorrect"),
        (0x63C1, Kind.CHANGE_PIN, e.PinIncorrect, "pin_incorrect"),
        (0x6983, Kind.VERIFY, e.PinBlocked, "pin_blocked"),
        (0x6983, Kind.CHANGE_PIN, e.PinBlocked, "pin_blocked"),
        (0x63CE, Kind.EXTERNAL_AUTH, e.ExternalAuthFailed, "external_auth_failed"),
        (0x6983, Kind.EXTERNAL_AUTH, e.KeyBlocked, "key_blocked"),
        (0x6982, Kind.READ_RECORD, e.SecurityNotSatisfied, "security_not_satisfied"),
        (0x6A82, Kind.SELECT, e.FileNotFound, "file_not_found"),
        (0x6A83, Kind.READ_RECORD, e.RecordNotFound, "record_not_found"),
        (0x6700, Kind.UPDATE_RECORD, e.WrongLength, "wrong_length"),
        (0x6984, Kind.RELOAD_PIN, e.NoValidChallenge, "no_valid_challenge"),
        (0x6985, Kind.UPDATE_RECORD, e.ConditionsNotSatisfied, "conditions_not_satisfied"),
        (0x6986, Kind.READ_RECORD, e.NoCurrentFile, "no_current_file"),
        (0x6988, Kind.UNBLOCK_PIN, e.MacInvalid, "mac_invalid"),
        (0x6A80, Kind.VERIFY, e.WrongData, "wrong_data"),
        (0x6A86, Kind.SELECT, e.WrongParameters, "wrong_parameters"),
        (0x6A88, Kind.EXTERNAL_AUTH, e.KeyNotFound, "key_not_found"),
        (0x6D00, Kind.SELECT, e.InsNotSupported, "ins_not_supported"),
        (0x6E00, Kind.SELECT, e.ClaNotSupported, "cla_not_supported"),
        (0x6A88, Kind.PSAM_INIT, e.PsamKeyMissing, "psam_key_missing"),
        (0x6985, Kind.PSAM_CIPHER, e.PsamError, "psam_error"),
        (0x9303, Kind.SELECT, e.StatusError, "card_status"),
        (0x63C2, Kind.READ_RECORD, e.StatusError, "card_status"),
    ],
)
def test_mapping(sw: int, kind: Kind, cls: type[e.CardError], code: str) -> None:
    error = error_for(sw, kind)
    assert type(error) is cls
    assert error.code == code and error.sw == sw
    assert isinstance(error, DomainError)
    assert any("\u4e00" <= c <= "\u9fff" for c in error.message)  # a Chinese message for the clerk


def test_pin_incorrect_carries_tries_and_interface_code() -> None:
    error = error_for(0x63C3, Kind.VERIFY)
    assert isinstance(error, e.PinIncorrect)
    assert (
        error.tries_left == 3 and error.message == "密码错误，还可尝试 3 次" and error.interface_code == -51
    )
    assert error_for(0x6983, Kind.VERIFY).interface_code == -52


def test_unlisted_status_word_carries_minus_sw_like_the_national_interface() -> None:
    assert error_for(0x9303, Kind.SELECT).interface_code == -37635
    assert error_for(0x6982, Kind.READ_RECORD).interface_code == -27010


def test_errors_survive_pickling() -> None:
    for error in (e.PinIncorrect(2), e.CardMismatch("A", "B"), e.ProtocolError("x"), e.StatusError(0x6F00)):
        clone = pickle.loads(pickle.dumps(error))
        assert type(clone) is type(error) and clone.message == error.message and clone.code == error.code
