"""The test cards' holders in the training database (测试卡持卡人) — TRAINING only.

The emulated test cards (``counter_app.emulator.testcards``) carry people the synthetic population
does not contain; without them every card in the "客户操作" window would be 中心无此卡记录. This
adds each personalised card's holder and card, in states that give a trainee something to do:

- 张三, 陈晓燕, 阿依古丽…, 刘德明 (PIN locked on the chip): 正常;
- 李秀英: 正常, with an active 代管代持 authorisation (the card panel shows the notice);
- 王建国 (1.00 card): 已发卡未激活 (激活);
- 吉克阿呷: 正式挂失 (解挂, 补卡).

The prefab cards' intended holders get a person record (no card yet). A number that the seeded
population already uses is skipped with a log line, never overwritten.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Any

from counter_app.clock import SHANGHAI
from counter_app.domain.card_lifecycle import FinancialStatus, SocialStatus
from counter_app.emulator import TEST_CARDS, TestCard

log = logging.getLogger(__name__)

STATES: dict[str, SocialStatus] = {
    "qianwei_v1": SocialStatus.ISSUED_INACTIVE,
    "yi_mabian": SocialStatus.FORMAL_LOSS,
}
CUSTODY = {
    "emeishan_v2": {
        "custodian_name": "王志强",
        "custodian_id_type": "resident_id",
        "custodian_id_number": "511181199003154017",
        "custodian_phone": "13800000001",
        "relation": "子女",
        "reason": "持卡人年老行动不便，委托子女代管社会保障卡",
        "valid_from": date(2025, 1, 1),
        "valid_until": date(2027, 12, 31),
        "approved_by": "HR0109",
        "created_by": "HR0101",
    }
}


def _person(
    session: Any, ssn: str, name: str, sex: str, ethnicity: str, birthplace: str, born: date
) -> int | None:
    from sqlalchemy import select

    from central.models import HouseholdRow, PersonRow

    if session.scalar(select(PersonRow.id).where(PersonRow.id_number == ssn)) is not None:
        log.info("training holder %s already in the population: skipped", ssn[:6])
        return None
    household = HouseholdRow(number=f"TC{ssn}", region_code=birthplace)
    session.add(household)
    session.flush()
    person = PersonRow(
        id_type="resident_id",
        id_number=ssn,
        social_security_number=ssn,
        name=name,
        sex=sex,
        ethnicity=ethnicity,
        birthplace=birthplace,
        birth_date=born,
        phone="13800000000",
        address="四川省乐山市（培训数据）",
        insured_region=birthplace if birthplace.startswith("5111") else "511102",
        household_id=household.id,
        row_version=1,
    )
    session.add(person)
    session.flush()
    household.head_person_id = person.id
    return int(person.id)


def _card(session: Any, person_id: int, card: TestCard, now: datetime) -> None:
    from sqlalchemy import or_, select

    from central.models import CardRow, CustodyAuthorisationRow

    taken = session.scalar(
        select(CardRow.id).where(
            or_(CardRow.card_number == card.card_number, CardRow.card_identifier == card.card_id)
        )
    )
    if taken is not None:
        log.info("training card %s already in the population: skipped", card.name)
        return
    status = STATES.get(card.name, SocialStatus.ACTIVE)
    lost = status is SocialStatus.FORMAL_LOSS
    assert card.issue_date is not None
    session.add(
        CardRow(
            person_id=person_id,
            card_number=card.card_number,
            card_identifier=card.card_id,
            spec_version=card.profile,
            issuing_region=card.card_id[:6],
            bank="农业银行",
            account_masked=f"6230********{card.pan[-4:]}",
            status=status.value,
            state_before_loss=SocialStatus.ACTIVE.value if lost else None,
            loss_reported_at=now if lost else None,
            financial_status=(
                FinancialStatus.ACTIVE if status is SocialStatus.ACTIVE else FinancialStatus.INACTIVE
            ).value,
            applied_at=datetime.combine(card.issue_date, time(9), SHANGHAI),
            production_batch="TRAINING",
            issued_on=card.issue_date,
            expires_on=card.expiry_date,
            updated_at=now,
            row_version=1,
        )
    )
    custody = CUSTODY.get(card.name)
    if custody is not None:
        session.add(CustodyAuthorisationRow(person_id=person_id, **custody))


def add_test_card_holders(db: Any, now: datetime) -> int:
    """Insert the holders and cards described above; returns how many cards were added."""
    added = 0
    with db.write() as session:
        for card in TEST_CARDS.values():
            holder = card.holder()
            if holder is not None and card.card_number is not None and card.birth_date is not None:
                person_id = _person(
                    session,
                    holder.social_security_number,
                    holder.name,
                    holder.sex,
                    holder.ethnicity,
                    holder.birthplace,
                    card.birth_date,
                )
                if person_id is not None:
                    _card(session, person_id, card, now)
                    added += 1
            elif card.intended_holder is not None:
                who = card.intended_holder
                _person(
                    session,
                    who.social_security_number,
                    who.name,
                    who.sex,
                    who.ethnicity,
                    who.birthplace,
                    who.birth_date,
                )
    return added


def card_labels() -> dict[str, tuple[str, str]]:
    """What the "客户操作" window lists per test card: a line for the trainee, and a tooltip."""
    labels = {}
    for card in TEST_CARDS.values():
        if card.holder_name:
            who = f"{card.holder_name}  {card.card_number}"
            facts = [f"{card.profile} 卡", STATES.get(card.name, SocialStatus.ACTIVE).label]
        else:
            intended = card.intended_holder.name if card.intended_holder is not None else ""
            who = f"空白预制卡（拟制给 {intended}）" if intended else "空白预制卡"
            facts = ["待个人化"]
        if card.tries_left == 0:
            facts.append("密码已锁定")
        if card.name in CUSTODY:
            facts.append("有代管代持")
        labels[card.name] = (f"{who} · {'、'.join(facts)}", card.description)
    return labels
