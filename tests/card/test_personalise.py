"""预制卡 personalisation and the "uncertain" outcome, on scripted cards (§7, vectors §7.3)."""

from __future__ import annotations

from datetime import date

import pytest

from counter_app.card import (
    CardSettings,
    Field,
    PendingWrite,
    PrefabData,
    RecordState,
    SocialSecurityCard,
    WriteStatus,
)
from counter_app.card.errors import (
    CardMismatch,
    InvalidWriteData,
    NameNotWritable,
    NoKeyProvider,
    NotBlankPrefab,
    RewriteNotAllowed,
    SecurityNotSatisfied,
)
from counter_app.workflows.ports import CardRemovedError, KeyPurpose, TransportError
from tests.card.helpers import (
    CARD_B_ATR,
    CARD_B_ID,
    FCI_SSSE,
    SELECT_SSSE,
    ScriptedSequence,
    SoftKeyProvider,
    h,
)

HOLDER_B = PrefabData(
    card_number="S11000026",
    issue_date=date(2025, 6, 15),
    expiry_date=date(2035, 6, 14),
    ssn="65010219850505123X",
    name="买买提江·阿不都热合曼·艾合买提·托乎提",
    sex="1",
    ethnicity="05",
    birthplace="650102",
    birth_date=date(1985, 5, 5),
)

# §7.3, in writing order: (UPDATE RECORD, read-back command)
UPDATES = [
    ("00DC0830140812363530313032313938353035303531323358", "00B2083014"),
    ("00DC093020091EC2F2C2F2CCE1BDADA1A4B0A2B2BBB6BCC8C8BACFC2FCA1A4B0ACBACFC2F2", "00B2093020"),
    ("00DC4E30164E14CCE1A1A4CDD0BAF5CCE1FFFFFFFFFFFFFFFFFFFF", "00B24E3016"),
    ("00DC0A30030A0131", "00B20A3003"),
    ("00DC0B30030B0105", "00B20B3003"),
    ("00DC0C30050C03650102", "00B20C3005"),
    ("00DC0D30060D0419850505", "00B20D3006"),
    ("00DC052806050420250615", "00B2052806"),
    ("00DC062806060420350614", "00B2062806"),
    ("00DC07280B0709533131303030303236", "00B207280B"),
]
BLANK = {
    "00B2083014": "0812" + "FF" * 18,
    "00B2093020": "091E" + "FF" * 30,
    "00B24E3016": "4E14" + "FF" * 20,
    "00B20A3003": "0A01FF",
    "00B20B3003": "0B01FF",
    "00B20C3005": "0C03FFFFFF",
    "00B20D3006": "0D04FFFFFFFF",
    "00B2052806": "0504FFFFFFFF",
    "00B2062806": "0604FFFFFFFF",
    "00B207280B": "0709" + "FF" * 9,
}
CHALLENGE = "0F1E2D3C4B5A6978"
AUTH_04 = ("0082000410D5E0FF5850214F5FD1E84C68A41AF46F", "9000")


def data_of(update: str) -> str:
    return update[10:]


def prefab_p1_p2(card_id: str = CARD_B_ID) -> list[tuple[str, str]]:
    return [
        (SELECT_SSSE, "611B"),
        ("00C000001B", FCI_SSSE + "9000"),
        ("00B2012812", "0110" + card_id + "9000"),
        ("00B2032806", "0304332E30309000"),
        ("00B2052806", "0504FFFFFFFF9000"),
        ("00B2062806", "0604FFFFFFFF9000"),
        ("00B207280B", "0709" + "FF" * 9 + "9000"),
    ]


def resume_p1_p3(card_id: str = CARD_B_ID) -> list[tuple[str, str]]:
    return [
        (SELECT_SSSE, "611B"),
        ("00C000001B", FCI_SSSE + "9000"),
        ("00B2012812", "0110" + card_id + "9000"),
        ("0084000008", CHALLENGE + "9000"),
        AUTH_04,
    ]


