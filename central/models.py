"""The city's records (中心数据模型): SQLAlchemy 2 tables, migrated by Alembic (central/migrations).

Codes are stored as the lower-case string values of the ``counter_app.domain`` enums
(``SocialStatus``, ``FinancialStatus``, ``Role``, ``OutletType``, ``PaymentStatus`` …), with CHECK
constraints. Times are timezone-aware (stored as UTC, read back in Asia/Shanghai); money is integer 分.

The one-card rule (DOMAIN §3) is held by two partial unique indexes on ``cards.person_id``: one card
in the production pipeline, one issued card, each ignoring cards flagged ``known_duplicate`` (real
data has such duplicates; they await 注销).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from counter_app.domain.card_lifecycle import (
    CARD_STATES,
    ISSUED_STATES,
    PIPELINE_STATES,
    SHANGHAI,
    FinancialStatus,
)
from counter_app.domain.operators import OutletType, Role
from counter_app.domain.subsidies import FailureReason, OverrideReason, PaymentStatus

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Names of the two one-card indexes (the API maps a violation to the domain's refusal).
ONE_IN_PIPELINE_INDEX = "uq_cards_one_in_pipeline"
ONE_ISSUED_INDEX = "uq_cards_one_issued"
#: The 一卡通 platform's key of a payment: (batch, person, item, period).
PAYMENT_KEY_CONSTRAINT = "uq_subsidy_payments_platform_key"


class AwareDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp: written as UTC, read back in Asia/Shanghai (SQLite has no zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime stored: {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(SHANGHAI)


def _in(column: str, values: Iterable[object]) -> str:
    listed = ", ".join(f"'{v}'" for v in sorted(str(v) for v in values))
    return f"{column} IN ({listed})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: AwareDateTime, dict[str, Any]: JSON}


# --------------------------------------------------------------------------------------------
# Outlets, counters, operators
# --------------------------------------------------------------------------------------------


class OutletRow(Base):
    """网点: an HR window or a bank outlet, with its capabilities (data, not code)."""

    __tablename__ = "outlets"
    __table_args__ = (CheckConstraint(_in("type", OutletType), name="type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6))
    bank: Mapped[str | None] = mapped_column(String(32))
    can_activate_social: Mapped[bool] = mapped_column(Boolean, default=False)
    instant_issuance: Mapped[bool] = mapped_column(Boolean, default=False)


class CounterRow(Base):
    """柜台: one counter PC of an outlet, with its receipt-verification key (回执密钥)."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("outlet_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"))
    number: Mapped[str] = mapped_column(String(4))
    receipt_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: SHA-256 (hex) of the counter's own credential (柜台凭据); None: not enrolled yet.
    credential_hash: Mapped[str | None] = mapped_column(String(64))
    #: The last audit-chain head (审计链头) the server acknowledged for this counter.
    audit_head_seq: Mapped[int | None] = mapped_column(BigInteger)
    audit_head_hash: Mapped[str | None] = mapped_column(String(64))
    audit_head_at: Mapped[datetime | None]


class OperatorRow(Base):
    """工号: an operator with a role, an outlet (none for admin) and a scrypt password hash."""

    __tablename__ = "operators"
    __table_args__ = (CheckConstraint(_in("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Failed sign-ins in a row (reset by a successful one); the account locks at the threshold.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None]


class OperatorSessionRow(Base):
    """工号登录会话: an operator's short-lived token (stored as its SHA-256), bound to a counter."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    #: The counter the token was issued at (None only for back-office sign-ins of ``admin``).
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: The latest the token may be renewed to (a working day after the sign-in).
    renewable_until: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SignInWindowRow(Base):
    """登录限流: sign-in attempts per key (client address, counter) in one fixed time window."""

    __tablename__ = "sign_in_windows"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


# --------------------------------------------------------------------------------------------
# Persons and households
# --------------------------------------------------------------------------------------------


class HouseholdRow(Base):
    """户: a household with its head (户主)."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    region_code: Mapped[str] = mapped_column(String(6))
    head_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", use_alter=True, name="fk_households_head_person_id_persons")
    )


class PersonRow(Base):
    """参保人: 证件, the EF06 holder fields, contact data, 参保地, household and special groups."""

    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("id_type", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    id_type: Mapped[str] = mapped_column(String(32))
    id_number: Mapped[str] = mapped_column(String(32))
    #: EF06 08 社会保障号码 (for a 居民身份证 holder: the ID number).
    social_security_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(100))  # EF06 09 (+4E), Unicode in full
    sex: Mapped[str] = mapped_column(String(1))  # EF06 0A, GB/T 2261.1
    ethnicity: Mapped[str] = mapped_column(String(2))  # EF06 0B, GB 3304
    birthplace: Mapped[str | None] = mapped_column(String(6))  # EF06 0C 出生地 行政区划
    birth_date: Mapped[date] = mapped_column(Date)  # EF06 0D
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))
    insured_region: Mapped[str] = mapped_column(String(6))  # 参保地
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    #: 四类人 flag (低保户/特困/残疾人/建档立卡贫困户), for 代管代持.
    vulnerable_group: Mapped[str | None] = mapped_column(String(24))
    deceased_on: Mapped[date | None] = mapped_column(Date)
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 (SQLAlchemy declares it)


