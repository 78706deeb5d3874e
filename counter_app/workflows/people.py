"""Reading persons and cards as the server sends them (人员与卡片信息), for the flows.

The server's lookups (``CentralApi.find_person`` / ``find_card``) return plain mappings shaped like
the central API's ``PersonDetail`` / ``CardDetail``: a person has ``id``, ``id_type`` (``resident_id``
…), ``id_number``, ``name``, ``sex``, ``birth_date``, ``social_security_number``,
``vulnerable_group``, ``cards`` and ``custody_authorisations``; a card has ``id``, ``card_number``,
``card_identifier``, ``bank``, ``status``, ``state_before_loss``, ``replacement_applied``,
``known_duplicate`` …. These helpers read them defensively and never change them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from counter_app.domain.card_lifecycle import (
    FINAL_STATES,
    ISSUED_STATES,
    CardFacts,
    CardSummary,
    ReplaceKind,
    SocialStatus,
)
from counter_app.domain.identity import DocumentType, Sex, check_document
from counter_app.workflows.base import InputInvalid

#: 证件类型 codes on the wire (the central API's) → the domain's document types.
ID_TYPES: Final[Mapping[str, DocumentType]] = {
    "resident_id": DocumentType.RESIDENT_ID,
    "hmt_residence_permit": DocumentType.HMT_RESIDENCE_PERMIT,
    "foreign_permanent_resident_id": DocumentType.FOREIGN_PERMANENT_RESIDENT_ID,
    "passport": DocumentType.PASSPORT,
}
ADULT_AGE: Final = 18  # 代办: a principal under 18 needs guardianship proof (brochure)

Record = Mapping[str, Any]


def id_type_label(code: str) -> str:
    """居民身份证 … for a wire code; the code itself when unknown."""
    kind = ID_TYPES.get(code)
    return kind.value if kind is not None else code


def sex_label(code: str | None) -> str:
    try:
        return Sex(code).label if code else ""
    except ValueError:
        return ""


def text(record: Record | None, key: str) -> str:
    """A field as text ("" when missing or None)."""
    if record is None:
        return ""
    value = record.get(key)
    return "" if value is None else str(value)


def as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def birth_date(person: Record, today: date) -> date | None:
    """出生日期 from the 社会保障号码 (the 公民身份号码's birth date), else the registered one."""
    for key in ("social_security_number", "id_number"):
        number = text(person, key)
        if len(number) == 18 and (key != "id_number" or text(person, "id_type") == "resident_id"):
            checked = check_document(DocumentType.RESIDENT_ID, number, today=today)
            if checked.birth_date is not None:
                return checked.birth_date
    return as_date(person.get("birth_date"))


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def is_minor(person: Record, today: date, *, adult_age: int = ADULT_AGE) -> bool:
    """Under ``adult_age`` today (an unknown birth date counts as adult: the clerk sees the ID)."""
    born = birth_date(person, today)
    return born is not None and age_on(born, today) < adult_age


def person_ref(person: Record) -> dict[str, str]:
    """The central API's ``PersonRef``."""
    return {"id_type": text(person, "id_type") or "resident_id", "id_number": text(person, "id_number")}


def card_ref(card: Record) -> dict[str, Any]:
    """The central API's ``CardRef``: by record id when known, else by 卡号."""
    if card.get("id") is not None:
        return {"card_id": card["id"]}
    return {"card_number": text(card, "card_number")}


def status(card: Record) -> SocialStatus:
    return SocialStatus(text(card, "status"))


def facts(card: Record, *, replace_kind: ReplaceKind | None = None, instant: bool = False) -> CardFacts:
    """The life-cycle facts of a card as the server reports them."""
    before = text(card, "state_before_loss")
    return CardFacts(
        state_before_loss=SocialStatus(before) if before else None,
        replacement_applied=bool(card.get("replacement_applied")),
        known_duplicate=bool(card.get("known_duplicate")),
        replace_kind=replace_kind,
        instant=instant,
    )


def cards(person: Record) -> list[Record]:
    raw = person.get("cards") or ()
    return [c for c in raw if isinstance(c, Mapping)]


def summaries(person: Record) -> list[CardSummary]:
    """The person's cards for ``check_one_card_rule``."""
    return [CardSummary(status(c), bool(c.get("known_duplicate"))) for c in cards(person)]


def live_cards(person: Record) -> list[Record]:
    """Cards not REPLACED or CANCELLED, known duplicates last."""
    alive = [c for c in cards(person) if status(c) not in FINAL_STATES]
    return sorted(alive, key=lambda c: bool(c.get("known_duplicate")))


def issued_card(person: Record) -> Record | None:
    """The person's issued card (ISSUED_INACTIVE, ACTIVE or a loss), known duplicates excepted."""
    for card in cards(person):
        if status(card) in ISSUED_STATES and not card.get("known_duplicate"):
            return card
    return None


def find_card(person: Record, **match: object) -> Record | None:
    for card in cards(person):
        if all(card.get(k) == v for k, v in match.items()):
            return card
    return None


def card_label(card: Record) -> str:
    """卡号 and status for a choice list: ``S11000018（正常）``."""
    number = text(card, "card_number") or "（卡号待制卡）"
    return f"{number}（{status(card).label}）"


def third_party_id(id_type: str, number: str, today: date, *, whose: str, code: str) -> str:
    """The normalised 证件号码 of someone other than the holder (代办人, 经办人, 代管人), or
    `InputInvalid` naming ``whose`` it is (``code`` for a number that fails its checks)."""
    kind = ID_TYPES.get(id_type)
    if kind is None:
        raise InputInvalid("id_type_unknown", f"请选择{whose}的证件类型")
    checked = check_document(kind, number, today=today)
    if checked.blocking:
        reasons = "；".join(f.message for f in checked.failures if f.blocking)
        raise InputInvalid(code, f"{whose}证件号码有误：{reasons}", "请对照证件逐位核对")
    return checked.value


def normalised_id(id_type: str, number: str, today: date) -> str:
    """The 证件号码 as the domain normalises it (NFKC, upper-case X)."""
    kind = ID_TYPES.get(id_type)
    return check_document(kind, number, today=today).value if kind is not None else number.strip()


def _masked(number: str) -> str:
    """A 证件号码 as the server shows it in lookups (``5111**********1234``)."""
    n = len(number)
    keep = 4 if n >= 12 else 2 if n >= 8 else 1
    return "*" * n if n <= 2 * keep else number[:keep] + "*" * (n - 2 * keep) + number[-keep:]


def custody_for(
    person: Record, agent_id_type: str, agent_id_number: str, today: date, *, agent_name: str = ""
) -> Record | None:
    """The person's 代管代持 authorisation for this agent valid today, or None.

    The server's lookups mask the custodian's 证件号码 (``5111**********1234``): then the agent's
    number masked the same way and the custodian's name must both agree. This is the counter's
    early check; the server checks the full number again on every command.
    """
    wanted = normalised_id(agent_id_type, agent_id_number, today)
    for entry in active_custody(person, today):
        number = text(entry, "custodian_id_number")
        kind = text(entry, "custodian_id_type") or "resident_id"
        if kind != agent_id_type:
            continue
        if "*" in number:
            name = text(entry, "custodian_name")
            if _masked(wanted) == number and (not agent_name or not name or name == agent_name):
                return entry
        elif normalised_id(kind, number, today) == wanted:
            return entry
    return None


#: 四类人 as the server codes them (``persons.vulnerable_group``); other values are shown as they are.
VULNERABLE_GROUPS: Final[Mapping[str, str]] = {
    "subsistence_allowance": "低保户",
    "extreme_poverty": "特困群众",
    "disability": "残疾人",
    "registered_poor": "建档立卡贫困户",
    "four_categories": "四类人",  # the local replica keeps only the flag
}


def vulnerable_label(person: Record | None) -> str:
    """The holder's 四类人 group in words ("" when not one of them)."""
    code = text(person, "vulnerable_group")
    return VULNERABLE_GROUPS.get(code, code)


def active_custody(person: Record | None, today: date) -> list[Record]:
    """The holder's 代管代持 authorisations valid today."""
    raw: Sequence[Any] = (person or {}).get("custody_authorisations") or ()
    out = []
    for entry in raw:
        if not isinstance(entry, Mapping) or entry.get("active") is False:
            continue
        start, until = as_date(entry.get("valid_from")), as_date(entry.get("valid_until"))
        if (start is None or start <= today) and (until is None or today <= until):
            out.append(entry)
    return out


def custody_banner(person: Record | None, today: date, *, from_replica: bool = False) -> str:
    """代管代持 as every page of a flow shows it, once the holder is known ("" when it does not apply).

    ``from_replica``: the holder comes from the local replica (离线), which keeps no authorisations.
    """
    group = vulnerable_label(person)
    if group and from_replica:
        return (
            f"代管代持：此持卡人属于{group}。离线时无法核对代管代持授权；"
            "非本人办理的，请待联网核对授权后再办理。"
        )
    active = active_custody(person, today)
    if active:
        who = "；".join(
            f"{text(c, 'custodian_name')}（{text(c, 'relation') or '代管人'}，"
            f"证件尾号 {text(c, 'custodian_id_number')[-4:]}，事由：{text(c, 'reason')}，"
            f"有效期 {text(c, 'valid_from')} 至 {text(c, 'valid_until')}，复核人 {text(c, 'approved_by')}）"
            for c in active
        )
        return (
            f"代管代持：此持卡人（{group or '四类人'}）的社会保障卡已授权代管代持 — {who}。"
            "非本人办理的，只能由上述代管人办理；请核对代管人身份证件。"
        )
    if group:
        return (
            f"代管代持：此持卡人属于{group}，尚无有效的代管代持授权。"
            "非本人办理的须先登记代管代持授权（须复核）；村（社区）干部不得代领、保管他人社会保障卡。"
        )
    return ""
