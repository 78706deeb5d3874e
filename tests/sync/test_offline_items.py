"""Offline through the real server: the twelve items attempted while the server is down behave as
DOMAIN §2 says (online-only refused, 非关键信息变更 queued, 信息查询 from the replica with its age,
密码修改 local); the queue drains in order when the server is back, and a refusal surfaces. Also the
online/offline callbacks, offline sign-in with the cached verifier, and its upgrade once online."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from central.core.db import Database
from central.models import CardRow
from counter_app.clock import SHANGHAI
from counter_app.domain.catalog import OfflineMode, load_catalog
from counter_app.emulator import TEST_CARDS
from counter_app.store import OutboxStatus
from counter_app.sync import Rejection, SignInRefused
from counter_app.workflows.base import StepKind
from counter_app.workflows.context import Context
from counter_app.workflows.registry import FLOWS, start
from tests.central.helpers import PASSWORDS
from tests.sync.helpers import (
    CLERK,
    COUNTY,
    Counter,
    flow_context,
    forget_audit_heads,
    open_counter,
    seeder,
    server_phone,
    server_transactions,
)
from tests.sync.server import CentralProcess
from tests.workflows.city import resident_id
from tests.workflows.helpers import HOLDER, World, drive, until

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
CARD = "muchuan_v3"
STRANGER_ID = resident_id("511102", date(1970, 2, 2), "033")  # valid, and unknown to the server


@dataclass
class Desk:
    counter: Counter
    world: World
    ctx: Context
    holder: dict[str, Any]


def _seed_holder(central_db: str) -> dict[str, Any]:
    """The holder of the emulator card, in the county, with that very card and a payment."""
    from counter_app.domain.card_lifecycle import SocialStatus
    from tests.sync.helpers import add_payment

    chip = TEST_CARDS[CARD]
    api, db = seeder(central_db)
    holder = api.person(
        id_number=chip.social_security_number,
        name=chip.holder_name,
        sex=chip.sex,
        birth_date=chip.birth_date,
        insured_region=COUNTY,
    )
    card_id = api.card(holder["id"], SocialStatus.ACTIVE)
    with db.write() as session:
        session.execute(
            sa.update(CardRow)
            .where(CardRow.id == card_id)
            .values(card_number=chip.card_number, card_identifier=chip.card_id)
        )
    add_payment(db, holder, "202605", 8800)
    db.dispose()
    return holder


@pytest.fixture(scope="module")
def holder(central_db: str) -> dict[str, Any]:
    return _seed_holder(central_db)


@pytest.fixture
def desk(central: CentralProcess, central_db: str, holder: dict[str, Any], tmp_path: Path) -> Iterator[Desk]:
    db = Database(central_db)
    forget_audit_heads(db)
    db.dispose()
    counter = open_counter(central.url, tmp_path / "counter")
    signed = counter.sync.sign_in(CLERK, PASSWORDS[CLERK])
    assert signed.online
    counter.sync.puller.pull()
    world = World()
    world.insert(CARD)
    ctx = flow_context(counter, signed, world)
    assert not ctx.offline
    yield Desk(counter, world, ctx, holder)
    counter.close()
    if not central.running:
        central.start()


def _go_offline(desk: Desk, central: CentralProcess) -> None:
    central.kill()
    desk.counter.sync.worker.run_once()  # the probe fails
    assert desk.counter.sync.connectivity.offline and desk.ctx.offline


def _change_contact(desk: Desk, person: dict[str, Any], phone: str, name: str | None = None) -> str:
    contact = {"phone": phone, **({"name": name} if name else {})}
    done = drive(
        start("change_contact", desk.ctx),
        {
            "identify": {"id_type": "resident_id", "id_number": person["id_number"]},
            "presenter": HOLDER,
            "contact": contact,
        },
    )
    assert done.kind is StepKind.DONE and done.outcome is not None and done.outcome.queued, done.refusal
    assert done.outcome.result == "已受理，待上传确认"
    return done.outcome.acceptance_number


def test_all_twelve_items_offline_then_the_queue_drains_in_order(
    desk: Desk, central: CentralProcess, central_db: str
) -> None:
    sync = desk.counter.sync
    seen: list[bool] = []
    sync.on_online(lambda: seen.append(True))
    sync.on_offline(lambda reason: seen.append(False))
    rejections: list[Rejection] = []
    sync.on_rejected(rejections.append)
    _go_offline(desk, central)
    catalog = load_catalog()
    modes = {item.code: item.offline.value for item in catalog.items}
    assert set(modes) == set(FLOWS) and len(modes) == 12

    for code, mode in modes.items():
        if mode is OfflineMode.ONLINE_ONLY:
            flow = start(code, desk.ctx)
            assert flow.step.kind is StepKind.REFUSED, code
            assert flow.step.refusal is not None and flow.step.refusal.code == "offline_not_allowed"
    menu = {a.item_code: a for a in sync.availability(catalog)}
    assert {c for c, a in menu.items() if not a.allowed} == {
        c for c, m in modes.items() if m is OfflineMode.ONLINE_ONLY
    }

    # queued: 非关键信息变更, twice for the holder (order matters) and once for someone the server does not know
    first = _change_contact(desk, desk.holder, "13512340001")
    second = _change_contact(desk, desk.holder, "13512340002")
    unknown = _change_contact(desk, {"id_number": STRANGER_ID}, "13512340003", name="离线客")
    assert desk.world.renderer.forms[-1].offline  # printed 已受理，待上传确认

    # replica read: 信息查询 with its age and the payments the replica holds
    flow = start("query", desk.ctx)
    step = until(
        flow,
        "result",
        {
            "read_card": {"choice": "absent"},
            "identify": {"id_type": "resident_id", "id_number": desk.holder["id_number"]},
            "presenter": HOLDER,
        },
    )
    rows = dict(step.display)
    assert rows["数据来源"].startswith("本地数据副本（数据截至 ")
    assert any(k.startswith("补贴 202605") and v.startswith("88.00 元") for k, v in rows.items()), rows
    assert drive(flow).kind is StepKind.DONE

    # on the card: 密码修改 (the PIN stays on the card and pad; its 业务流水 waits in the queue)
    desk.world.queued_pad.push(["147258", "852741"])
    done = drive(start("pin_change", desk.ctx))
    assert done.kind is StepKind.DONE and done.outcome is not None and done.outcome.queued
    assert desk.world.cards[CARD].pin_matches("852741")
    pin_changed = done.outcome.acceptance_number

    store = desk.counter.store
    assert [m.acceptance_number for m in store.outbox.messages(OutboxStatus.PENDING)] == [
        first,
        second,
        unknown,
        pin_changed,
    ]

    central.start()
    sync.worker.run_once()  # probe → online → drain → pull
    assert not desk.ctx.offline and seen == [False, True]
    assert store.outbox.count(OutboxStatus.PENDING, OutboxStatus.SENT) == 0
    db = Database(central_db)
    try:
        assert server_transactions(db, [first, second, unknown, pin_changed]) == {
            first: 1,
            second: 1,
            pin_changed: 1,
        }
        assert server_phone(db, desk.holder["id"]) == "13512340002"  # sent in order
    finally:
        db.dispose()
    [rejection] = rejections
    assert rejection.acceptance_number == unknown and rejection.code == "unknown_person"
    assert any("\u4e00" <= c <= "\u9fff" for c in rejection.message)  # the server's Chinese message
    assert sync.rejections() == [rejection]
    status = sync.status()
    assert status.online and status.rejected == 1 and status.pending == 0 and "中心拒绝 1 笔" in status.text
    assert status.audit_intact is True


def test_offline_sign_in_with_the_cached_verifier_then_online_again(
    desk: Desk, central: CentralProcess, central_db: str
) -> None:
    sync = desk.counter.sync
    sync.sign_out()
    _go_offline(desk, central)
    with pytest.raises(SignInRefused) as wrong:
        sync.sign_in(CLERK, "not-the-password")
    assert wrong.value.code == "invalid_credentials"
    with pytest.raises(SignInRefused) as never:
        sync.sign_in("HR0102", PASSWORDS["HR0102"])  # never signed in online here
    assert never.value.code == "offline_sign_in_unavailable"
    signed = sync.sign_in(CLERK, PASSWORDS[CLERK])
    assert not signed.online and "离线登录" in signed.message
    status = sync.status()
    assert status.operator == CLERK and not status.session_online
    number = _change_contact(desk, desk.holder, "13512349999")
    central.start()
    sync.worker.run_once()  # online: the offline session is signed in on the server, then the queue drains
    assert sync.status().session_online
    db = Database(central_db)
    try:
        assert server_transactions(db, [number]) == {number: 1}
    finally:
        db.dispose()
    assert sync.tokens.current is not None and sync.tokens.current.password is None  # wiped once online


def test_offline_sign_in_expires_and_locks(desk: Desk, central: CentralProcess) -> None:
    from datetime import timedelta

    from tests.sync.helpers import MovableClock

    sync = desk.counter.sync
    _go_offline(desk, central)
    for _ in range(sync.config.lockout_failures):
        with pytest.raises(SignInRefused):
            sync.sign_in(CLERK, "wrong")
    with pytest.raises(SignInRefused) as locked:
        sync.sign_in(CLERK, PASSWORDS[CLERK])
    assert locked.value.code == "offline_sign_in_locked"
    assert locked.value.locked_until is not None and locked.value.locked_until > datetime.now(SHANGHAI)
    clock = MovableClock()
    clock.offset = timedelta(hours=sync.config.offline_sign_in_hours + 1)
    sync.signin.verifiers._clock = clock
    with pytest.raises(SignInRefused) as expired:
        sync.sign_in(CLERK, PASSWORDS[CLERK])
    assert expired.value.code == "offline_sign_in_expired"


def test_a_server_gone_while_nobody_is_signed_in_shows_as_offline(
    desk: Desk, central: CentralProcess
) -> None:
    sync = desk.counter.sync
    sync.sign_out()
    assert sync.worker.run_once().online and sync.connectivity.online
    central.kill()
    report = sync.worker.run_once()
    assert not report.online and sync.connectivity.offline and not sync.status().online
    central.start()
    assert sync.worker.run_once().online and sync.connectivity.online


def test_an_account_the_server_locked_says_until_when(desk: Desk, central: CentralProcess) -> None:
    sync = desk.counter.sync
    operator = "HR0108"  # a supervisor no other test here signs in as
    for _ in range(5):  # CENTRAL_LOCKOUT_FAILURES
        with pytest.raises(SignInRefused):
            sync.sign_in(operator, "wrong")
    with pytest.raises(SignInRefused) as locked:
        sync.sign_in(operator, PASSWORDS[operator])
    assert locked.value.code == "account_locked"
    until = locked.value.locked_until
    assert until is not None and timedelta(minutes=14) < until - datetime.now(SHANGHAI) <= timedelta(
        minutes=15
    )
    assert f"{until:%H:%M}" in locked.value.message


def test_sign_out_ends_the_tokens_on_the_server_and_in_memory(desk: Desk, central: CentralProcess) -> None:
    import requests

    sync = desk.counter.sync
    session = sync.tokens.current
    assert session is not None and session.token is not None
    token = session.token.reveal()
    supervisor = sync.confirm("HR0109", PASSWORDS["HR0109"])
    assert desk.ctx.operators.find("HR0109") == supervisor
    sync.sign_out()
    assert sync.tokens.current is None and desk.ctx.operators.find("HR0109") is None
    assert not session.token.present and repr(session.token) == "Secret(<redacted>)"
    answer = requests.get(
        f"{central.url}/auth/me",
        headers={"Authorization": f"Bearer {token}", "X-Counter-Key": sync.credentials.counter_key()},
        timeout=5,
    )
    assert answer.status_code == 401


def test_a_password_changed_on_the_server_ends_the_offline_session(
    desk: Desk, central: CentralProcess, central_db: str
) -> None:
    from central.core.security import hash_password
    from central.models import OperatorRow
    from tests.central.conftest import TEST_KDF_N

    sync = desk.counter.sync
    clerk2 = "HR0102"
    assert sync.sign_in(clerk2, PASSWORDS[clerk2]).online  # leaves a verifier here
    sync.sign_out()
    _go_offline(desk, central)
    assert not sync.sign_in(clerk2, PASSWORDS[clerk2]).online
    db = Database(central_db)
    try:

        def set_password(password: str) -> None:
            with db.write() as session:
                session.execute(
                    sa.update(OperatorRow)
                    .where(OperatorRow.number == clerk2)
                    .values(password_hash=hash_password(password, n=TEST_KDF_N))
                )

        set_password("changed-at-the-centre")
        try:
            central.start()
            sync.worker.run_once()
            status = sync.status()
            assert status.online and not status.session_online and "请重新登录" in status.sign_in_problem
            assert sync.signin.verifiers.record(clerk2) is None  # the old password no longer works offline
        finally:
            set_password(PASSWORDS[clerk2])
    finally:
        db.dispose()