def writes(updates: list[tuple[str, str]]) -> list[tuple[str, str]]:
    steps: list[tuple[str, str]] = []
    for update, read in updates:
        steps += [(update, "9000"), (read, data_of(update) + "9000")]
    return steps


def test_card_b_personalisation_sends_the_documented_apdus_and_confirms() -> None:
    card = ScriptedSequence(
        [*prefab_p1_p2(), ("0084000008", CHALLENGE + "9000"), AUTH_04, *writes(UPDATES)], atr=CARD_B_ATR
    )
    saved: list[PendingWrite] = []
    outcome = SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(
        CARD_B_ID, HOLDER_B, checkpoint=saved.append
    )
    assert card.done
    assert outcome.status is WriteStatus.CONFIRMED and outcome.pending is None
    assert [r.data.hex().upper() for r in outcome.records] == [data_of(u) for u, _ in UPDATES]
    # checkpoints: started, then uncertain/confirmed for each of the ten records
    assert len(saved) == 1 + 2 * len(UPDATES)
    assert saved[0].records[0].state is RecordState.PENDING
    assert saved[1].records[0].state is RecordState.UNCERTAIN
    assert all(r.state is RecordState.CONFIRMED for r in saved[-1].records)


def test_written_name_is_refused_before_any_apdu_when_outside_gbk() -> None:
    card = ScriptedSequence([])
    data = PrefabData(**{**HOLDER_B.__dict__, "name": "王𠈌"})
    with pytest.raises(NameNotWritable) as caught:
        SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(CARD_B_ID, data)
    assert "GBK" in caught.value.message and "𠈌" in caught.value.message
    assert card.sent == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"card_number": "S1100002"}, "卡号"),
        ({"ssn": "6501021985050512345"}, "社会保障号码"),
        ({"sex": "3"}, "性别"),
        ({"ethnicity": "5"}, "民族"),
        ({"birthplace": "65010A"}, "出生地"),
        ({"expiry_date": date(2025, 6, 15)}, "卡有效期"),
    ],
)
def test_invalid_data_is_refused_before_any_apdu(change: dict[str, object], fragment: str) -> None:
    card = ScriptedSequence([])
    with pytest.raises(InvalidWriteData, match=fragment):
        SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(
            CARD_B_ID, PrefabData(**{**HOLDER_B.__dict__, **change})
        )
    assert card.sent == []


def test_without_key_provider_nothing_is_sent() -> None:
    card = ScriptedSequence([])
    with pytest.raises(NoKeyProvider):
        SocialSecurityCard(card).personalise_prefab(CARD_B_ID, HOLDER_B)


def test_wrong_card_is_refused_before_any_write() -> None:
    other = "511100D156000005FFFFFFFFFFFFFFFF"
    card = ScriptedSequence(prefab_p1_p2(other)[:3])
    with pytest.raises(CardMismatch) as caught:
        SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(CARD_B_ID, HOLDER_B)
    assert caught.value.interface_code == -22 and card.done


def test_a_card_with_a_card_number_is_not_blank() -> None:
    steps = prefab_p1_p2()
    steps[-1] = ("00B207280B", "07095331313030303031389000")
    card = ScriptedSequence(steps)
    with pytest.raises(NotBlankPrefab):
        SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(None, HOLDER_B)
    assert card.done


