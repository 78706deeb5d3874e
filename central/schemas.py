"""Request and response shapes of the central server's API (接口数据结构), pydantic models.

Request bodies are strict (unknown fields are refused) so a counter with a typo learns it at once.
Codes are the lower-case strings of the ``counter_app.domain`` enums; every code in a response has
a ``*_label`` beside it in Chinese for display.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

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

    card_id: DbInt | None = None
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


DbInt = Annotated[int, Field(ge=1, le=2_147_483_647)]


class StartProductionIn(_In):
    """送制卡: send applied cards to the factory as one batch (back office)."""

    card_ids: list[DbInt] | None = Field(default=None, max_length=100_000, description="省略时取最早申领的卡")
    limit: int = Field(default=1000, ge=1, le=100_000)
    simulate_return: bool = Field(default=False, description="同时返回模拟制卡厂的回盘数据（培训、测试用）")


class ReturnRecordIn(_In):
    """One card of a 回盘."""

    card_id: DbInt
    card_number: str = Field(max_length=20)
    card_identifier: str = Field(max_length=40)
    account_masked: str | None = Field(default=None, max_length=32)
    issued_on: date
    expires_on: date | None = None
    spec_version: Literal["1.00", "2.00", "3.00"] = "3.00"


class ProductionDoneIn(_In):
    """制卡完成（回盘导入）: all records of a batch, imported all-or-nothing."""

    batch_number: str = Field(min_length=1, max_length=32)
    records: list[ReturnRecordIn] = Field(min_length=1, max_length=100_000)


class ResendPaymentsIn(PersonCommandIn):
    """补贴重发: the recipient's failed or returned payments go to this (new) card."""

    card: CardRef
    payment_ids: list[DbInt] | None = Field(
        default=None, max_length=1000, description="省略时重发全部可重发的款项"
    )


PaymentStatusCode = Literal["pending", "paid", "failed", "returned", "resent"]
FailureReasonCode = Literal[
    "name_mismatch",
    "id_mismatch",
    "card_lost",
    "card_cancelled",
    "account_inactive",
    "account_frozen",
    "account_closed",
    "no_card",
    "other",
]


class PaymentResultIn(_In):
    """One payment result of the 一卡通 platform, keyed by (batch, beneficiary, item, period)."""

    beneficiary: PersonRef
    recipient: PersonRef | None = Field(
        default=None, description="收款人；省略时户类补贴发给户主，其他发给本人"
    )
    override_reason: Literal["head_deceased", "head_without_card", "other"] | None = None
    item_code: str = Field(min_length=1, max_length=8)
    period: str = Field(pattern=r"^\d{4}(0[1-9]|1[0-2])$", description="YYYYMM")
    amount_fen: int = Field(ge=0, le=100_000_000_00)
    status: PaymentStatusCode
    paid_on: date | None = None
    bank: str | None = Field(default=None, max_length=32)
    account_masked: str | None = Field(default=None, max_length=32)
    failure_reason: FailureReasonCode | None = None
    department: str | None = Field(default=None, max_length=100)
    resent_from_batch: str | None = Field(default=None, max_length=32, description="重发记录：原发放批次号")


class PaymentImportIn(_In):
    """一卡通平台发放结果 (one batch)."""

    batch_number: str = Field(pattern=r"^[0-9A-Za-z._-]{1,32}$")
    records: list[PaymentResultIn] = Field(min_length=1, max_length=5000)


class SignInIn(_In):
    operator_number: str = Field(min_length=1, max_length=16, pattern=r"^[0-9A-Za-z]+$")
    password: str = Field(min_length=1, max_length=128)


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


class SignInOut(BaseModel):
    token: str
    token_type: Literal["Bearer"]
    expires_at: datetime
    operator_number: str
    operator_name: str
    role: str
    role_label: str
    outlet_code: str | None
    outlet_name: str | None
    counter_number: str | None


class MeOut(BaseModel):
    operator_number: str
    role: str
    outlet_code: str | None
    counter_number: str | None
    expires_at: datetime


class ReceiptKeyOut(BaseModel):
    outlet_code: str
    counter_number: str
    receipt_key: str = Field(description="回执密钥（Base64），柜台登记时取一次，保存在 keyring")


class AuditHeadOut(BaseModel):
    outlet_code: str
    counter_number: str
    seq: int | None
    entry_hash: str | None
    acknowledged_at: datetime | None


class FeedEntryOut(BaseModel):
    seq: int
    entity: Literal["person", "card", "payment"]
    id: int
    at: datetime
    data: dict[str, Any]


class FeedPage(BaseModel):
    since: int
    next: int = Field(description="下次请求的 since")
    last_seq: int
    more: bool
    entries: list[FeedEntryOut]


class SnapshotPage(BaseModel):
    entity: Literal["person", "card", "payment"]
    as_of: int = Field(description="本页查询前已提交的变更流序号；全量同步后从第一页的 as_of 回放变更流")
    after: int
    next_after: int
    more: bool
    items: list[dict[str, Any]] = Field(description="本页记录（shape=records）；shape=rows 时为空")
    columns: list[str] | None = Field(None, description="shape=rows：每行数组的字段名，按顺序")
    rows: list[list[Any]] | None = Field(None, description="shape=rows：本页记录，每条一个数组")


class NoticeOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    created_at: datetime
    message: str
    transaction_id: int | None
    detail: dict[str, Any] | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None


class ImportRejection(BaseModel):
    index: int
    code: str
    message: str


class ImportOut(BaseModel):
    batch_number: str
    received: int
    inserted: int
    updated: int
    unchanged: int
    rejected: list[ImportRejection]


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
