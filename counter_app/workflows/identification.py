"""Who and which card (身份核验与选卡): the steps that find the holder and the card an item acts on.

- ``read_card``: the card in the reader (EF05/EF06; a 3.0 card's EF06 with the PSAM) → the server's
  record of that card and its holder (offline: the chip, and the local replica if it knows them);
  the chip's 社会保障号码 must be the registered holder's;
- ``identify``: 证件类型 and 号码, typed or read from the 二代证, checked by the domain's rules (a
  failed check says which rule, never a "correct" check character) → the server's record;
- ``select_card``: the card among the person's cards when more than one may be meant.

Functions of a `ServiceFlow` (its methods delegate here); the hooks they call (``lookup_person``,
``person_not_found``, ``card_candidates``, ``check_card`` …) are the flow's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from counter_app.card import CardInfo, ReadScope
from counter_app.domain.identity import check_document
from counter_app.workflows import people
from counter_app.workflows.base import (
    Choice,
    FieldKind,
    FieldSpec,
    InputInvalid,
    Page,
    StepDef,
    StepFailed,
    StepKind,
    jsonable,
    refusal,
)
from counter_app.workflows.people import Record, text

if TYPE_CHECKING:
    from counter_app.workflows.common import ServiceFlow

ID_TYPE_CHOICES = tuple(Choice(code, kind.value) for code, kind in people.ID_TYPES.items())
READ_ID_CARD = Choice("use_id_reader", "读取二代身份证")
CARD_ABSENT = Choice("absent", "卡片不在场，按证件办理")


def read_card_step(flow: ServiceFlow, *, required: bool) -> StepDef:
    """读卡: the card in the reader identifies card and holder.

    Required: the step waits on the card (a missing card is the step's problem; the wizard goes on
    once it is inserted). Optional (卡片可不在场): nothing for the clerk to choose — the holder's
    card is read when it is in the reader; an empty reader, or a blank 预制卡 already in it (即时制卡
    prepared), means the card is not here and the holder is identified by 证件 on the next page.
    A submitted ``{"choice": "absent"}`` still says 卡片不在场 outright.
    """

    def page() -> Page:
        options = ()
        return flow.page(
            "读取社会保障卡",
            prompt="请将持卡人的社会保障卡插入读卡器" if required else "读卡器中有卡则读取，否则按证件核验",
            progress="正在读取社会保障卡……",
            options=options,
        )

    def handle(answer: Mapping[str, Any]) -> None:
        absent = not required and answer.get("choice") == CARD_ABSENT.value
        if not required and not absent:
            from counter_app.workflows.card_moves import card_present

            absent = not card_present(flow)
        if absent:
            flow.data["card_read"] = None
            flow.data["card_absent"] = True
            return
        with flow.device("读卡"):
            info = flow.ctx.card().read_basic_info(ReadScope.FULL)
        if info.is_blank and not required:
            flow.data["card_read"] = None
            flow.data["card_absent"] = True
            return
        if info.is_blank:
            raise StepFailed(
                "blank_card",
                "读卡器中是一张空白预制卡，不是持卡人的社会保障卡",
                "请插入持卡人的社会保障卡",
            )
        flow.data["card_read"] = card_info(info)
        flow.data["card_absent"] = False
        identify_from_card(flow, info)

    return StepDef("read_card", StepKind.PORT, page, handle, when=lambda: flow.data.get("card") is None)


def identify_from_card(flow: ServiceFlow, info: CardInfo) -> None:
    """The card's record and its holder from the server (or, offline, from chip and replica)."""
    ctx = flow.ctx
    if ctx.offline:
        person, card = offline_identity(flow, info)
    else:
        found = ctx.central.find_card(card_number=info.card_number)
        if found is None:
            raise refusal(
                "card_not_found",
                f"中心系统中没有卡号为 {info.card_number} 的社会保障卡。",
                "请核对卡片；如为新制卡片尚未登记，请联系社保卡管理中心。",
            )
        card = jsonable(found)
        holder = found.get("holder")
        person = None
        if isinstance(holder, Mapping):
            person = ctx.central.find_person(
                text(holder, "id_type") or "resident_id", text(holder, "id_number")
            )
        if person is None:
            raise refusal(
                "person_not_found", "中心系统中找不到此卡的持卡人信息。", "请联系社保卡管理中心核查。"
            )
        person = jsonable(person)
        chip_ssn = info.ssn
        registered = text(person, "social_security_number") or text(person, "id_number")
        if chip_ssn and registered and chip_ssn != registered:
            raise refusal(
                "card_holder_mismatch",
                "卡内社会保障号码与中心系统登记的持卡人不一致，不能办理。",
                "请停止办理并联系社保卡管理中心核查此卡。",
            )
        # the person's own copy of the card record has the life-cycle fields
        own = people.find_card(person, id=card.get("id")) if card.get("id") is not None else None
        if own is not None:
            card = {**card, **own}
    flow.data["person"] = person
    flow.set_card(card)


