"""A small in-memory city server for the flow tests: `FakeCentralApi` with state and real rules.

Persons and cards live in dicts shaped like the central API's ``PersonDetail`` / ``CardDetail``;
commands go through the domain's transition table (``decide``, ``check_one_card_rule``), so a flow
that skipped a check would be refused here as the real server refuses it. ``FakeCentralApi`` keeps
one result per idempotency key (a retry has one effect) and lists every command it applied.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from counter_app.domain.card_lifecycle import (
    PIPELINE_STATES,
    CardFacts,
    CardSummary,
    Command,
    ReplaceKind,
    SocialStatus,
    check_one_card_rule,
    decide,
)
from counter_app.domain.errors import DomainError
from counter_app.workflows.ports import CommandResult
from tests.fakes import FakeCentralApi, FakeClock

_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def card_number(body: str) -> str:
    """A 卡号 with its check character (8 characters of body)."""
    total = sum(int(c, 36) * w for c, w in zip(body, _WEIGHTS, strict=True))
    c = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(c, str(c))


def resident_id(region: str, born: date, sequence: str) -> str:
    """A 公民身份号码 with a correct GB 11643 check character."""
    body = f"{region}{born:%Y%m%d}{sequence}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


@dataclass
class FakeCity(FakeCentralApi):
    """The server: persons, cards and the life-cycle commands, in memory."""

    clock: FakeClock = field(default_factory=FakeClock)
    people_rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    card_rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    locked_elsewhere: set[int] = field(default_factory=set)
    #: 强制代领预警 (DOMAIN §6): principals per agent ID number; more than ``alert_principals`` warns.
    agent_principals: dict[str, set[int]] = field(default_factory=dict)
    #: 受理编号 of the 业务流水 recorded (the server keeps one per command and refuses a second).
    acceptance_numbers: set[str] = field(default_factory=set)
    alert_principals: int = 3
    _next_id: int = 1
    _next_number: int = 500

    def __post_init__(self) -> None:
        self.decide = self._run

    # -- seeding -------------------------------------------------------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_person(
        self,
        name: str,
        id_number: str,
        *,
        sex: str,
        birth_date: date,
        ethnicity: str = "01",
        birthplace: str | None = None,
        id_type: str = "resident_id",
        insured_region: str = "511102",
        vulnerable_group: str | None = None,
        phone: str | None = "13812345678",
        address: str | None = None,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self._id(),
            "id_type": id_type,
            "id_number": id_number,
            "name": name,
            "social_security_number": id_number if id_type == "resident_id" else "",
            "sex": sex,
            "ethnicity": ethnicity,
            "birth_date": birth_date.isoformat(),
            "birthplace": birthplace or id_number[:6],
            "phone": phone,
            "address": address,
            "insured_region": insured_region,
            "vulnerable_group": vulnerable_group,
            "deceased_on": None,
            "custody_authorisations": [],
        }
        self.people_rows[row["id"]] = row
        return row

    def add_card(
        self,
        person: Mapping[str, Any],
        status: SocialStatus,
        *,
        card_number: str | None = None,
        card_identifier: str | None = None,
        bank: str = "农业银行",
        state_before_loss: SocialStatus | None = None,
        replacement_applied: bool = False,
        replaces_card_id: int | None = None,
        replace_kind: str | None = None,
        spec_version: str = "3.00",
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self._id(),
            "person_id": person["id"],
            "card_number": card_number,
            "card_identifier": card_identifier,
            "spec_version": spec_version,
            "issuing_region": (card_identifier or "511100")[:6],
            "bank": bank,
            "account_masked": "6230****1231",
            "status": status.value,
            "state_before_loss": None if state_before_loss is None else state_before_loss.value,
            "loss_reported_at": None,
            "financial_status": "inactive",
            "replacement_applied": replacement_applied,
            "known_duplicate": False,
            "replaces_card_id": replaces_card_id,
            "replace_kind": replace_kind,
            "issued_on": None if card_number is None else "2025-03-01",
            "expires_on": None if card_number is None else "2035-02-28",
            "pin_resets": 0,
            "pin_unblocks": 0,
        }
        self.card_rows[row["id"]] = row
        return row

    def authorise_custody(self, person: Mapping[str, Any], custodian_name: str, custodian_id: str) -> None:
        today = self.clock.now().date()
        self.people_rows[person["id"]]["custody_authorisations"].append(
            {
                "id": self._id(),
                "custodian_name": custodian_name,
                "custodian_id_type": "resident_id",
                "custodian_id_number": custodian_id,
                "relation": "村委会指定",
                "reason": "持卡人行动不便",
                "valid_from": (today - timedelta(days=30)).isoformat(),
                "valid_until": (today + timedelta(days=300)).isoformat(),
                "approved_by": "H900",
                "active": True,
            }
        )

    # -- lookups --------------------------------------------------------------------------------

    def person_cards(self, person_id: int) -> list[dict[str, Any]]:
        return [c for c in self.card_rows.values() if c["person_id"] == person_id]

    def _view(self, person: dict[str, Any]) -> dict[str, Any]:
        view = copy.deepcopy(person)
        view["cards"] = copy.deepcopy(self.person_cards(person["id"]))
        for entry in view["custody_authorisations"]:  # lookups mask the custodian's number (server)
            number = str(entry["custodian_id_number"])
            entry["custodian_id_number"] = number[:4] + "*" * (len(number) - 8) + number[-4:]
        return view

    def find_person(self, id_type: str, id_number: str) -> Mapping[str, Any] | None:
        self._check()
        for person in self.people_rows.values():
            if (person["id_type"], person["id_number"]) == (id_type, id_number):
                return self._view(person)
        return None

    def find_card(
        self, *, card_number: str | None = None, card_id: str | None = None
    ) -> Mapping[str, Any] | None:
        self._check()
        for card in self.card_rows.values():
            if (card_number is not None and card["card_number"] == card_number) or (
                card_id is not None and card["card_identifier"] == card_id
            ):
                holder = self.people_rows[card["person_id"]]
                view = copy.deepcopy(card)
                view["holder"] = {k: holder[k] for k in ("id", "id_type", "id_number", "name")}
                return view
        return None

    def subsidy_payments(
        self, person_id: str, *, household: bool, period_from: str, period_to: str
    ) -> Sequence[Mapping[str, Any]]:
        return super().subsidy_payments(
            person_id, household=household, period_from=period_from, period_to=period_to
        )

    # -- counting ---------------------------------------------------------------------------------

    def count(self, command: str) -> int:
        return sum(1 for name, _ in self.commands if name == command)

    def card_of(self, card_number: str) -> dict[str, Any]:
        return next(c for c in self.card_rows.values() if c["card_number"] == card_number)

    # -- commands -----------------------------------------------------------------------------------

    def _run(self, command: str, payload: Mapping[str, Any]) -> CommandResult:
        if not payload.get("acceptance_number"):
            raise AssertionError(f"{command} without acceptance_number")
        if payload["acceptance_number"] in self.acceptance_numbers:
            return CommandResult(
                False, {}, "duplicate_acceptance_number", "此受理编号已有业务记录，不能重复提交。"
            )
        try:
            body = getattr(self, f"_cmd_{command}")(payload)
        except DomainError as refusal:
            return CommandResult(False, {}, refusal.code, refusal.message)
        except Refusal as refusal:
            return CommandResult(False, {}, refusal.code, refusal.message)
        self.acceptance_numbers.add(str(payload["acceptance_number"]))
        alert = self._forced_collection(payload)
        if alert:
            body = {**body, "alerts": [*body.get("alerts", []), alert]}
        return CommandResult(True, {"command": command, **body})

    def _forced_collection(self, payload: Mapping[str, Any]) -> str:
        agent = payload.get("agent")
        if not isinstance(agent, Mapping) or not agent.get("id_number"):
            return ""
        if payload.get("person") is not None:
            try:
                principal = self._person(payload["person"])["id"]
            except Refusal:
                return ""
        elif payload.get("card") is not None:
            principal = self._card(payload["card"])["person_id"]
        else:
            return ""
        number = str(agent["id_number"])
        seen = self.agent_principals.setdefault(number, set())
        seen.add(principal)
        if len(seen) <= self.alert_principals:
            return ""
        return (
            f"代办人（证件号码尾号 {number[-4:]}）近 30 天已为 {len(seen)} 人办理业务，"
            f"超过 {self.alert_principals} 人，请核实是否存在强制代领，并报告复核人员。"
        )

    def _today(self) -> date:
        return self.clock.now().date()

    def _person(self, ref: Mapping[str, Any]) -> dict[str, Any]:
        for person in self.people_rows.values():
            if (person["id_type"], person["id_number"]) == (
                ref.get("id_type", "resident_id"),
                ref["id_number"],
            ):
                return person
        raise Refusal("person_not_found", "查无此人")

    def _card(self, ref: Mapping[str, Any]) -> dict[str, Any]:
        if ref.get("card_id") is not None:
            return self.card_rows[int(ref["card_id"])]
        return self.card_of(str(ref["card_number"]))

    @staticmethod
    def _facts(card: Mapping[str, Any], **extra: Any) -> CardFacts:
        before = card["state_before_loss"]
        return CardFacts(
            state_before_loss=SocialStatus(before) if before else None,
            replacement_applied=card["replacement_applied"],
            known_duplicate=card["known_duplicate"],
            **extra,
        )

    def _summaries(self, person_id: int) -> list[CardSummary]:
        return [
            CardSummary(SocialStatus(c["status"]), c["known_duplicate"]) for c in self.person_cards(person_id)
        ]

    def _identifier_free(self, identifier: str) -> None:
        if any(c["card_identifier"] == identifier for c in self.card_rows.values()):
            raise Refusal("card_identifier_in_use", f"卡识别码 {identifier} 已属于另一张卡")

    def _personalise(self, card: dict[str, Any], identifier: str, spec_version: str) -> None:
        self._next_number += 1
        card["card_identifier"] = identifier
        card["issuing_region"] = identifier[:6]
        card["card_number"] = card_number(f"S11{self._next_number:05d}")
        card["spec_version"] = spec_version
        card["issued_on"] = self._today().isoformat()
        card["expires_on"] = (self._today() + timedelta(days=3652)).isoformat()

    def _retire_exchanged(self, new: dict[str, Any]) -> None:
        old_id = new.get("replaces_card_id")
        if old_id is not None and new.get("replace_kind") == ReplaceKind.EXCHANGE.value:
            old = self.card_rows[old_id]
            if old["status"] not in (SocialStatus.REPLACED.value, SocialStatus.CANCELLED.value):
                old["status"] = SocialStatus.REPLACED.value
                old["replacement_applied"] = False

    def _cmd_apply(self, p: Mapping[str, Any]) -> dict[str, Any]:
        ref = p["person"]
        try:
            person = self._person(ref)
        except Refusal:
            person = self.add_person(
                ref["name"],
                ref["id_number"],
                sex=ref["sex"],
                birth_date=date.fromisoformat(ref["birth_date"]),
                ethnicity=ref.get("ethnicity", "01"),
                birthplace=ref.get("birthplace"),
                id_type=ref.get("id_type", "resident_id"),
            )
        check_one_card_rule(self._summaries(person["id"]), Command.APPLY)
        card = self.add_card(person, SocialStatus.APPLIED, bank=p.get("bank") or "农业银行")
        return {"card": copy.deepcopy(card), "batch": p.get("batch")}

    def _cmd_instant_issue(self, p: Mapping[str, Any]) -> dict[str, Any]:
        if p.get("card") is not None:
            card = self._card(p["card"])
        else:
            person = self._person(p["person"])
            card = next(
                c for c in self.person_cards(person["id"]) if SocialStatus(c["status"]) in PIPELINE_STATES
            )
        exchange = card.get("replace_kind") == ReplaceKind.EXCHANGE.value
        transition = decide(
            SocialStatus(card["status"]),
            Command.INSTANT_ISSUE,
            facts=self._facts(card, completes_exchange=exchange),
        )
        identifier = str(p["card_identifier_read"])
        self._identifier_free(identifier)
        self._personalise(card, identifier, str(p.get("spec_version", "3.00")))
        card["status"] = transition.to_state.value
        if transition.retires_exchanged_card:
            self._retire_exchanged(card)
        return {"card": copy.deepcopy(card)}

    def _cmd_hand_over(self, p: Mapping[str, Any]) -> dict[str, Any]:
        card = self._card(p["card"])
        exchange = card.get("replace_kind") == ReplaceKind.EXCHANGE.value
        transition = decide(
            SocialStatus(card["status"]),
            Command.HAND_OVER,
            facts=self._facts(card, completes_exchange=exchange),
        )
        card["status"] = transition.to_state.value
        if transition.retires_exchanged_card:
            self._retire_exchanged(card)
        return {"card": copy.deepcopy(card)}

    def _cmd_activate(self, p: Mapping[str, Any]) -> dict[str, Any]:
        card = self._card(p["card"])
        if "social" in p["functions"]:
            transition = decide(SocialStatus(card["status"]), Command.ACTIVATE, facts=self._facts(card))
            card["status"] = transition.to_state.value
        if "financial" in p["functions"]:
            card["financial_status"] = "active"
        return {"card": copy.deepcopy(card)}

    def _cmd_report_loss(self, p: Mapping[str, Any]) -> dict[str, Any]:
        card = self._card(p["card"])
        command = Command.REPORT_LOSS_TEMP if p["kind"] == "temporary" else Command.REPORT_LOSS_FORMAL
        transition = decide(SocialStatus(card["status"]), command, facts=self._facts(card))
        card["status"] = transition.to_state.value
        card["state_before_loss"] = (
            None if transition.state_before_loss is None else transition.state_before_loss.value
        )
        card["loss_reported_at"] = self.clock.now().isoformat()
        return {"card": copy.deepcopy(card)}

    def _cmd_cancel_loss(self, p: Mapping[str, Any]) -> dict[str, Any]:
        card = self._card(p["card"])
        transition = decide(SocialStatus(card["status"]), Command.CANCEL_LOSS, facts=self._facts(card))
        card["status"] = transition.to_state.value
        card["state_before_loss"] = None
        return {"card": copy.deepcopy(card)}

    def _cmd_replace(self, p: Mapping[str, Any]) -> dict[str, Any]:
        old = self._card(p["card"])
        kind = ReplaceKind(p["kind"])
        instant = bool(p.get("instant"))
        transition = decide(
            SocialStatus(old["status"]),
            Command.REPLACE,
            facts=self._facts(old, replace_kind=kind, instant=instant),
        )
        check_one_card_rule(self._summaries(old["person_id"]), Command.REPLACE)
        assert transition.replacement is not None
        if instant:
            self._identifier_free(str(p["card_identifier_read"]))
        old["status"] = transition.to_state.value
        if not transition.replacement.old_card_replaced_now:
            old["replacement_applied"] = True
        new = self.add_card(
            self.people_rows[old["person_id"]],
            transition.replacement.new_card_state,
            bank=old["bank"],
            replaces_card_id=old["id"],
            replace_kind=kind.value,
        )
        if instant:
            self._personalise(new, str(p["card_identifier_read"]), str(p.get("spec_version", "3.00")))
        return {"card": copy.deepcopy(old), "new_card": copy.deepcopy(new)}

    def _cmd_cancel_card(self, p: Mapping[str, Any]) -> dict[str, Any]:
        card = self._card(p["card"])
        transition = decide(SocialStatus(card["status"]), Command.CANCEL_CARD, facts=self._facts(card))
        card["status"] = transition.to_state.value
        return {"card": copy.deepcopy(card), "notices": ["社保卡已注销；金融账户由发卡银行办理销户。"]}

    def _cmd_pin_reset(self, p: Mapping[str, Any]) -> dict[str, Any]:
        card = self._card(p["card"])
        if card["id"] in self.locked_elsewhere:
            raise Refusal("locked_elsewhere", "此卡在省内其他地区锁定，须到锁定地解锁")
        card["pin_resets"] += 1
        return {"card": copy.deepcopy(card)}

    def _cmd_pin_unblock(self, p: Mapping[str, Any]) -> dict[str, Any]:
        card = self._card(p["card"])
        if card["id"] in self.locked_elsewhere:
            raise Refusal("locked_elsewhere", "此卡在省内其他地区锁定，须到锁定地解锁")
        card["pin_unblocks"] += 1
        return {"card": copy.deepcopy(card)}

    def _cmd_change_key_info(self, p: Mapping[str, Any]) -> dict[str, Any]:
        person = self._person(p["person"])
        for key in ("name", "sex", "ethnicity", "birth_date"):
            if p.get(key):
                person[key] = p[key]
        if p.get("new_id_number"):
            person["id_number"] = p["new_id_number"]
            person["social_security_number"] = p["new_id_number"]
        return {"person": copy.deepcopy(person)}

    def _cmd_change_contact(self, p: Mapping[str, Any]) -> dict[str, Any]:
        person = self._person(p["person"])
        for key in ("phone", "address"):
            if p.get(key):
                person[key] = p[key]
        return {"person": copy.deepcopy(person)}

    def _cmd_authorise_custody(self, p: Mapping[str, Any]) -> dict[str, Any]:
        person = self._person(p["person"])
        if not person.get("vulnerable_group"):
            raise Refusal("custody_not_eligible", "代管代持只适用于四类人")
        if not p.get("confirmer_number"):
            raise Refusal("confirmation_required", "须复核人员确认")
        custodian = p["custodian"]
        entry = {
            "id": self._id(),
            "custodian_name": custodian["name"],
            "custodian_id_type": custodian.get("id_type", "resident_id"),
            "custodian_id_number": custodian["id_number"],
            "relation": p["relation"],
            "reason": p["reason"],
            "valid_from": p["valid_from"],
            "valid_until": p["valid_until"],
            "approved_by": p["confirmer_number"],
            "active": True,
        }
        person["custody_authorisations"].append(entry)
        return {"authorisation_id": entry["id"], "person": copy.deepcopy(person)}

    def _cmd_transfer_region(self, p: Mapping[str, Any]) -> dict[str, Any]:
        person = self._person(p["person"])
        person["insured_region"] = p["to_region"]
        return {"person": copy.deepcopy(person)}