# --------------------------------------------------------------------------------------------
# Cards and their history
# --------------------------------------------------------------------------------------------


class CardRow(Base):
    """社会保障卡: identity, bank side, social and financial status and the policy facts."""

    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint(_in("status", CARD_STATES), name="status"),
        CheckConstraint(_in("financial_status", FinancialStatus), name="financial_status"),
        Index(
            ONE_IN_PIPELINE_INDEX,
            "person_id",
            unique=True,
            sqlite_where=text(_in("status", PIPELINE_STATES) + " AND NOT known_duplicate"),
            postgresql_where=text(_in("status", PIPELINE_STATES) + " AND NOT known_duplicate"),
        ),
        # known_duplicate is always false inside this index; listing it makes SQLite's error message
        # ("UNIQUE constraint failed: cards.person_id, cards.known_duplicate") tell the two apart.
        Index(
            ONE_ISSUED_INDEX,
            "person_id",
            "known_duplicate",
            unique=True,
            sqlite_where=text(_in("status", ISSUED_STATES) + " AND NOT known_duplicate"),
            postgresql_where=text(_in("status", ISSUED_STATES) + " AND NOT known_duplicate"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    card_number: Mapped[str | None] = mapped_column(String(9), unique=True)  # 卡号 (EF05 07)
    card_identifier: Mapped[str | None] = mapped_column(String(32), unique=True)  # 卡识别码 (EF05 01)
    spec_version: Mapped[str] = mapped_column(String(4), default="3.00")  # 规范版本 (EF05 03)
    issuing_region: Mapped[str] = mapped_column(String(6))
    bank: Mapped[str | None] = mapped_column(String(32))
    account_masked: Mapped[str | None] = mapped_column(String(32))  # 金融账号, masked (尾号 kept)
    status: Mapped[str] = mapped_column(String(20), index=True)
    state_before_loss: Mapped[str | None] = mapped_column(String(20))
    loss_reported_at: Mapped[datetime | None]
    financial_status: Mapped[str] = mapped_column(String(16), default=FinancialStatus.INACTIVE.value)
    #: A 补/换 was applied for and its new card is not yet issued.
    replacement_applied: Mapped[bool] = mapped_column(Boolean, default=False)
    known_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    #: On a new card from 补换卡: the card it replaces, and how.
    replaces_card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    replace_kind: Mapped[str | None] = mapped_column(String(16))
    applied_at: Mapped[datetime]
    applied_outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    production_batch: Mapped[str | None] = mapped_column(String(32), index=True)
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    issued_outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    pin_resets: Mapped[int] = mapped_column(Integer, default=0)
    pin_unblocks: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 (SQLAlchemy declares it)


class CardEventRow(Base):
    """卡片历史: one state change or recorded act on a card (also clock-driven and 回盘 ones)."""

    __tablename__ = "card_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    at: Mapped[datetime]
    command: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    operator_number: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[dict[str, Any] | None]


class TransactionRow(Base):
    """业务流水: one per service at a counter, with its 受理编号."""

    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    acceptance_number: Mapped[str] = mapped_column(String(48), unique=True)
    item_code: Mapped[str] = mapped_column(String(24))
    command: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    operator_number: Mapped[str] = mapped_column(String(16))
    confirmer_number: Mapped[str | None] = mapped_column(String(16))
    requester: Mapped[str] = mapped_column(String(16), default="holder")
    agent_id_number: Mapped[str | None] = mapped_column(String(32), index=True)
    agent: Mapped[dict[str, Any] | None]
    occurred_at: Mapped[datetime]
    details: Mapped[dict[str, Any] | None]


class CustodyAuthorisationRow(Base):
    """代管代持授权: a custodian may keep a 四类人 holder's card (supervisor-approved, time-limited)."""

    __tablename__ = "custody_authorisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    custodian_name: Mapped[str] = mapped_column(String(100))
    custodian_id_type: Mapped[str] = mapped_column(String(32))
    custodian_id_number: Mapped[str] = mapped_column(String(32))
    custodian_phone: Mapped[str | None] = mapped_column(String(20))
    relation: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    approved_by: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    revoked_at: Mapped[datetime | None]


# --------------------------------------------------------------------------------------------
# Subsidies (DOMAIN §6)
# --------------------------------------------------------------------------------------------


class SubsidyCategoryRow(Base):
    """补贴大项."""

    __tablename__ = "subsidy_categories"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    household: Mapped[bool] = mapped_column(Boolean)
    department: Mapped[str | None] = mapped_column(String(100))
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)


class SubsidyItemRow(Base):
    """补贴小项 (a leaf: a listed sub-item, or a category counted as one)."""

    __tablename__ = "subsidy_items"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    category_number: Mapped[int] = mapped_column(ForeignKey("subsidy_categories.number"))
    name: Mapped[str] = mapped_column(String(100))
    full_name: Mapped[str] = mapped_column(String(200))
    household: Mapped[bool] = mapped_column(Boolean)
    whole_category: Mapped[bool] = mapped_column(Boolean)
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)