def offline_identity(flow: ServiceFlow, info: CardInfo) -> tuple[Record, Record]:
    """Offline: the holder as the chip says, the card's bank from the replica if it knows it."""
    person: dict[str, Any] = {
        "id_type": "resident_id",
        "id_number": info.ssn,
        "social_security_number": info.ssn,
        "name": info.name,
        "sex": info.sex,
    }
    card: dict[str, Any] = {"card_number": info.card_number, "card_identifier": info.card_id}
    snapshot = replica_person(flow, "resident_id", info.ssn) if info.ssn else None
    if snapshot is not None:
        person = {**jsonable(snapshot), **{k: v for k, v in person.items() if v}}
        known = people.find_card(snapshot, card_number=info.card_number)
        if known is not None:
            card = {**jsonable(known), **card}
    return person, card


def replica_person(flow: ServiceFlow, id_type: str, id_number: str) -> Record | None:
    """Offline: the person from the local replica, its age noted (数据截至)."""
    replica = flow.ctx.replica
    snapshot = replica.person_snapshot(id_type, id_number) if replica is not None else None
    if snapshot is None:
        return None
    flow.data["replica_as_of"] = snapshot.as_of.isoformat()
    flow.note(f"离线办理：持卡人信息来自本地数据副本（数据截至 {snapshot.as_of:%Y-%m-%d %H:%M}）")
    return snapshot.person


# -- step: identify by 证件 --------------------------------------------------------------------


def identify_step(flow: ServiceFlow) -> StepDef:
    """身份核验: 证件类型 and 号码 (typed, or read from the 二代证), then the server's record."""

    def page() -> Page:
        fields = (
            FieldSpec("id_type", "证件类型", FieldKind.CHOICE, choices=ID_TYPE_CHOICES),
            FieldSpec("id_number", "证件号码", FieldKind.ID_NUMBER),
        )
        given = flow.data.get("identify") or {}
        values = {
            "id_type": given.get("id_type") or flow.prefill.get("id_type") or "resident_id",
            "id_number": given.get("id_number") or flow.prefill.get("id_number") or "",
        }
        options = (READ_ID_CARD,) if flow.ctx.id_reader is not None else ()
        return flow.page(
            "核验身份",
            prompt="请核验持卡人（被代办人）的有效身份证件",
            fields=fields,
            values=values,
            options=options,
        )

    def handle(answer: Mapping[str, Any]) -> None:
        id_type = str(answer.get("id_type") or "resident_id")
        number = str(answer.get("id_number") or "")
        wants_reader = answer.get("choice") == READ_ID_CARD.value or answer.get("use_id_reader")
        if wants_reader and flow.ctx.id_reader is not None:
            with flow.device("读取身份证"):
                read = flow.ctx.id_reader.read(10.0)
            if read is None:
                raise StepFailed("no_id_card", "未读到身份证", "请将身份证放在读卡区后重试，或手工录入")
            id_type, number = "resident_id", read.id_number
        kind = people.ID_TYPES.get(id_type)
        if kind is None:
            raise InputInvalid("id_type_unknown", "请选择证件类型")
        checked = check_document(kind, number, today=flow.ctx.today())
        if checked.blocking:
            reasons = "；".join(f.message for f in checked.failures if f.blocking)
            raise InputInvalid("id_number_invalid", f"证件号码有误：{reasons}", "请对照证件逐位核对")
        for message in [*checked.notices, *(f.message for f in checked.failures)]:
            flow.note(message)
        flow.data["identify"] = {"id_type": id_type, "id_number": checked.value}
        person = flow.lookup_person(id_type, checked.value)
        if person is None:
            person = flow.person_not_found(id_type, checked.value)
        flow.data["person"] = jsonable(person)
        flow.after_person()

    return StepDef("identify", StepKind.CLERK_INPUT, page, handle, when=lambda: flow.person is None)


def select_card_step(flow: ServiceFlow) -> StepDef:
    def choices() -> tuple[Choice, ...]:
        return tuple(Choice(str(i), people.card_label(c)) for i, c in enumerate(flow.card_candidates()))

    def page() -> Page:
        field = FieldSpec("card", "办理的卡", FieldKind.CHOICE, choices=choices())
        return flow.page("选择卡片", prompt="此人名下有多张卡，请选择要办理的卡", fields=(field,))

    def handle(answer: Mapping[str, Any]) -> None:
        candidates = flow.card_candidates()
        try:
            card = candidates[int(str(answer.get("card")))]
        except (ValueError, IndexError):
            raise InputInvalid("card_required", "请选择要办理的卡") from None
        flow.set_card(card)

    return StepDef(
        "select_card",
        StepKind.CLERK_INPUT,
        page,
        handle,
        when=lambda: flow.needs_card() and flow.card is None,
    )


def card_info(info: CardInfo) -> dict[str, Any]:
    """What the flows keep of a card reading (no ATR, JSON-able)."""
    return {
        "card_id": info.card_id,
        "card_number": info.card_number,
        "spec_version": info.spec_version,
        "issue_date": info.issue_date,
        "expiry_date": info.expiry_date,
        "ssn": info.ssn,
        "name": info.name,
        "sex": info.sex,
        "ethnicity": info.ethnicity,
        "birthplace": info.birthplace,
        "birth_date": info.birth_date,
        "holder_read": info.holder_status.label,
    }
