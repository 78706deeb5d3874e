"""Commands of the flows through the adapter and the real server: the supervisor's second sign-in
travels as ``X-Confirmer-Token`` (never as a body field), refusals come back as the server's code and
Chinese message, a replay of a flow's key gives the stored answer, and the audit head goes along
only while the outbox is empty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from central.core.db import Database
from central.models import CardRow, TransactionRow
from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.sync import SignInRefused, SignInRequired
from counter_app.workflows.base import StepKind
from counter_app.workflows.registry import start
from tests.central.helpers import PASSWORDS
from tests.sync.helpers import (
    CLERK,
    SUPERVISOR,
    Counter,
    flow_context,
    forget_audit_heads,
    open_counter,
    record_change_contact,
    seeder,
)
from tests.sync.server import CentralProcess
from tests.workflows.helpers import AGENT_ID, World, agent, drive, until

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
def db(central_db: str) -> Iterator[Database]:
    database = Database(central_db)
    forget_audit_heads(database)
    yield database
    database.dispose()


@pytest.fixture
def counter(central: CentralProcess, tmp_path: Path, db: Database) -> Iterator[Counter]:
    c = open_counter(central.url, tmp_path / "counter")
    yield c
    c.close()


def _person_with_card(central_db: str) -> tuple[dict[str, object], int]:
    api, database = seeder(central_db)
    person = api.person()
    card = api.card(int(person["id"]), SocialStatus.ACTIVE)
    database.dispose()
    return person, card


def test_cancel_card_flow_with_the_supervisors_second_sign_in(
    counter: Counter, central_db: str, db: Database
) -> None:
    person, card_id = _person_with_card(central_db)
    signed = counter.sync.sign_in(CLERK, PASSWORDS[CLERK])
    ctx = flow_context(counter, signed, World())
    flow = start("cancel_card", ctx)
    step = until(
        flow,
        "supervisor",
        {
            "read_card": {"choice": "absent"},
            "identify": {"id_type": "resident_id", "id_number": person["id_number"]},
            "reason": {"reason": "death"},
            "presenter": agent("张小三", AGENT_ID, relation="子女"),
        },
    )
    step = flow.submit({"supervisor": SUPERVISOR})  # not signed in here yet: unknown to the flow
    assert step.problem is not None and step.problem.code == "supervisor_unknown"
    with pytest.raises(SignInRefused) as same:
        counter.sync.confirm(CLERK, PASSWORDS[CLERK])
    assert same.value.code in ("not_supervisor", "same_operator")
    counter.sync.confirm(SUPERVISOR, PASSWORDS[SUPERVISOR])
    done = drive(flow, {"supervisor": {"supervisor": SUPERVISOR}})
    assert done.kind is StepKind.DONE, done
    with db.read() as session:
        assert session.get(CardRow, card_id).status == "cancelled"  # type: ignore[union-attr]
        row = session.scalar(select(TransactionRow).where(TransactionRow.card_id == card_id))
        assert row is not None and row.confirmer_number == SUPERVISOR and row.operator_number == CLERK


def test_refusals_replays_and_a_missing_confirmation(counter: Counter, central_db: str) -> None:
    _, card_id = _person_with_card(central_db)
    counter.sync.sign_in(CLERK, PASSWORDS[CLERK])
    central = counter.sync.central
    number = counter.store.next_acceptance_number("511102001", "01", counter.sync.clock.now().date())
    body = {"acceptance_number": number, "requester": "holder", "agent": None, "card": {"card_id": card_id}}
    first = central.send_command("report_loss", {**body, "kind": "temporary"}, "flow-1:report_loss")
    assert first.accepted
    again = central.send_command("report_loss", {**body, "kind": "temporary"}, "flow-1:report_loss")
    assert again.accepted and again.body == first.body  # the stored answer
    third = counter.store.next_acceptance_number("511102001", "01", counter.sync.clock.now().date())
    with pytest.raises(SignInRequired):
        central.send_command(
            "cancel_card",
            {**body, "acceptance_number": third, "reason": "death", "confirmer_number": SUPERVISOR},
            "f3:x",
        )
    reported_again = central.send_command(
        "report_loss", {**body, "acceptance_number": third, "kind": "temporary"}, "flow-4:report_loss"
    )
    assert not reported_again.accepted and reported_again.refusal_code
    assert any("\u4e00" <= c <= "\u9fff" for c in reported_again.refusal_message or "")


def test_the_audit_head_goes_with_a_command_only_while_the_outbox_is_empty(
    counter: Counter, central_db: str
) -> None:
    person, card_id = _person_with_card(central_db)
    counter.sync.sign_in(CLERK, PASSWORDS[CLERK])
    record_change_contact(counter.store, person, "13700001111")  # queued, head h1, not sent yet
    sent: list[object] = []
    real_post = counter.sync.client.post

    def spy(path: str, body: object, **kw: object) -> object:
        sent.append(kw.get("audit_head"))
        return real_post(path, body, **kw)  # type: ignore[arg-type]

    counter.sync.client.post = spy  # type: ignore[method-assign,assignment]
    number = counter.store.next_acceptance_number("511102001", "01", counter.sync.clock.now().date())
    body = {"acceptance_number": number, "requester": "holder", "agent": None, "card": {"card_id": card_id}}
    assert counter.sync.central.send_command("pin_change", body, "flow-5:pin").accepted
    assert sent == [None]  # a queued message with an older head is still waiting
    assert counter.sync.relay.drain().acknowledged == 1
    number = counter.store.next_acceptance_number("511102001", "01", counter.sync.clock.now().date())
    assert counter.sync.central.send_command(
        "pin_change", {**body, "acceptance_number": number}, "flow-6:pin"
    ).accepted
    assert sent[-1] == counter.store.audit_head()
    assert counter.sync.anchor.check().intact