class SubsidyPaymentRow(Base):
    """补贴发放记录: one payment of one item for one period to one card."""

    __tablename__ = "subsidy_payments"
    __table_args__ = (
        CheckConstraint(_in("status", PaymentStatus), name="status"),
        CheckConstraint(_in("failure_reason", FailureReason), name="failure_reason"),
        CheckConstraint(_in("override_reason", OverrideReason), name="override_reason"),
        Index(None, "beneficiary_person_id", "period"),
        Index(None, "recipient_person_id", "period"),
        Index(None, "household_id", "period"),
        #: The 一卡通 platform's key of a payment result (the import is keyed by it).
        UniqueConstraint(
            "batch_number", "beneficiary_person_id", "item_code", "period", name=PAYMENT_KEY_CONSTRAINT
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("subsidy_items.code"))
    #: 补贴对象: the person the subsidy is for (for a household item, the household's head as listed).
    beneficiary_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    #: 收款人: whose card it went to (the head by default for household items).
    recipient_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    override_reason: Mapped[str | None] = mapped_column(String(24))
    override_note: Mapped[str | None] = mapped_column(String(200))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    department: Mapped[str | None] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(6))  # YYYYMM
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    paid_on: Mapped[date | None] = mapped_column(Date)
    bank: Mapped[str | None] = mapped_column(String(32))
    account_masked: Mapped[str | None] = mapped_column(String(32))
    failure_reason: Mapped[str | None] = mapped_column(String(20))
    batch_number: Mapped[str] = mapped_column(String(32), index=True)
    resent_from_id: Mapped[int | None] = mapped_column(ForeignKey("subsidy_payments.id"))


# --------------------------------------------------------------------------------------------
# Idempotency, change feed, supervisor notices
# --------------------------------------------------------------------------------------------


class IdempotencyKeyRow(Base):
    """幂等键: one ``Idempotency-Key`` of one client (counter) with the stored answer.

    ``state`` is ``in_flight`` while the first request runs (its ``owner`` holds a lease until
    ``lease_until``) and ``done`` once its answer is stored; ``expires_at`` ends the retention.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (CheckConstraint("state IN ('in_flight', 'done')", name="state"),)

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[datetime]
    lease_until: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)


class FeedStateRow(Base):
    """变更流状态 (one row): the last sequence number handed out and the pruned horizon.

    Writers update this row in the transaction that writes their feed entries, just before commit,
    so sequence numbers are taken in commit order (see central.services.feed).
    """

    __tablename__ = "feed_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    horizon_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class FeedEntryRow(Base):
    """变更流: one changed person, card or subsidy payment, with its state after the change (JSON)."""

    __tablename__ = "feed_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)
    #: The whole entry as sent (``{"seq", "entity", "id", "at", "data"}``), serialised once.
    body: Mapped[str] = mapped_column(Text)


class SupervisorNoticeRow(Base):
    """复核提醒: something a supervisor must look at (suspected forced collection, an audit anomaly)."""

    __tablename__ = "supervisor_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"), index=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    created_at: Mapped[datetime]
    message: Mapped[str] = mapped_column(String(400))
    detail: Mapped[dict[str, Any] | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(16))
    acknowledged_at: Mapped[datetime | None]


TABLES_IN_DELETE_ORDER = (
    "supervisor_notices",
    "feed_entries",
    "feed_state",
    "idempotency_keys",
    "sign_in_windows",
    "operator_sessions",
    "subsidy_payments",
    "subsidy_items",
    "subsidy_categories",
    "custody_authorisations",
    "card_events",
    "transactions",
    "cards",
    "households",
    "persons",
    "operators",
    "counters",
    "outlets",
)
