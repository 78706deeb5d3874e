"""Person records (人员信息): registration at 申领, 关键信息变更, 非关键信息变更, 参保地变更."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from central.core.problems import invalid, invalid_document
from central.models import PersonRow
from central.schemas import ChangeContactIn, ChangeKeyInfoIn, PersonIn, TransferRegionIn
from central.services.common import (
    ID_TYPES,
    CommandContext,
    check_item,
    check_presenter,
    get_person,
    person_cards,
    record_transaction,
)
from central.services.outcome import outcome
from counter_app.domain.card_lifecycle import ISSUED_STATES
from counter_app.domain.errors import DomainError
from counter_app.domain.identity import Sex, check_document, chip_name_fit, ethnicity_name, region_name

_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
SICHUAN_PREFIX = "51"


def _name_notice(ctx: CommandContext, name: str) -> None:
    fit = chip_name_fit(name)
    if not fit.fits:
        ctx.notices.append(fit.message)


def _check_phone(phone: str | None) -> None:
    if phone is not None and not _PHONE.fullmatch(phone):
        raise invalid(
            "phone", f"联系电话“{phone}”格式不正确，应为 11 位手机号或带区号的固定电话。", field="phone"
        )


def _check_ethnicity(code: str | None) -> None:
    if code is not None and ethnicity_name(code) is None:
        raise invalid("ethnicity", f"民族代码“{code}”不在 GB 3304 民族代码表中。", field="ethnicity")


def register_person(ctx: CommandContext, data: PersonIn) -> PersonRow:
    """Create the record of a person the city does not know yet (证件 checked; 422 on a bad number)."""
    doc_type = ID_TYPES[data.id_type]
    sex = Sex(data.sex) if data.sex else None
    check = check_document(doc_type, data.id_number, sex=sex, today=ctx.today)
    if check.blocking:
        raise invalid_document("person.id_number", "证件号码", check)
    ctx.notices.extend(check.notices)
    birth_date = data.birth_date or check.birth_date
    sex = sex or check.sex
    if check.birth_date is not None and data.birth_date is not None and data.birth_date != check.birth_date:
        raise invalid("birth_date", "出生日期与证件号码中的出生日期不一致。", field="person.birth_date")
    missing = [
        label
        for label, value in (
            ("姓名", data.name),
            ("民族", data.ethnicity),
            ("性别", sex),
            ("出生日期", birth_date),
        )
        if not value
    ]
    if missing:
        raise invalid(
            "person_incomplete",
            "首次登记人员信息须填写：" + "、".join(missing) + "。",
            field="person",
            missing=missing,
        )
    assert data.name and data.ethnicity and sex and birth_date
    _check_ethnicity(data.ethnicity)
    _check_phone(data.phone)
    _name_notice(ctx, data.name)
    outlet = ctx.actor.outlet_row
    insured_region = data.insured_region or (outlet.region_code if outlet is not None else "511100")
    person = PersonRow(
        id_type=data.id_type,
        id_number=check.value,
        social_security_number=check.value[:18],
        name=data.name,
        sex=sex.value,
        ethnicity=data.ethnicity,
        birthplace=data.birthplace or check.region,
        birth_date=birth_date,
        phone=data.phone,
        address=data.address,
        insured_region=insured_region,
    )
    ctx.session.add(person)
    ctx.session.flush()
    return person


def check_known_person_matches(person: PersonRow, data: PersonIn) -> None:
    """申领 for a known person: a different name means the record must be changed first."""
    if data.name and data.name != person.name:
        raise DomainError(
            "person_data_mismatch",
            f"证件号码 {person.id_number} 在系统中登记的姓名为“{person.name}”，与本次填写的“{data.name}”不一致。",
            "请核对证件；系统信息有误的请先办理关键信息变更。",
        )


def change_key_info(ctx: CommandContext, body: ChangeKeyInfoIn) -> dict[str, Any]:
    """关键信息变更: 姓名, 证件号码, 性别, 民族, 出生日期; the clerk then leads into 换卡."""
    check_item(ctx, "change_key_info")
    person = get_person(ctx.session, body.person, lock=True)
    check_presenter(ctx, body, person)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(field: str, value: Any) -> None:
        if value is not None and value != getattr(person, field):
            before[field] = getattr(person, field)
            after[field] = value

    new_sex = Sex(body.sex) if body.sex else Sex(person.sex)
    number = person.id_number
    if body.new_id_number is not None:
        check = check_document(ID_TYPES[person.id_type], body.new_id_number, sex=new_sex, today=ctx.today)
        if check.blocking:
            raise invalid_document("new_id_number", "新证件号码", check)
        ctx.notices.extend(check.notices)
        number = check.value
        taken = ctx.session.scalar(
            select(PersonRow.id).where(
                PersonRow.id_type == person.id_type, PersonRow.id_number == number, PersonRow.id != person.id
            )
        )
        if taken is not None:
            raise DomainError(
                "id_number_taken",
                f"证件号码 {number} 已登记在另一人名下，不能变更为此号码。",
                "请核对证件原件；确属重复登记的，请联系社保卡管理中心核查。",
            )
    # The number (old or new) must agree with the sex and birth date the record will have.
    check = check_document(ID_TYPES[person.id_type], number, sex=new_sex, today=ctx.today)
    if check.blocking:
        raise invalid_document("sex", "证件号码与性别", check)
    birth_date = body.birth_date or person.birth_date
    if check.birth_date is not None and check.birth_date != birth_date:
        raise invalid("birth_date", "出生日期与证件号码中的出生日期不一致。", field="birth_date")
    _check_ethnicity(body.ethnicity)
    change("name", body.name)
    change("id_number", number)
    change("sex", body.sex)
    change("ethnicity", body.ethnicity)
    change("birth_date", body.birth_date)
    if not after:
        raise invalid("no_change", "没有需要变更的信息：填写的内容与系统中的一致。")
    for field, value in after.items():
        setattr(person, field, value)
    if "id_number" in after and person.id_type == "resident_id":
        person.social_security_number = number
    if body.name:
        _name_notice(ctx, body.name)
    if any(c.status in ISSUED_STATES for c in person_cards(ctx.session, person.id)):
        ctx.notices.append("关键信息已变更，卡面信息与系统不一致：请为持卡人办理换卡（原因：卡面信息变更）。")
    details = {
        "before": _jsonable(before),
        "after": _jsonable(after),
        "evidence": body.evidence,
    }
    transaction = record_transaction(
        ctx,
        body,
        item_code="change_key_info",
        command="change_key_info",
        person=person,
        card=None,
        details=details,
    )
    return outcome(ctx, "change_key_info", transaction=transaction, person=person, data=details)


def change_contact(ctx: CommandContext, body: ChangeContactIn) -> dict[str, Any]:
    """非关键信息变更: phone and address."""
    check_item(ctx, "change_contact")
    person = get_person(ctx.session, body.person, lock=True)
    check_presenter(ctx, body, person)
    if body.phone is None and body.address is None:
        raise invalid("no_change", "请填写需要变更的联系电话或联系地址。")
    _check_phone(body.phone)
    before = {"phone": person.phone, "address": person.address}
    if body.phone is not None:
        person.phone = body.phone
    if body.address is not None:
        person.address = body.address
    details = {"before": before, "after": {"phone": person.phone, "address": person.address}}
    transaction = record_transaction(
        ctx,
        body,
        item_code="change_contact",
        command="change_contact",
        person=person,
        card=None,
        details=details,
    )
    return outcome(ctx, "change_contact", transaction=transaction, person=person, data=details)


def transfer_region(ctx: CommandContext, body: TransferRegionIn) -> dict[str, Any]:
    """参保地变更 within Sichuan (from another province it is a 申领; the card's region never changes)."""
    check_item(ctx, "transfer_region")
    person = get_person(ctx.session, body.person, lock=True)
    check_presenter(ctx, body, person)
    target = body.to_region
    if region_name(target) is None or not target.startswith(SICHUAN_PREFIX):
        raise DomainError(
            "cross_province",
            f"参保地 {target} 不是四川省内已登记的行政区划，省外转入不办理参保地变更。",
            "从省外转入的，请为其办理社会保障卡申领。",
        )
    if not person.insured_region.startswith(SICHUAN_PREFIX):
        raise DomainError(
            "cross_province",
            "此人原参保地不在四川省内，不办理参保地变更。",
            "从省外转入的，请为其办理社会保障卡申领。",
        )
    if target == person.insured_region:
        raise DomainError("same_region", f"此人参保地已是 {region_name(target)}（{target}），无需变更。")
    details = {
        "from_region": person.insured_region,
        "to_region": target,
        "certificate_number": body.certificate_number,
    }
    person.insured_region = target
    ctx.notices.append("参保地已变更；卡识别码中的发卡地区不变，无需换卡。")
    transaction = record_transaction(
        ctx,
        body,
        item_code="transfer_region",
        command="transfer_region",
        person=person,
        card=None,
        details=details,
    )
    return outcome(ctx, "transfer_region", transaction=transaction, person=person, data=details)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
