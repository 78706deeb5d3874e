"""Request and response shapes of the central server's API (接口数据结构), pydantic models.

Request bodies are strict (unknown fields are refused) so a counter with a typo learns it at once.
Codes are the lower-case strings of the ``counter_app.domain`` enums; every code in a response has
a ``*_label`` beside it in Chinese for display.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

IdType = Literal["resident_id", "hmt_residence_permit", "foreign_permanent_resident_id", "passport"]
RequesterCode = Literal["holder", "guardian", "custodian", "other"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------


class PersonRef(_In):
    """A person by 证件类型 and 证件号码."""

    id_type: IdType = "resident_id"
    id_number: str = Field(min_length=1, max_length=40)


class CardRef(_In):
    """A card by exactly one of: record id, 卡号, 卡识别码."""

    card_id: int | None = None
    card_number: str | None = Field(default=None, max_length=20)
    card_identifier: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _exactly_one(self) -> CardRef:
        given = [v for v in (self.card_id, self.card_number, self.card_identifier) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of card_id, card_number, card_identifier")
        return self


class AgentIn(_In):
    """代办人: whoever acts for the holder at the counter."""

    name: str = Field(min_length=1, max_length=100)
    id_type: IdType = "resident_id"
    id_number: str = Field(min_length=1, max_length=40)
    relation: str = Field(
        min_length=1, max_length=20, description="与持卡人关系，如 父子、监护人、单位经办人"
    )
    documents: list[str] = Field(default_factory=list, description="核验的材料")


class CommandIn(_In):
    """What every counter command carries besides its own fields."""

    acceptance_number: str = Field(
        description="受理编号 网点编号-柜台号-YYYYMMDD-序号 (counter_app.domain.receipt_code)",
        max_length=48,
    )
    requester: RequesterCode = Field(default="holder", description="办理人：本人、监护人、代管代持人、代办人")
    agent: AgentIn | None = None


# --------------------------------------------------------------------------------------------
# Command bodies
# --------------------------------------------------------------------------------------------


class PersonIn(PersonRef):
    """A person's data for 申领 when the city does not know them yet (ignored fields: none)."""

    name: str | None = Field(default=None, max_length=100)
    sex: Literal["0", "1", "2", "9"] | None = None
    ethnicity: str | None = Field(default=None, pattern=r"^\d{2}$")
    birth_date: date | None = None
    birthplace: str | None = Field(default=None, pattern=r"^\d{6}$")
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=200)
    insured_region: str | None = Field(default=None, pattern=r"^\d{6}$")


class BatchInfo(_In):
    """批量申领: the unit or school that applies for its people."""

    unit_name: str = Field(min_length=1, max_length=100)
    letter_number: str | None = Field(default=None, max_length=50, description="介绍信编号")


class ApplyIn(CommandIn):
    """申领."""

    person: PersonIn
    bank: str | None = Field(default=None, description="发卡银行（银行网点办理时为本行，可不填）")
    batch: BatchInfo | None = None


class IssueIn(CommandIn):
    """即时制卡 / 领卡: the card by reference, or the person's card in the production pipeline."""

    card: CardRef | None = None
    person: PersonRef | None = None
    card_identifier_read: str | None = Field(
        default=None, description="即时制卡：从预制卡芯片读出的卡识别码（须核对）"
    )
    spec_version: Literal["1.00", "2.00", "3.00"] = "3.00"

    @model_validator(mode="after")
    def _one_target(self) -> IssueIn:
        if (self.card is None) == (self.person is None):
            raise ValueError("give either card or person")
        return self


class CardCommandIn(CommandIn):
    """A command on one card."""

    card: CardRef


class ActivateIn(CardCommandIn):
    """激活: the social function, the financial function, or both (bank outlets)."""

    functions: list[Literal["social", "financial"]] = Field(min_length=1, max_length=2)


