"""Ports: the small interfaces the service flows (业务流程) talk to.

Every adapter implements one of these shapes: the pyscard transport and the emulator's in-process
transport both are a `CardTransport`; the PSAM, the provincial HSM and the emulator's keys are a
`KeyProvider`; and so on. Flows import only this module, never an adapter, so a flow runs the same
against a real reader, the emulator or an in-memory fake. Only ``counter_app.app`` wires concrete
classes to these ports.

The types here are deliberately plain (bytes, str, dataclasses, mappings): richer domain types live in
``counter_app.domain`` and ``counter_app.card`` and are built on top of what a port returns.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

# --------------------------------------------------------------------------------------------
# Card reader


class TransportError(Exception):
    """The reader or the PC/SC service failed; the card may still be fine (读卡器故障)."""


class CardRemovedError(TransportError):
    """The card left the reader while it was being used (卡片已拔出)."""


@runtime_checkable
class CardTransport(Protocol):
    """One card in one reader slot (读卡器卡座), speaking ISO 7816 APDUs.

    ``transmit`` sends one command APDU and returns the response data followed by SW1 SW2, exactly
    as the card answered: no automatic GET RESPONSE (61xx) or Le retry (6Cxx); the card layer does
    those. Raises `CardRemovedError` when the card is gone and `TransportError` for other reader
    faults. Implementations: the pyscard transport (real readers and vpcd) and the emulator's
    in-process transport (training mode and unit tests).
    """

    @property
    def reader_name(self) -> str:
        """The reader's name as the PC/SC service reports it (or the emulator's slot name)."""
        ...

    def atr(self) -> bytes:
        """The card's Answer To Reset."""
        ...

    def transmit(self, command: bytes | bytearray) -> bytes:
        """Send one command APDU; return response data ‖ SW1 ‖ SW2.

        PIN-carrying commands arrive as a ``bytearray`` the caller wipes right after this returns;
        an implementation must not keep or log it (the APDU trace redacts PIN commands).
        """
        ...


@runtime_checkable
class CardWait(Protocol):
    """Waiting for the clerk to put a card into the reader or take it out (插卡/取卡等待).

    ``wait`` blocks the calling (worker) thread until the reader is in the wanted state and returns
    True, or returns False once `cancel` was called (the clerk pressed Esc; a cancel made while
    nobody waits stops the next wait). ``notify`` says a reader event happened, so a waiter looks
    again at once instead of at its next poll. Implementation: `counter_app.workflows.card_moves`.
    """

    def present(self) -> bool:
        """Whether a card is in the reader now."""
        ...

    def wait(self, present: bool) -> bool:
        """Block until a card is (``present``) or is not in the reader; False when cancelled."""
        ...

    def cancel(self) -> None:
        """Stop the current (or next) wait."""
        ...

    def notify(self) -> None:
        """A card was inserted or removed: look again now."""
        ...


class KeyPurpose(enum.Enum):
    """Which card key a `KeyProvider` computation uses (密钥用途)."""

    READ_AUTH = "read_auth"  # RKSSSE: external authentication before reading EF06 on 3.0 cards
    WRITE_AUTH = "write_auth"  # external authentication before UPDATE RECORD
    PIN_RELOAD = "pin_reload"  # MAC of RELOAD PIN (密码重置)
    PIN_UNBLOCK = "pin_unblock"  # MAC of PIN UNBLOCK (解锁)
    INTERNAL_AUTH = "internal_auth"  # checking the card's answer to INTERNAL AUTHENTICATE


@runtime_checkable
class KeyProvider(Protocol):
    """The holder of the card master keys (PSAM卡 / 加密机): computes, never reveals, card keys.

    ``diversifier`` is what the key is diversified with for one card (per docs/card-protocol.md).
    The PSAM in the second reader, the provincial HSM and the emulated PSAM implement this.
    """

    def cryptogram(self, purpose: KeyPurpose, diversifier: bytes, challenge: bytes) -> bytes:
        """Encrypt the card's challenge with the diversified key (for EXTERNAL AUTHENTICATE)."""
        ...

    def mac(
        self, purpose: KeyPurpose, diversifier: bytes, challenge: bytes, data: bytes | bytearray
    ) -> bytes:
        """MAC over ``data`` with the diversified key and the card's challenge as the IV.

        ``data`` may hold a new PIN (RELOAD) in a bytearray the caller wipes afterwards.
        """
        ...

    def terminal_id(self) -> str:
        """The PSAM's terminal number (终端机编号), printed on diagnostics and iReadCardBas."""
        ...


