"""Who stands at the counter (办理人): the holder, or an agent under the brochure's 代办 rules.

Rules (DOMAIN §2 "Proxy", §6), each a refusal with a stable code:

- an individual agent (代办人) shows their own ID (or 社保卡) and the principal's ID, and the
  principal's 社保卡 where the item needs it (``agent_documents_missing``);
- a principal under 18 also needs the 户口簿 or other guardianship proof (``guardianship_proof_missing``);
- a batch application (批量申领) by a unit or school needs its introduction letter, the applicant
  list and the ID copies (``batch_documents_missing``), and is only for 申领 (``batch_not_allowed``);
- 代管代持 (decision): when the holder is one of the 四类人 and someone else presents the card, an
  authorisation for that person must be on file and valid today; it is shown to the clerk, and
  without it the flow is refused (``custody_not_authorised``); a "custodian" without one likewise;
- items that cannot be done by proxy (密码修改) refuse anyone but the holder (``proxy_not_allowed``).

Pure: the flows call `check_presenter` with what they know; nothing here talks to a port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from counter_app.domain.errors import DomainError
from counter_app.domain.operators import NotPermitted, Requester


class PresenterKind(StrEnum):
    """Who presents the case (办理人身份); the first four are the server's requester codes."""

    HOLDER = "holder"  # 本人
    GUARDIAN = "guardian"  # 监护人
    CUSTODIAN = "custodian"  # 代管代持人
    OTHER = "other"  # 代办人
    UNIT = "unit"  # 单位或学校批量代办 (申领 only)

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]

    @property
    def requester(self) -> Requester:
        """The domain's requester (a unit's staff are agents)."""
        return Requester.OTHER if self is PresenterKind.UNIT else Requester(self.value)


_KIND_LABELS: Final[Mapping[PresenterKind, str]] = {
    PresenterKind.HOLDER: "本人办理",
    PresenterKind.GUARDIAN: "监护人代办",
    PresenterKind.CUSTODIAN: "代管代持人代办",
    PresenterKind.OTHER: "他人代办",
    PresenterKind.UNIT: "单位或学校批量代办",
}


class Document(StrEnum):
    """Documents an agent shows (代办材料)."""

    AGENT_ID = "agent_id"
    PRINCIPAL_ID = "principal_id"
    PRINCIPAL_CARD = "principal_card"
    GUARDIANSHIP = "guardianship"
    CUSTODY = "custody"
    UNIT_LETTER = "unit_letter"
    APPLICANT_LIST = "applicant_list"
    ID_COPIES = "id_copies"

    @property
    def label(self) -> str:
        return DOCUMENT_LABELS[self]


DOCUMENT_LABELS: Final[Mapping[Document, str]] = {
    Document.AGENT_ID: "代办人本人社保卡或身份证等有效身份证件原件",
    Document.PRINCIPAL_ID: "被代办人身份证等有效身份证件原件",
    Document.PRINCIPAL_CARD: "被代办人社会保障卡",
    Document.GUARDIANSHIP: "户口簿等监护关系证明",
    Document.CUSTODY: "代管代持授权书",
    Document.UNIT_LETTER: "单位介绍信",
    Document.APPLICANT_LIST: "申请人名单",
    Document.ID_COPIES: "申请人身份证等有效身份证件复印件",
}


@dataclass(frozen=True)
class Agent:
    """The agent's identity as captured (代办人)."""

    name: str
    id_type: str
    id_number: str
    relation: str
    phone: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "id_type": self.id_type,
            "id_number": self.id_number,
            "relation": self.relation,
            "phone": self.phone,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Agent:
        return cls(
            str(raw["name"]),
            str(raw["id_type"]),
            str(raw["id_number"]),
            str(raw.get("relation", "")),
            str(raw.get("phone", "")),
        )


@dataclass(frozen=True)
class Batch:
    """A unit's or school's batch application (批量申领)."""

    unit_name: str
    letter_number: str = ""


