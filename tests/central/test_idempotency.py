"""Idempotency-Key: replay once, a reused key with another body, a request still in flight, retention
(through the Clock port), refusals stored, keys scoped to the counter — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from central.models import IdempotencyKeyRow, TransactionRow
from central.services import persons as person_service
from counter_app.domain.card_lifecycle import SocialStatus
from tests.central.helpers import HR, HR2, Api, assert_problem, snapshot


def _transactions(api: Api) -> int:
    with api.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(TransactionRow)) or 0)


def _contact(api: Api, phone: str = "13912345678") -> dict[str, Any]:
    person = api.person()
    return {"person": person["ref"], "phone": phone, "acceptance_number": api.acceptance_number()}


def test_same_key_and_body_gives_the_stored_answer_once(api: Api) -> None:
    body = _contact(api)
    first = api.command("change_contact", body, key="msg-1")
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    again = api.command("change_contact", body, key="msg-1")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert _transactions(api) == 1  # one effect


def test_the_key_is_an_sf_string_quotes_or_not(api: Api) -> None:
    body = _contact(api)
    assert api.command("change_contact", body, key="msg-q").status_code == 200
    assert api.command("change_contact", body, key='"msg-q"').headers["Idempotent-Replayed"] == "true"


def test_same_key_different_body_is_key_reused_and_changes_nothing(api: Api) -> None:
    body = _contact(api)
    assert api.command("change_contact", body, key="msg-2").status_code == 200
    before = snapshot(api.db)
    other = api.command("change_contact", {**body, "phone": "13800001111"}, key="msg-2")
    assert_problem(other, 422, "idempotency/key-reused")
    assert snapshot(api.db) == before


def test_a_refusal_is_stored_and_replayed_too(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], SocialStatus.CANCELLED)
    body = {"card": {"card_id": card_id}, "kind": "temporary", "acceptance_number": api.acceptance_number()}
    first = api.command("report_loss", body, key="msg-3")
    problem = assert_problem(first, 409, "refused/final_state")
    again = api.command("report_loss", body, key="msg-3")
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json() == problem


def test_a_missing_or_malformed_key_is_400(api: Api) -> None:
    body = _contact(api)
    response = api.client.post("/commands/change_contact", json=body)
    assert_problem(response, 400, "idempotency/key-missing")
    assert _transactions(api) == 0
    bad = api.client.post(
        "/commands/change_contact", json=body, headers={"Idempotency-Key": "bad key with spaces"}
    )
    assert bad.status_code == 422  # the header's pattern (OpenAPI) refuses it


def test_keys_are_scoped_to_the_counter(api: Api) -> None:
    one, two = _contact(api), _contact(api)
    two["acceptance_number"] = api.acceptance_number(HR2)
    assert api.command("change_contact", one, key="same", at=HR).status_code == 200
    other_counter = api.command("change_contact", two, key="same", at=HR2)
    assert other_counter.status_code == 200 and "Idempotent-Replayed" not in other_counter.headers
    assert _transactions(api) == 2


def test_a_request_still_in_flight_is_409_and_its_answer_comes_later(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    entered = threading.Event()
    original = person_service.change_contact

    def slow(ctx: Any, body: Any) -> dict[str, Any]:
        entered.set()
        assert release.wait(30)
        return original(ctx, body)

    monkeypatch.setattr(person_service, "change_contact", slow)
    body = _contact(api)
    api.client.headers(HR)  # sign in before the threads start
    answers: list[Any] = []
    first = threading.Thread(target=lambda: answers.append(api.command("change_contact", body, key="msg-4")))
    first.start()
    assert entered.wait(30)
    if api.db.sqlite:
        # SQLite has one writer at a time: the duplicate waits for the first to finish, then replays.
        threading.Timer(0.5, release.set).start()
        second = api.command("change_contact", body, key="msg-4")
        assert second.status_code == 200 and second.headers["Idempotent-Replayed"] == "true"
    else:
        second = api.command("change_contact", body, key="msg-4")
        assert_problem(second, 409, "idempotency/in-flight")
        assert second.headers["Retry-After"] == "1"
        release.set()
    first.join(30)
    assert answers[0].status_code == 200
    retry = api.command("change_contact", body, key="msg-4")
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json() == answers[0].json()
    assert _transactions(api) == 1


def test_a_claim_past_its_lease_is_taken_over(api: Api) -> None:
    """A first request that died (worker killed) leaves an in-flight key; after the lease it runs anew."""
    body = _contact(api)
    api.client.headers(HR)
    with api.db.write() as session:  # the state a killed worker leaves behind
        from central.services.idempotency import IdempotentRequest

        request = IdempotentRequest.parse("msg-5", "POST", "/commands/change_contact", _json(body))
        session.add(
            IdempotencyKeyRow(
                scope=_scope(api),
                key="msg-5",
                method="POST",
                path="/commands/change_contact",
                fingerprint=request.fingerprint,
                state="in_flight",
                owner="dead",
                claimed_at=api.clock.now(),
                lease_until=api.clock.now() + timedelta(seconds=60),
                expires_at=api.clock.now() + timedelta(days=30),
            )
        )
    assert_problem(api.command("change_contact", body, key="msg-5"), 409, "idempotency/in-flight")
    api.clock.advance(seconds=61)
    assert api.command("change_contact", body, key="msg-5").status_code == 200
    assert _transactions(api) == 1


@pytest.mark.concurrent_writers
def test_a_request_that_outlived_its_claim_cannot_store_its_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request runs past its lease, a retry takes the key over and completes: the first
    one's refusal (its 受理编号 is on record now) is not stored over the retry's answer — 409."""
    release, entered = threading.Event(), threading.Event()
    original = person_service.change_contact
    calls = 0

    def slow_first(ctx: Any, body: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            assert release.wait(30)
        return original(ctx, body)

    monkeypatch.setattr(person_service, "change_contact", slow_first)
    body = _contact(api)
    api.client.headers(HR)
    answers: list[Any] = []
    first = threading.Thread(target=lambda: answers.append(api.command("change_contact", body, key="msg-7")))
    first.start()
    assert entered.wait(30)
    api.clock.advance(seconds=61)  # past the first one's lease
    retry = api.command("change_contact", body, key="msg-7")
    assert retry.status_code == 200
    release.set()
    first.join(30)
    assert_problem(answers[0], 409, "idempotency/in-flight")
    again = api.command("change_contact", body, key="msg-7")
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == retry.json()
    assert _transactions(api) == 1


def test_an_answer_and_its_effect_are_not_committed_once_the_claim_is_lost(api: Api) -> None:
    """The answer is stored in the effect's transaction; had another request
    taken the key over meanwhile, neither commits and the command is 409 in-flight."""
    from central.core.problems import Problem
    from central.models import FeedEntryRow, PersonRow
    from central.services.idempotency import Claim, IdempotentRequest

    person = api.person()
    store = api.client.app.state.idempotency
    db = api.client.app.state.db  # the server's own sessions
    now = api.clock.now()
    claimed = store.claim("counter:test", IdempotentRequest.parse("msg-8", "POST", "/x", b"{}"), now)
    assert isinstance(claimed, Claim)
    with api.db.write() as session:  # another request took the key over
        row = session.get(IdempotencyKeyRow, ("counter:test", "msg-8"))
        assert row is not None
        row.owner = "someone-else"
    with api.db.read() as session:
        feed_before = session.scalar(select(func.count()).select_from(FeedEntryRow))

    def change_and_answer() -> None:
        with db.write() as session:
            row_person = session.get(PersonRow, person["id"])
            assert row_person is not None
            row_person.phone = "13900000001"
            store.complete(session, claimed, 200, {"done": True}, now)

    with pytest.raises(Problem) as lost:
        change_and_answer()
    assert lost.value.kind == "idempotency/in-flight"
    with api.db.read() as session:
        assert session.get(PersonRow, person["id"]).phone != "13900000001"  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(FeedEntryRow)) == feed_before
        key = session.get(IdempotencyKeyRow, ("counter:test", "msg-8"))
        assert key is not None and (key.state, key.owner) == ("in_flight", "someone-else")