def test_removal_during_an_update_is_uncertain_and_the_next_contact_confirms() -> None:
    # the card leaves during the UPDATE of 4E (third record)
    card = ScriptedSequence(
        [
            *prefab_p1_p2(),
            ("0084000008", CHALLENGE + "9000"),
            AUTH_04,
            *writes(UPDATES[:2]),
            (UPDATES[2][0], CardRemovedError("pulled")),
        ]
    )
    sscard = SocialSecurityCard(card, SoftKeyProvider())
    outcome = sscard.personalise_prefab(CARD_B_ID, HOLDER_B)
    assert outcome.status is WriteStatus.UNCERTAIN and not outcome.confirmed
    pending = outcome.pending
    assert pending is not None and pending.card_id == CARD_B_ID
    assert [r.state for r in pending.records[:4]] == [
        RecordState.CONFIRMED,
        RecordState.CONFIRMED,
        RecordState.UNCERTAIN,
        RecordState.PENDING,
    ]
    assert pending.step is not None and pending.step.item is Field.NAME_EXTENSION
    assert "卡片离开读卡器" in outcome.message

    # the journal keeps it as a mapping; next contact: the UPDATE had committed (after_commit)
    restored = PendingWrite.from_dict(pending.to_dict())
    assert restored == pending
    steps = resume_p1_p3()
    for update, read in UPDATES[:3]:
        steps.append((read, data_of(update) + "9000"))  # (a) already there: confirmed, no rewrite
    for update, read in UPDATES[3:]:
        steps += [(read, BLANK[read] + "9000"), (update, "9000"), (read, data_of(update) + "9000")]
    card.insert(steps)
    resolved = sscard.resolve_uncertain(restored)
    assert card.done
    assert resolved.status is WriteStatus.CONFIRMED
    assert all(r.state is RecordState.CONFIRMED for r in resolved.records)


def test_resolve_redoes_a_record_that_kept_its_old_value() -> None:
    card = ScriptedSequence(
        [
            *prefab_p1_p2(),
            ("0084000008", CHALLENGE + "9000"),
            AUTH_04,
            (UPDATES[0][0], CardRemovedError("pulled")),
        ]
    )
    sscard = SocialSecurityCard(card, SoftKeyProvider())
    pending = sscard.personalise_prefab(CARD_B_ID, HOLDER_B).pending
    assert pending is not None
    steps = resume_p1_p3()
    for update, read in UPDATES:
        steps += [(read, BLANK[read] + "9000"), (update, "9000"), (read, data_of(update) + "9000")]
    card.insert(steps)
    assert sscard.resolve_uncertain(pending).confirmed and card.done


def test_removal_before_the_read_back_is_uncertain_never_success() -> None:
    card = ScriptedSequence(
        [
            *prefab_p1_p2(),
            ("0084000008", CHALLENGE + "9000"),
            AUTH_04,
            *writes(UPDATES[:9]),
            (UPDATES[9][0], "9000"),
            (UPDATES[9][1], CardRemovedError("pulled")),
        ]
    )
    outcome = SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(CARD_B_ID, HOLDER_B)
    assert outcome.status is WriteStatus.UNCERTAIN
    assert outcome.pending is not None and outcome.pending.records[9].state is RecordState.UNCERTAIN


def test_reader_fault_is_uncertain_too() -> None:
    card = ScriptedSequence(
        [*prefab_p1_p2(), ("0084000008", CHALLENGE + "9000"), AUTH_04, (UPDATES[0][0], TransportError("usb"))]
    )
    outcome = SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(CARD_B_ID, HOLDER_B)
    assert outcome.status is WriteStatus.UNCERTAIN and "读卡器故障" in outcome.message


def test_resolve_on_another_card_is_refused_and_the_pending_stays() -> None:
    card = ScriptedSequence(
        [*prefab_p1_p2(), ("0084000008", CHALLENGE + "9000"), AUTH_04, (UPDATES[0][0], CardRemovedError("x"))]
    )
    sscard = SocialSecurityCard(card, SoftKeyProvider())
    pending = sscard.personalise_prefab(CARD_B_ID, HOLDER_B).pending
    assert pending is not None
    card.insert(resume_p1_p3("511100D156000005FFFFFFFFFFFFFFFF")[:3])
    with pytest.raises(CardMismatch):
        sscard.resolve_uncertain(pending)


def test_read_back_mismatch_twice_ends_uncertain_with_write_verify_failed() -> None:
    update, read = UPDATES[0]
    card = ScriptedSequence(
        [
            *prefab_p1_p2(),
            ("0084000008", CHALLENGE + "9000"),
            AUTH_04,
            (update, "9000"),
            (read, BLANK[read] + "9000"),
            (update, "9000"),
            (read, BLANK[read] + "9000"),
        ]
    )
    outcome = SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(CARD_B_ID, HOLDER_B)
    assert outcome.status is WriteStatus.UNCERTAIN
    assert outcome.error is not None and outcome.error.code == "write_verify_failed"


