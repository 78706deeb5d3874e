"""Every cell of the DOMAIN §3 transition table, through the HTTP API, on SQLite and PostgreSQL.

For each (state, command) the server must do exactly what ``counter_app.domain`` decides: move
the card to the decided state, or answer ``refused/<the domain's code>`` and change nothing. The
expected codes of the refused cells are also written out here, so a change of the rule set shows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from central.upstream.province import card_number_check_character
from counter_app.domain.card_lifecycle import (
    CardFacts,
    CardSummary,
    Command,
    ReplaceKind,
    SocialStatus,
    check_one_card_rule,
    decide,
)
from counter_app.domain.errors import DomainError
from tests.central.helpers import ADMIN, HR_SUPERVISOR, Api

S = SocialStatus
CARD_STATES = [s for s in SocialStatus if s is not S.NO_CARD]

#: Columns of the table as the API spells them: (column, command, replace kind).
COLUMNS: list[tuple[str, Command, ReplaceKind | None]] = [
    ("apply", Command.APPLY, None),
    ("start_production", Command.START_PRODUCTION, None),
    ("production_done", Command.PRODUCTION_DONE, None),
    ("instant_issue", Command.INSTANT_ISSUE, None),
    ("hand_over", Command.HAND_OVER, None),
    ("activate", Command.ACTIVATE, None),
    ("report_loss_temp", Command.REPORT_LOSS_TEMP, None),
    ("report_loss_formal", Command.REPORT_LOSS_FORMAL, None),
    ("cancel_loss", Command.CANCEL_LOSS, None),
    ("replace_reissue", Command.REPLACE, ReplaceKind.REISSUE),
    ("replace_exchange", Command.REPLACE, ReplaceKind.EXCHANGE),
    ("cancel_card", Command.CANCEL_CARD, None),
]

#: The refused cells and their codes (DOMAIN §3; "—" cells are ``not_applicable``).
REFUSED: dict[tuple[SocialStatus, str], str] = {}
for _state in CARD_STATES:
    for _column, _, _ in COLUMNS:
        REFUSED[_state, _column] = "final_state" if _state in (S.REPLACED, S.CANCELLED) else "not_applicable"
ALLOWED = {
    (S.APPLIED, "start_production"),
    (S.APPLIED, "instant_issue"),
    (S.APPLIED, "cancel_card"),
    (S.IN_PRODUCTION, "production_done"),
    (S.IN_PRODUCTION, "cancel_card"),
    (S.READY_FOR_PICKUP, "hand_over"),
    (S.READY_FOR_PICKUP, "cancel_card"),
    (S.ISSUED_INACTIVE, "activate"),
    (S.ISSUED_INACTIVE, "report_loss_temp"),
    (S.ISSUED_INACTIVE, "report_loss_formal"),
    (S.ISSUED_INACTIVE, "replace_exchange"),
    (S.ISSUED_INACTIVE, "cancel_card"),
    (S.ACTIVE, "report_loss_temp"),
    (S.ACTIVE, "report_loss_formal"),
    (S.ACTIVE, "replace_exchange"),
    (S.ACTIVE, "cancel_card"),
    (S.TEMP_LOSS, "report_loss_formal"),
    (S.TEMP_LOSS, "cancel_loss"),
    (S.TEMP_LOSS, "cancel_card"),
    (S.FORMAL_LOSS, "cancel_loss"),
    (S.FORMAL_LOSS, "replace_reissue"),
    (S.FORMAL_LOSS, "cancel_card"),
    # apply is decided for the person: a final card does not stop a new application
    (S.REPLACED, "apply"),
    (S.CANCELLED, "apply"),
}
for _cell in ALLOWED:
    REFUSED.pop(_cell)
REFUSED.update(
    {
        (S.APPLIED, "apply"): "in_production",
        (S.IN_PRODUCTION, "apply"): "in_production",
        (S.READY_FOR_PICKUP, "apply"): "in_production",
        (S.ISSUED_INACTIVE, "apply"): "has_card",
        (S.ACTIVE, "apply"): "has_card",
        (S.TEMP_LOSS, "apply"): "has_card",
        (S.FORMAL_LOSS, "apply"): "has_card",
        (S.ISSUED_INACTIVE, "replace_reissue"): "reissue_needs_formal_loss",
        (S.ACTIVE, "replace_reissue"): "reissue_needs_formal_loss",
        (S.ACTIVE, "activate"): "already_active",
        (S.TEMP_LOSS, "activate"): "card_in_loss",
        (S.FORMAL_LOSS, "activate"): "card_in_loss",
        (S.TEMP_LOSS, "report_loss_temp"): "already_lost",
        (S.FORMAL_LOSS, "report_loss_temp"): "already_lost",
        (S.FORMAL_LOSS, "report_loss_formal"): "already_lost",
        (S.TEMP_LOSS, "replace_reissue"): "make_loss_formal_first",
        (S.TEMP_LOSS, "replace_exchange"): "exchange_not_allowed_in_loss",
        (S.FORMAL_LOSS, "replace_exchange"): "exchange_not_allowed_in_loss",
    }
)


def oracle(state: SocialStatus, command: Command, kind: ReplaceKind | None) -> SocialStatus | str:
    """What counter_app.domain says: the target state of the acted-on card, or the refusal code."""
    facts = CardFacts(
        state_before_loss=S.ACTIVE if state in (S.TEMP_LOSS, S.FORMAL_LOSS) else None, replace_kind=kind
    )
    try:
        if command is Command.APPLY:
            check_one_card_rule([CardSummary(state)], command)
            return decide(S.NO_CARD, command).to_state
        return decide(state, command, facts=facts).to_state
    except DomainError as refusal:
        return refusal.code


def send(api: Api, column: str, card_id: int, person: dict[str, Any], batch: str) -> Any:
    """Build and send the command of one column for the card."""
    card = {"card": {"card_id": card_id}}
    if column == "apply":
        return api.command("apply", {"person": person["ref"], "bank": "农业银行"})
    if column == "start_production":
        return api.command("start_production", {"card_ids": [card_id]}, at=ADMIN)
    if column == "production_done":
        record = {
            "card_id": card_id,
            "card_number": "L1234567" + card_number_check_character("L1234567"),
            "card_identifier": f"511102D156000005{card_id:016X}",
            "issued_on": "2026-11-20",
        }
        return api.command("production_done", {"batch_number": batch, "records": [record]}, at=ADMIN)
    if column == "instant_issue":
        return api.command(
            "instant_issue", {**card, "card_identifier_read": f"511102D156000005{card_id:016X}"}
        )
    if column == "activate":
        return api.command("activate", {**card, "functions": ["social"]})
    if column.startswith("report_loss"):
        return api.command(
            "report_loss", {**card, "kind": "temporary" if column.endswith("temp") else "formal"}
        )
    if column.startswith("replace"):
        return api.command("replace", {**card, "kind": column.removeprefix("replace_"), "reason": "测试"})
    if column == "cancel_card":
        return api.command("cancel_card", {**card, "reason": "other"}, confirmer=HR_SUPERVISOR)
    return api.command(column, card)


def test_the_table_here_agrees_with_the_domain() -> None:
    for state in CARD_STATES:
        for column, command, kind in COLUMNS:
            expected = oracle(state, command, kind)
            if (state, column) in REFUSED:
                assert expected == REFUSED[state, column], (state, column)
            else:
                assert isinstance(expected, SocialStatus), (state, column, expected)


@pytest.mark.parametrize("column", [c for c, _, _ in COLUMNS])
@pytest.mark.parametrize("state", CARD_STATES, ids=[s.value for s in CARD_STATES])
def test_cell(api: Api, state: SocialStatus, column: str) -> None:
    _, command, kind = next(c for c in COLUMNS if c[0] == column)
    person = api.person()
    card_id = api.card(person["id"], state)
    batch = "B-TEST"
    expected = oracle(state, command, kind)
    if not isinstance(expected, SocialStatus):
        before = api.card_row(card_id)
        response = send(api, column, card_id, person, batch)
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["code"] in (expected, "batch_rejected", "return_rejected"), problem
        if problem["code"] != expected:  # batch commands list the refusal per card
            assert [e["code"] for e in problem["errors"]] == [expected]
        else:
            assert problem["type"].endswith(f"/refused/{expected}")
        after = api.card_row(card_id)
        assert (after.status, after.row_version) == (before.status, before.row_version)
        return
    response = send(api, column, card_id, person, batch)
    assert response.status_code == 200, response.text
    if column == "apply":
        new = response.json()["card"]
        assert new["status"] == expected and new["id"] != card_id
        assert api.status(card_id) == state  # the final card is untouched
        return
    assert api.status(card_id) == expected


@pytest.mark.parametrize("state", [S.ISSUED_INACTIVE, S.ACTIVE])
def test_temporary_loss_ends_by_the_clock_to_the_state_before(api: Api, state: SocialStatus) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.TEMP_LOSS, state_before_loss=state)
    api.clock.advance(days=5)
    assert api.ok("temp_loss_expiry", at=ADMIN)["data"]["count"] == 0
    assert api.status(card_id) == S.TEMP_LOSS
    api.clock.advance(days=2, hours=1)
    result = api.ok("temp_loss_expiry", at=ADMIN)
    assert result["data"]["card_ids"] == [card_id]
    assert api.status(card_id) == state
    history = api.client.get("/cards", params={"card_number": api.card_row(card_id).card_number}).json()[
        "history"
    ]
    assert history[-1]["command"] == "temp_loss_expiry" and history[-1]["operator_number"] is None


@pytest.mark.parametrize("state", [s for s in CARD_STATES if s is not S.TEMP_LOSS])
def test_the_clock_touches_no_other_state(api: Api, state: SocialStatus) -> None:
    person = api.person()
    card_id = api.card(person["id"], state, loss_reported_at=api.clock.now() - timedelta(days=30))
    api.clock.advance(days=30)
    assert api.ok("temp_loss_expiry", at=ADMIN)["data"]["count"] == 0
    assert api.status(card_id) == state


def test_no_card_row(api: Api) -> None:
    """(no card): apply creates the card; issuing by person is refused as not applicable."""
    person = api.person()
    api.refused("hand_over", {"person": person["ref"]}, "not_applicable")
    api.refused(
        "instant_issue",
        {"person": person["ref"], "card_identifier_read": "511102D1560000050000000000000001"},
        "not_applicable",
    )
    api.refused("activate", {"card": {"card_id": 999_999}, "functions": ["social"]}, "unknown_card")
    created = api.ok("apply", {"person": person["ref"], "bank": "农业银行"})
    assert created["card"]["status"] == S.APPLIED