@dataclass(frozen=True)
class Presenter:
    """Who presents the case and with which documents."""

    kind: PresenterKind
    agent: Agent | None = None
    documents: frozenset[Document] = frozenset()
    batch: Batch | None = None

    @property
    def is_holder(self) -> bool:
        return self.kind is PresenterKind.HOLDER


@dataclass(frozen=True)
class ProxyRules:
    """What an item allows (from the catalog's 代办 text and DOMAIN §2)."""

    proxy_allowed: bool = True
    batch_allowed: bool = False
    needs_principal_card: bool = False


def _missing(documents: frozenset[Document], wanted: Iterable[Document]) -> list[Document]:
    return [d for d in wanted if d not in documents]


def check_presenter(
    presenter: Presenter,
    rules: ProxyRules,
    *,
    holder_minor: bool,
    holder_vulnerable: bool,
    custody: Mapping[str, Any] | None,
) -> None:
    """Refuse a presenter the brochure's 代办 rules or the 代管代持 rule do not allow."""
    if presenter.is_holder:
        return
    if not rules.proxy_allowed:
        raise NotPermitted(
            "proxy_not_allowed",
            "此业务不能代办，须由持卡人本人办理。",
            "请持卡人本人持卡和有效身份证件到窗口办理。",
        )
    if presenter.kind is PresenterKind.UNIT:
        if not rules.batch_allowed:
            raise NotPermitted(
                "batch_not_allowed",
                "只有申领可以由单位或学校批量代办。",
                "请由持卡人本人或个人代办人办理。",
            )
        missing = _missing(
            presenter.documents, (Document.UNIT_LETTER, Document.APPLICANT_LIST, Document.ID_COPIES)
        )
        if missing or presenter.batch is None or not presenter.batch.unit_name:
            raise DomainError(
                "batch_documents_missing",
                "批量申领须出具单位介绍信、申请人名单及身份证等有效身份证件复印件，材料不齐："
                + _listed(missing),
                "请单位经办人补齐材料后再办理。",
            )
    else:
        wanted = [Document.AGENT_ID, Document.PRINCIPAL_ID]
        if rules.needs_principal_card:
            wanted.append(Document.PRINCIPAL_CARD)
        missing = _missing(presenter.documents, wanted)
        if missing or presenter.agent is None:
            raise DomainError(
                "agent_documents_missing",
                "代办须出具代办人本人有效身份证件原件及被代办人的有效身份证件原件，材料不齐："
                + _listed(missing),
                "请代办人补齐材料后再办理，或由持卡人本人办理。",
            )
    if (
        holder_minor
        and presenter.kind is not PresenterKind.UNIT
        and Document.GUARDIANSHIP not in presenter.documents
    ):
        raise DomainError(
            "guardianship_proof_missing",
            "被代办人未满18周岁，代办人还须出具户口簿等监护关系证明。",
            "请代办人出具户口簿或其他监护关系证明后再办理。",
        )
    custodian_claimed = presenter.kind is PresenterKind.CUSTODIAN
    if (
        (holder_vulnerable or custodian_claimed)
        and presenter.kind is not PresenterKind.UNIT
        and custody is None
    ):
        raise NotPermitted(
            "custody_not_authorised",
            "持卡人属于低保户、特困群众、残疾人或建档立卡贫困户，非本人办理须由经授权的代管代持人办理；"
            "此代办人没有有效的代管代持授权。"
            if holder_vulnerable
            else "此代办人没有有效的代管代持授权，不能以代管代持人身份办理。",
            "请核对代管代持授权；尚未授权的，请先办理代管代持授权（须复核确认）。",
        )


def _listed(missing: Iterable[Document]) -> str:
    names = [d.label for d in missing]
    return "、".join(names) if names else "代办人信息"


def custody_notice(custody: Mapping[str, Any]) -> str:
    """What the clerk is shown of an authorisation (代管代持授权), once found."""
    name = custody.get("custodian_name") or ""
    reason = custody.get("reason") or ""
    start = custody.get("valid_from") or ""
    until = custody.get("valid_until") or ""
    approved = custody.get("approved_by") or ""
    return f"代管代持授权：代管人 {name}，事由 {reason}，有效期 {start} 至 {until}，复核人 {approved}。"