def test_retention_is_configuration_and_follows_the_clock(api: Api) -> None:
    settings = api.client.app.state.settings
    retention = timedelta(hours=settings.idempotency_retention_hours)
    body = _contact(api)
    assert api.command("change_contact", body, key="msg-6").status_code == 200
    api.clock.advance(seconds=retention.total_seconds() - 60)
    assert api.command("change_contact", body, key="msg-6").headers["Idempotent-Replayed"] == "true"
    api.clock.advance(seconds=120)
    # The key is forgotten: the same request runs again — and meets its own 受理编号 already on record.
    assert_problem(
        api.command("change_contact", body, key="msg-6"), 409, "refused/duplicate_acceptance_number"
    )
    api.clock.advance(seconds=retention.total_seconds() + 60)
    api.client.app.state.sweeper.housekeeping()
    with api.db.read() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyKeyRow)) == 0


def _json(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()


def _scope(api: Api) -> str:
    me = api.client.get("/auth/me").json()
    assert me["counter_number"] == "01"
    from central.models import CounterRow, OutletRow

    with api.db.read() as session:
        counter_id = session.scalar(
            select(CounterRow.id)
            .join(OutletRow, OutletRow.id == CounterRow.outlet_id)
            .where(OutletRow.code == HR[1], CounterRow.number == HR[2])
        )
    return f"counter:{counter_id}"


def test_audit_heads_are_anchored_per_counter(api: Api) -> None:
    head = lambda n, c: f"{n}:{c * 64}"  # noqa: E731
    one = api.command("change_contact", _contact(api), audit_head=head(3, "a"))
    assert one.headers["X-Audit-Head-Acknowledged"] == head(3, "a")
    two = api.command("change_contact", _contact(api), audit_head=head(5, "b"))
    assert two.headers["X-Audit-Head-Acknowledged"] == head(5, "b")
    stored = api.client.raw.get(
        "/counters/me/audit-head", headers={"X-Counter-Key": api.client.headers(HR)["X-Counter-Key"]}
    ).json()
    assert (stored["seq"], stored["entry_hash"]) == (5, "b" * 64)
    # A head that went backwards is not stored; the outlet's supervisors get a notice.
    back = api.command("change_contact", _contact(api), audit_head=head(4, "c"))
    assert back.status_code == 200 and back.headers["X-Audit-Head-Acknowledged"] == head(5, "b")
    notices = api.client.get("/notices", desk=("HR0109", "511102001", "01")).json()
    assert [n["kind"] for n in notices] == ["audit_chain_regressed"]
    assert_problem(api.command("change_contact", _contact(api), audit_head="5:xyz"), 422, "invalid/request")


def test_a_replay_tells_the_head_the_server_holds_now(api: Api) -> None:
    """The first answer may never reach the counter (killed before it kept the head): the replay
    carries the counter's acknowledged head, so its anchor catches up."""
    head = lambda n, c: f"{n}:{c * 64}"  # noqa: E731
    body = _contact(api)
    first = api.command("change_contact", body, key="lost-answer", audit_head=head(7, "d"))
    assert first.headers["X-Audit-Head-Acknowledged"] == head(7, "d")
    api.command("change_contact", _contact(api), audit_head=head(9, "e"))
    again = api.command("change_contact", body, key="lost-answer")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and again.headers["X-Audit-Head-Acknowledged"] == head(9, "e")


def test_retry_storm_of_one_message_from_threads(api: Api) -> None:
    """Many retries of one message at once: exactly one effect, every answer the same or in-flight."""
    body = _contact(api)
    api.client.headers(HR)
    answers: list[Any] = []
    lock = threading.Lock()

    def send() -> None:
        response = api.command("change_contact", body, key="storm")
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert {r.status_code for r in answers} <= {200, 409}
    ok = [r.json() for r in answers if r.status_code == 200]
    assert ok and all(a == ok[0] for a in ok)
    time.sleep(0.05)
    assert _transactions(api) == 1