# --------------------------------------------------------------------------------------------
# PIN pad


class PinPadOutcome(enum.Enum):
    """How a PIN entry on the citizen's pad ended (密码键盘输入结果)."""

    ENTERED = "entered"
    CITIZEN_CANCELLED = "citizen_cancelled"  # 客户取消输入
    TIMED_OUT = "timed_out"  # 输入超时
    CLERK_CANCELLED = "clerk_cancelled"  # 柜员取消
    MISMATCH = "mismatch"  # the two entries of a new PIN differ (两次输入的新密码不一致)

    @property
    def message(self) -> str:
        """What the wizard shows for this outcome (Chinese)."""
        return _PIN_OUTCOME_MESSAGES[self]

    @property
    def interface_code(self) -> int | None:
        """The national interface's return code (−31 取消, −32 超时, −34 不一致), None if it has none."""
        return _PIN_OUTCOME_CODES.get(self)


_PIN_OUTCOME_MESSAGES = {
    PinPadOutcome.ENTERED: "客户已输入密码",
    PinPadOutcome.CITIZEN_CANCELLED: "客户取消输入",
    PinPadOutcome.TIMED_OUT: "输入超时",
    PinPadOutcome.CLERK_CANCELLED: "柜员已取消输入",
    PinPadOutcome.MISMATCH: "两次输入的新密码不一致",
}
_PIN_OUTCOME_CODES = {
    PinPadOutcome.CITIZEN_CANCELLED: -31,
    PinPadOutcome.TIMED_OUT: -32,
    PinPadOutcome.MISMATCH: -34,
}

#: PIN lengths the card and the national interface allow (有效长度 4–16 位数字).
PIN_LENGTH_LIMITS = (4, 16)


class PinEntryKind(enum.Enum):
    """Which entries the pad collects (密码输入类型)."""

    VERIFY = "verify"  # current PIN
    CHANGE = "change"  # old PIN, new PIN, new PIN again
    RELOAD = "reload"  # new PIN, new PIN again


@dataclass(frozen=True)
class PinRequest:
    """What the clerk asks the pad for: kind, allowed length and how long the citizen has."""

    kind: PinEntryKind
    min_length: int = 6
    max_length: int = 6
    timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        low, high = PIN_LENGTH_LIMITS
        if not low <= self.min_length <= self.max_length <= high:
            raise ValueError(f"PIN lengths must satisfy {low} <= min <= max <= {high}")
        if not 0 < self.timeout_seconds <= 255:
            raise ValueError("PIN entry timeout must be within (0, 255] seconds")


@dataclass(frozen=True)
class SecurePinResult:
    """What a secure pad (PC/SC Part 10) reports after sending the PIN to the card itself.

    ``sw`` is the card's status word when the citizen finished the entry (``outcome`` ENTERED);
    None when the entry ended on the pad (cancel, timeout, mismatch) and nothing reached the card.
    """

    outcome: PinPadOutcome
    sw: int | None = None


class SecretPin:
    """A PIN the host had to hold: digits in a bytearray, wiped by `wipe` (never a ``str``).

    Deliberately has no ``__str__``/``__repr__`` that shows the digits.
    """

    __slots__ = ("_digits",)

    def __init__(self, digits: bytearray) -> None:
        self._digits = digits

    @property
    def digits(self) -> bytearray:
        """The ASCII digits; use and wipe, never copy into a ``str``."""
        return self._digits

    def wipe(self) -> None:
        """Overwrite the digits with zeros and forget them."""
        for i in range(len(self._digits)):
            self._digits[i] = 0
        self._digits = bytearray()

    def __repr__(self) -> str:
        return "SecretPin(<redacted>)"