def test_card_error_before_any_update_raises_and_card_is_unchanged() -> None:
    card = ScriptedSequence(
        [*prefab_p1_p2(), ("0084000008", CHALLENGE + "9000"), AUTH_04, (UPDATES[0][0], "6982")]
    )
    with pytest.raises(SecurityNotSatisfied):
        # the UPDATE was refused by the card: the record is unchanged, nothing is uncertain
        SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(CARD_B_ID, HOLDER_B)


def test_card_error_after_a_confirmed_write_is_uncertain() -> None:
    card = ScriptedSequence(
        [
            *prefab_p1_p2(),
            ("0084000008", CHALLENGE + "9000"),
            AUTH_04,
            *writes(UPDATES[:1]),
            (UPDATES[1][0], "6A83"),
        ]
    )
    outcome = SocialSecurityCard(card, SoftKeyProvider()).personalise_prefab(CARD_B_ID, HOLDER_B)
    assert outcome.status is WriteStatus.UNCERTAIN and outcome.error is not None


# --- §7.4 the optional rewrite ---------------------------------------------------------------------


def test_rewrite_is_off_by_default() -> None:
    card = ScriptedSequence([])
    with pytest.raises(RewriteNotAllowed, match="未开启"):
        SocialSecurityCard(card, SoftKeyProvider()).rewrite_unprinted_fields(
            CARD_B_ID, {Field.ETHNICITY: "07"}
        )


@pytest.mark.parametrize("item", [Field.NAME, Field.SSN, Field.CARD_NUMBER, Field.SEX])
def test_rewrite_refuses_printed_items(item: Field) -> None:
    settings = CardSettings(chip_rewrite_enabled=True)
    with pytest.raises(RewriteNotAllowed):
        SocialSecurityCard(ScriptedSequence([]), SoftKeyProvider(), settings).rewrite_unprinted_fields(
            CARD_B_ID, {item: "1"}
        )


def test_rewrite_of_ethnicity_and_birthplace() -> None:
    settings = CardSettings(chip_rewrite_enabled=True)
    card = ScriptedSequence(
        [
            *resume_p1_p3(),
            ("00DC0B30030B0107", "9000"),
            ("00B20B3003", "0B01079000"),
            ("00DC0C30050C03511132", "9000"),
            ("00B20C3005", "0C035111329000"),
        ]
    )
    outcome = SocialSecurityCard(card, SoftKeyProvider(), settings).rewrite_unprinted_fields(
        CARD_B_ID.lower(), {Field.BIRTHPLACE: "511132", Field.ETHNICITY: "07"}
    )
    assert outcome.confirmed and card.done


def test_pending_write_from_garbage_is_a_typed_error() -> None:
    with pytest.raises(InvalidWriteData):
        PendingWrite.from_dict({"format": 1, "kind": "prefab", "card_id": "XYZ", "records": []})
    with pytest.raises(InvalidWriteData):
        PendingWrite.from_dict({"format": 1, "kind": "prefab", "card_id": CARD_B_ID, "records": [{"sfi": 6}]})
    with pytest.raises(InvalidWriteData):
        PendingWrite.from_dict(
            {
                "format": 1,
                "kind": "prefab",
                "card_id": CARD_B_ID,
                "records": [{"sfi": 6, "tag": 9, "data": "0901FF", "state": "pending"}],
            }
        )


def test_soft_key_provider_used_the_write_key_for_card_b() -> None:
    keys = SoftKeyProvider()
    card = ScriptedSequence([*prefab_p1_p2(), ("0084000008", CHALLENGE + "9000"), AUTH_04, *writes(UPDATES)])
    SocialSecurityCard(card, keys).personalise_prefab(CARD_B_ID, HOLDER_B)
    assert keys.calls == [(KeyPurpose.WRITE_AUTH, h(CARD_B_ID), h(CHALLENGE), b"")]