class ReportLossIn(CardCommandIn):
    """挂失."""

    kind: Literal["temporary", "formal"]


class ReplaceIn(CardCommandIn):
    """补换卡."""

    kind: Literal["reissue", "exchange"]
    reason: str = Field(min_length=1, max_length=100, description="如 遗失、损坏、过期、卡面信息变更")
    instant: bool = False
    card_identifier_read: str | None = None
    spec_version: Literal["1.00", "2.00", "3.00"] = "3.00"


class CancelCardIn(CardCommandIn):
    """注销."""

    reason: Literal["death", "abroad", "duplicate", "after_reissue", "other"]
    note: str | None = Field(default=None, max_length=200)


class PersonCommandIn(CommandIn):
    person: PersonRef


class ChangeKeyInfoIn(PersonCommandIn):
    """关键信息变更: 姓名, 证件号码, 性别, 民族, 出生日期 (at least one)."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    new_id_number: str | None = Field(default=None, max_length=40)
    sex: Literal["1", "2"] | None = None
    ethnicity: str | None = Field(default=None, pattern=r"^\d{2}$")
    birth_date: date | None = None
    evidence: str = Field(min_length=1, max_length=200, description="变更依据（户口簿、公安证明等）")


class ChangeContactIn(PersonCommandIn):
    """非关键信息变更 (phone, address; at least one)."""

    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=200)


class TransferRegionIn(PersonCommandIn):
    """参保地变更 within Sichuan."""

    to_region: str = Field(pattern=r"^\d{6}$")
    certificate_number: str = Field(min_length=1, max_length=50, description="社会保险关系转移接续证明编号")


class CustodianIn(_In):
    name: str = Field(min_length=1, max_length=100)
    id_type: IdType = "resident_id"
    id_number: str = Field(min_length=1, max_length=40)
    phone: str | None = Field(default=None, max_length=20)


class AuthoriseCustodyIn(PersonCommandIn):
    """代管代持授权 (supervisor-confirmed)."""

    custodian: CustodianIn
    relation: str = Field(min_length=1, max_length=20)
    reason: str = Field(min_length=1, max_length=200)
    valid_from: date
    valid_until: date


class StartProductionIn(_In):
    """送制卡: send applied cards to the factory as one batch (back office)."""

    card_ids: list[int] | None = Field(default=None, description="省略时取最早申领的卡")
    limit: int = Field(default=1000, ge=1, le=100_000)
    simulate_return: bool = Field(default=False, description="同时返回模拟制卡厂的回盘数据（培训、测试用）")


class ReturnRecordIn(_In):
    """One card of a 回盘."""

    card_id: int
    card_number: str
    card_identifier: str
    account_masked: str | None = None
    issued_on: date
    expires_on: date | None = None
    spec_version: Literal["1.00", "2.00", "3.00"] = "3.00"


class ProductionDoneIn(_In):
    """制卡完成（回盘导入）: all records of a batch, imported all-or-nothing."""

    batch_number: str
    records: list[ReturnRecordIn] = Field(min_length=1)


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


class CardOut(BaseModel):
    id: int
    person_id: int
    card_number: str | None
    card_identifier: str | None
    spec_version: str
    issuing_region: str
    bank: str | None
    account_masked: str | None
    status: str
    status_label: str
    state_before_loss: str | None
    loss_reported_at: datetime | None
    temp_loss_expires_at: datetime | None
    financial_status: str
    financial_status_label: str
    replacement_applied: bool
    known_duplicate: bool
    replaces_card_id: int | None
    replace_kind: str | None
    applied_at: datetime
    production_batch: str | None
    issued_on: date | None
    expires_on: date | None
    pin_resets: int
    pin_unblocks: int


class EventOut(BaseModel):
    id: int
    card_id: int
    at: datetime
    command: str
    command_label: str
    from_status: str | None
    to_status: str
    acceptance_number: str | None
    operator_number: str | None
    detail: dict[str, Any] | None


class TransactionOut(BaseModel):
    id: int
    acceptance_number: str
    item_code: str
    item_label: str
    command: str
    card_id: int | None
    outlet_code: str
    counter_number: str | None
    operator_number: str
    confirmer_number: str | None
    requester: str
    agent: dict[str, Any] | None
    occurred_at: datetime
    details: dict[str, Any] | None


class CustodyOut(BaseModel):
    id: int
    custodian_name: str
    custodian_id_type: str
    custodian_id_number: str
    relation: str
    reason: str
    valid_from: date
    valid_until: date
    approved_by: str
    active: bool


class MemberOut(BaseModel):
    id: int
    name: str
    is_head: bool
    deceased: bool


class HouseholdOut(BaseModel):
    id: int
    number: str
    head_person_id: int | None
    members: list[MemberOut]


class PersonSummary(BaseModel):
    id: int
    id_type: str
    id_type_label: str
    id_number: str
    name: str


class PersonOut(PersonSummary):
    social_security_number: str
    sex: str
    sex_label: str
    ethnicity: str
    ethnicity_label: str | None
    birth_date: date
    birthplace: str | None
    phone: str | None
    address: str | None
    insured_region: str
    insured_region_name: str | None
    vulnerable_group: str | None
    deceased_on: date | None


class PersonDetail(PersonOut):
    household: HouseholdOut | None
    cards: list[CardOut]
    history: list[EventOut]
    transactions: list[TransactionOut]
    custody_authorisations: list[CustodyOut]


class CardDetail(CardOut):
    holder: PersonSummary
    history: list[EventOut]


class CommandOut(BaseModel):
    """What a command did (the counter prints the receipt from it)."""

    command: str
    command_label: str
    acceptance_number: str | None = None
    transaction_id: int | None = None
    person: PersonSummary | None = None
    card: CardOut | None = None
    new_card: CardOut | None = None
    retired_card: CardOut | None = None
    notices: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list, description="需告知复核人员的提醒（如疑似强制代领）")
    data: dict[str, Any] = Field(default_factory=dict)


class PaymentOut(BaseModel):
    id: int
    item_code: str
    item_name: str
    placeholder_item: bool
    department: str | None
    beneficiary_person_id: int
    beneficiary_name: str
    recipient_person_id: int
    recipient_name: str
    override_reason: str | None
    override_reason_label: str | None
    period: str
    amount_fen: int
    status: str
    status_label: str
    paid_on: date | None
    bank: str | None
    account_masked: str | None
    failure_reason: str | None
    failure_reason_label: str | None
    failure_hint: str | None
    batch_number: str
    resent_from_id: int | None
    resent: bool = Field(description="此笔失败或退回的款项已重发")


class StatusTotal(BaseModel):
    status: str
    status_label: str
    count: int
    amount_fen: int


class FailureTotal(BaseModel):
    reason: str
    reason_label: str
    hint: str
    fixes: list[str]
    count: int
    amount_fen: int


class PaymentsReport(BaseModel):
    person_id: int
    household_id: int | None
    household: bool
    period_from: str | None
    period_to: str | None
    payments: list[PaymentOut]
    totals: list[StatusTotal]
    paid_fen: int
    failures: list[FailureTotal]


class ReceiptCheck(BaseModel):
    valid: bool
    reason: str
    acceptance_number: str | None = None
    outlet_code: str | None = None
    outlet_name: str | None = None
    counter_number: str | None = None
    recorded: bool = False
    item_label: str | None = None
    occurred_at: datetime | None = None


class OutletOut(BaseModel):
    code: str
    name: str
    type: str
    type_label: str
    region_code: str
    bank: str | None
    can_activate_social: bool
    instant_issuance: bool
    counters: list[str]


class SubsidyItemOut(BaseModel):
    code: str
    category_number: int
    name: str
    full_name: str
    household: bool
    placeholder: bool