@dataclass
class PinEntries:
    """The entries of one PIN dialogue on the pad; wiped when the ``with`` block ends."""

    outcome: PinPadOutcome
    entries: list[SecretPin] = field(default_factory=list)

    def wipe(self) -> None:
        for pin in self.entries:
            pin.wipe()

    def __enter__(self) -> PinEntries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.wipe()


@runtime_checkable
class PinPad(Protocol):
    """The citizen's PIN pad (密码键盘) in front of the counter.

    ``secure`` pads (PC/SC Part 10) send the PIN to the card themselves and never give it to the
    host: use `enter_on_card`. Other pads (serial 密码键盘, the training pad, a vendor pad behind its
    helper process) hand the entries to the host through `collect`, which the card layer turns into
    an APDU and wipes right after sending. Collect *before* submitting the card job: the citizen's
    typing must never hold the device thread or a PC/SC transaction.
    """

    @property
    def secure(self) -> bool:
        """True when the PIN never reaches the host (Part 10 secure PIN entry)."""
        ...

    def collect(self, request: PinRequest) -> PinEntries:
        """Prompt the citizen and return the entries (wipe them after use). Not for secure pads.

        Entries of ENTERED: VERIFY → [pin]; CHANGE → [old, new]; RELOAD → [new] (the pad compared
        the confirmation entry with the new PIN and wiped it). A CHANGE or RELOAD whose two new
        entries differ ends with outcome MISMATCH and no entries; any other outcome has none either.
        """
        ...

    def enter_on_card(self, request: PinRequest, transport: CardTransport) -> SecurePinResult:
        """Secure pads only: the pad prompts and sends VERIFY / CHANGE PIN to the card in ``transport``.

        Runs where the transport lives (the device thread); SSSE must already be selected.
        """
        ...

    def cancel(self) -> bool:
        """Clerk-side cancel (柜员取消) of the entry in progress, from any thread.

        Returns False when this pad cannot be cancelled from the host (the entry then ends on the
        pad: the citizen's 取消 key or its timeout).
        """
        ...


# --------------------------------------------------------------------------------------------
# ID card reader (later: the 二代证 reader through a vendor DLL bridge)


@dataclass(frozen=True)
class IdCardData:
    """What a 居民身份证 reader returns (二代证信息)."""

    id_number: str
    name: str
    sex_code: str
    ethnicity_code: str
    birth_date: date
    address: str
    issuing_authority: str
    valid_from: date
    valid_until: date | None  # None: 长期
    photo_jpeg: bytes = b""


@runtime_checkable
class IdReader(Protocol):
    """The 二代证 (resident ID card) reader on the counter."""

    def read(self, timeout_seconds: float) -> IdCardData | None:
        """Wait up to ``timeout_seconds`` for an ID card; None when none was presented."""
        ...


# --------------------------------------------------------------------------------------------
# Central server


class CentralUnavailable(Exception):
    """The central server cannot be reached or answered garbage (中心服务不可用)."""


@dataclass(frozen=True)
class CommandResult:
    """The server's answer to one life-cycle command: accepted with its record, or refused."""

    accepted: bool
    body: Mapping[str, Any]
    refusal_code: str | None = None
    refusal_message: str | None = None


@runtime_checkable
class CentralApi(Protocol):
    """The city's card and subsidy service (社保卡中心系统), command-shaped and narrow.

    Lookups return plain mappings as the server sends them. Every state change is a named command
    sent with an idempotency key, so a retry has exactly one effect. Raises `CentralUnavailable`
    when the server is down or answers garbage.
    """

    def find_person(self, id_type: str, id_number: str) -> Mapping[str, Any] | None:
        """A person with their cards and history, or None."""
        ...

    def find_card(
        self, *, card_number: str | None = None, card_id: str | None = None
    ) -> Mapping[str, Any] | None:
        """A card by 卡号 or 卡识别码, or None."""
        ...

    def send_command(self, command: str, payload: Mapping[str, Any], idempotency_key: str) -> CommandResult:
        """Run one life-cycle command (apply, activate, report_loss, …)."""
        ...

    def subsidy_payments(
        self, person_id: str, *, household: bool, period_from: str, period_to: str
    ) -> Sequence[Mapping[str, Any]]:
        """Subsidy payments (补贴发放记录) of a person or their household, periods as YYYYMM."""
        ...


