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


def normalised_id(id_type: str, number: str, today: date) -> str:
    """The 证件号码 as the domain normalises it (NFKC, upper-case X)."""
    kind = ID_TYPES.get(id_type)
    return check_document(kind, number, today=today).value if kind is not None else number.strip()


def custody_for(person: Record, agent_id_type: str, agent_id_number: str, today: date) -> Record | None:
    """The person's 代管代持 authorisation for this agent valid today, or None."""
    raw: Sequence[Any] = person.get("custody_authorisations") or ()
    wanted = normalised_id(agent_id_type, agent_id_number, today)
    for entry in raw:
        if not isinstance(entry, Mapping) or entry.get("active") is False:
            continue
        number = text(entry, "custodian_id_number")
        kind = text(entry, "custodian_id_type") or "resident_id"
        if kind != agent_id_type or normalised_id(kind, number, today) != wanted:
            continue
        start, until = as_date(entry.get("valid_from")), as_date(entry.get("valid_until"))
        if (start is None or start <= today) and (until is None or today <= until):
            return entry
    return None