# --------------------------------------------------------------------------------------------
# Local journal (store)


@dataclass(frozen=True)
class TransactionRecord:
    """One service transaction as a flow hands it to the journal (业务流水)."""

    acceptance_number: str
    item_code: str
    operator_number: str
    outlet_code: str
    counter_number: str
    occurred_at: datetime
    holder_ref: str
    result: str
    details: Mapping[str, Any]
    server_command: str | None = None  # queued for the central server when set
    server_payload: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Journal(Protocol):
    """The counter's local store (本地流水): transactions, audit chain and outbox in one commit."""

    def next_acceptance_number(self, outlet_code: str, counter_number: str, on: date) -> str:
        """Reserve the next 受理编号 of this counter for the day."""
        ...

    def record(self, transaction: TransactionRecord) -> None:
        """Write the transaction, its audit entry and (when it has one) its outbox message atomically."""
        ...

    def find(self, acceptance_number: str) -> TransactionRecord | None:
        """A recorded transaction by its 受理编号."""
        ...

    def save_checkpoint(self, flow_id: str, state: Mapping[str, Any]) -> None:
        """Remember where an unfinished flow stands, to resume it after a crash."""
        ...

    def load_checkpoint(self, flow_id: str) -> Mapping[str, Any] | None:
        """The last checkpoint of an unfinished flow, or None."""
        ...

    def discard_checkpoint(self, flow_id: str) -> None:
        """Forget a flow's checkpoint once it finished (done, refused or cancelled)."""
        ...

    def holder_ref_for(self, id_type: str, id_number: str) -> str:
        """The holder reference (持卡人标识) for transactions and audit: a keyed hash, never the ID itself."""
        ...

    def audit_event(self, acceptance_number: str, event: str, result: str, operator_number: str) -> None:
        """Chain an audit entry about a recorded transaction: what ``operator_number`` did with its data
        afterwards (再查询补贴发放, 打印补贴发放明细). Raises when the 受理编号 is not recorded."""
        ...


# --------------------------------------------------------------------------------------------
# Receipts and printing


@dataclass(frozen=True)
class RenderedForm:
    """A rendered 业务受理表 or statement: the PDF and any character no font could draw.

    ``unprintable_characters`` lists (once each, in order of appearance) the characters that no font
    of the chain covers; they are printed as a visible placeholder box, never dropped silently. The
    caller decides: the wizard refuses to hand out such a form, or flags it for a handwritten fix.
    """

    pdf: bytes
    unprintable_characters: tuple[str, ...] = ()
    page_count: int = 1

    @property
    def complete(self) -> bool:
        """True when every character was printed with a real glyph."""
        return not self.unprintable_characters


#: Key of ``TransactionRecord.details`` that holds the form data (``AcceptanceForm.to_mapping()``),
#: so that a reprint can rebuild the very same form from the journal.
FORM_DETAILS_KEY = "acceptance_form"


@dataclass(frozen=True)
class FormPerson:
    """The holder (持卡人/申请人) as printed on a form; ``sex`` is the Chinese label (男/女)."""

    name: str
    id_type: str = "居民身份证"
    id_number: str = ""
    sex: str = ""
    card_number: str = ""  # 社会保障卡卡号
    phone: str = ""


@dataclass(frozen=True)
class FormAgent:
    """The agent (代办人) who came for the holder: relation and the documents shown."""

    name: str
    id_type: str = "居民身份证"
    id_number: str = ""
    phone: str = ""
    relation: str = ""  # 与持卡人关系: 父母/子女/配偶/单位经办人/代管人 …
    documents: tuple[str, ...] = ()  # 代办人提供的证件材料


@dataclass(frozen=True)
class MaterialCheck:
    """One line of the 申报材料 checklist and whether the clerk checked it (已核验)."""

    text: str
    checked: bool = True


@dataclass(frozen=True)
class FieldChange:
    """One changed field of 关键/非关键信息变更: label, old value, new value.

    ``kind`` says how the receipt masks the values: ``"id"`` (证件号码), ``"phone"`` or ``""``.
    """

    label: str
    old: str
    new: str
    kind: str = ""


@dataclass(frozen=True)
class AcceptanceForm:
    """Everything the 业务受理表 prints for one transaction; the renderer needs no network.

    ``item_code`` is a catalog code (``apply`` … ``cancel_card``); the item's name, fee text, time
    limit and materials checklist come from the catalog when not given here. ``variant`` is a catalog
    variant code of the item (e.g. ``formal`` for 正式挂失). ``item_details`` holds the item's own
    section by field key (the keys of each item are listed in ``counter_app/receipts/sections.py``;
    an unknown key is an error, a missing one prints empty). ``verification_code`` is the HMAC code
    of the 受理编号 made with the counter's receipt key (``counter_app.domain.receipt_code``); the QR
    code carries ``<受理编号>.<校验码>`` as that module defines.
    ``promised_date`` is normally computed once by the caller (working days per the holiday calendar)
    and stored, so that a reprint shows the same date; when None the renderer computes it.
    """

    acceptance_number: str
    verification_code: str
    item_code: str
    holder: FormPerson
    accepted_at: datetime
    outlet_code: str
    outlet_name: str
    counter_number: str
    operator_number: str
    operator_name: str = ""
    result: str = "已受理"
    variant: str = ""
    agent: FormAgent | None = None
    materials: tuple[MaterialCheck, ...] = ()
    item_details: Mapping[str, str] = field(default_factory=dict)
    changes: tuple[FieldChange, ...] = ()
    fee_amount_fen: int | None = None  # what was actually charged; None: per the catalog's fee text
    promised_date: date | None = None
    offline: bool = False  # queued for upload: prints 已受理，待上传确认
    training: bool = False  # 培训模式: prints the 培训样张 无效 watermark
    remarks: str = ""  # 备注

    def to_mapping(self) -> dict[str, Any]:
        """Plain JSON-able form data, stored in ``TransactionRecord.details[FORM_DETAILS_KEY]``."""
        return {
            "acceptance_number": self.acceptance_number,
            "verification_code": self.verification_code,
            "item_code": self.item_code,
            "holder": _person_mapping(self.holder),
            "accepted_at": self.accepted_at.isoformat(),
            "outlet_code": self.outlet_code,
            "outlet_name": self.outlet_name,
            "counter_number": self.counter_number,
            "operator_number": self.operator_number,
            "operator_name": self.operator_name,
            "result": self.result,
            "variant": self.variant,
            "agent": None if self.agent is None else _agent_mapping(self.agent),
            "materials": [{"text": m.text, "checked": m.checked} for m in self.materials],
            "item_details": dict(self.item_details),
            "changes": [{"label": c.label, "old": c.old, "new": c.new, "kind": c.kind} for c in self.changes],
            "fee_amount_fen": self.fee_amount_fen,
            "promised_date": None if self.promised_date is None else self.promised_date.isoformat(),
            "offline": self.offline,
            "training": self.training,
            "remarks": self.remarks,
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AcceptanceForm:
        """The inverse of `to_mapping`."""
        agent = data.get("agent")
        promised = data.get("promised_date")
        return cls(
            acceptance_number=str(data["acceptance_number"]),
            verification_code=str(data["verification_code"]),
            item_code=str(data["item_code"]),
            holder=FormPerson(**data["holder"]),
            accepted_at=datetime.fromisoformat(str(data["accepted_at"])),
            outlet_code=str(data["outlet_code"]),
            outlet_name=str(data["outlet_name"]),
            counter_number=str(data["counter_number"]),
            operator_number=str(data["operator_number"]),
            operator_name=str(data.get("operator_name", "")),
            result=str(data.get("result", "已受理")),
            variant=str(data.get("variant", "")),
            agent=None if agent is None else FormAgent(**{**agent, "documents": tuple(agent["documents"])}),
            materials=tuple(MaterialCheck(str(m["text"]), bool(m["checked"])) for m in data["materials"]),
            item_details={str(k): str(v) for k, v in dict(data.get("item_details", {})).items()},
            changes=tuple(FieldChange(**c) for c in data.get("changes", [])),
            fee_amount_fen=data.get("fee_amount_fen"),
            promised_date=None if promised is None else date.fromisoformat(str(promised)),
            offline=bool(data.get("offline", False)),
            training=bool(data.get("training", False)),
            remarks=str(data.get("remarks", "")),
        )

    @classmethod
    def from_transaction(cls, transaction: TransactionRecord) -> AcceptanceForm:
        """The form data a flow stored with the transaction (``details[FORM_DETAILS_KEY]``)."""
        data = transaction.details.get(FORM_DETAILS_KEY)
        if not isinstance(data, Mapping):
            raise ValueError(
                f"transaction {transaction.acceptance_number} has no {FORM_DETAILS_KEY!r} in its details"
            )
        return cls.from_mapping(data)


def _person_mapping(p: FormPerson) -> dict[str, str]:
    return {
        "name": p.name,
        "id_type": p.id_type,
        "id_number": p.id_number,
        "sex": p.sex,
        "card_number": p.card_number,
        "phone": p.phone,
    }


def _agent_mapping(a: FormAgent) -> dict[str, Any]:
    return {
        "name": a.name,
        "id_type": a.id_type,
        "id_number": a.id_number,
        "phone": a.phone,
        "relation": a.relation,
        "documents": list(a.documents),
    }


@dataclass(frozen=True)
class SubsidyPayment:
    """One subsidy payment (补贴发放记录, DOMAIN §6) as the server sends it; amounts in 分.

    ``status`` is one of 待发/已发/失败/退回/重发; ``account_tail`` is the masked account (尾号).
    """

    item_code: str
    item_name: str
    period: str  # YYYYMM
    amount_fen: int
    status: str
    department: str = ""  # 主管部门
    paid_on: date | None = None
    bank: str = ""
    account_tail: str = ""
    failure_reason: str = ""
    batch: str = ""
    recipient: str = ""  # who was paid when not the holder (户主), else ""


@dataclass(frozen=True)
class SubsidyStatement:
    """A 补贴发放明细: one holder's (or household's) payments over a period.

    ``statement_number`` is the 受理编号 of the 信息查询 transaction that printed it; it is verified by
    the same QR code as the 业务受理表. ``data_as_of`` is set when the data come from the local
    replica (offline), and is printed as 数据截至.
    """

    statement_number: str
    verification_code: str
    holder: FormPerson
    period_from: str  # YYYYMM
    period_to: str  # YYYYMM
    payments: tuple[SubsidyPayment, ...]
    printed_at: datetime
    outlet_code: str
    outlet_name: str
    counter_number: str
    operator_number: str
    household: bool = False
    data_as_of: datetime | None = None
    training: bool = False


@runtime_checkable
class ReceiptRenderer(Protocol):
    """Makes the 业务受理表 (acceptance form with stub and receipt) as PDF.

    The form data come from ``transaction.details[FORM_DETAILS_KEY]`` (see `AcceptanceForm`).
    """

    def render_acceptance_form(self, transaction: TransactionRecord, *, reprint: int = 0) -> RenderedForm:
        """The form of one transaction; ``reprint`` > 0 stamps 补打 n."""
        ...


@runtime_checkable
class StatementRenderer(Protocol):
    """Makes the 补贴发放明细 (subsidy payment statement) as PDF."""

    def render_subsidy_statement(self, statement: SubsidyStatement, *, reprint: int = 0) -> RenderedForm:
        """The statement, multi-page with the header repeated; ``reprint`` > 0 stamps 补打 n."""
        ...


class PrintFailed(Exception):
    """The printer is missing or the job failed (打印失败); the transaction stays recorded.

    The message is Chinese and tells the clerk what to do; the caller keeps the PDF for 补打.
    """


@runtime_checkable
class Printer(Protocol):
    """The counter's printer (打印机)."""

    def is_ready(self) -> bool:
        """Whether the configured printer exists and accepts jobs."""
        ...

    def print_pdf(self, pdf: bytes, *, job_name: str) -> str:
        """Send a PDF; return the job id. Raises `PrintFailed` with a Chinese message."""
        ...


# --------------------------------------------------------------------------------------------
# Clock


@runtime_checkable
class Clock(Protocol):
    """Time (时钟), injected so deadlines, expiry and retention can be tested."""

    def now(self) -> datetime:
        """Timezone-aware current time (Asia/Shanghai)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, for timeouts."""
        ...
