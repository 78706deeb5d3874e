"""信息查询: card and server online; the replica offline, marked with its age; every outlet may query."""

from __future__ import annotations

from datetime import timedelta

import pytest

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.workflows.base import InputInvalid, StepKind
from counter_app.workflows.ports import CentralUnavailable
from counter_app.workflows.query import QueryFlow
from tests.workflows.helpers import HOLDER, HR, ICBC, World, begin, by_id, card_of, drive, holder_of, until


def test_query_with_the_card_online_shows_chip_record_and_subsidies() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    world.city.payments[str(person["id"])] = [
        {
            "period": "202610",
            "item_name": "耕地地力保护补贴",
            "amount_fen": 12345,
            "status": "失败",
            "failure_reason": "卡挂失",
        }
    ]
    world.insert("card_a")
    flow = begin(world, "query", ICBC)  # another bank's outlet may query
    step = until(flow, "result", {"presenter": HOLDER})
    rows = dict(step.display)
    assert rows["芯片：卡号"] == "S11000018" and rows["社保卡 S11000018"] == "正常，农业银行"
    assert rows["补贴 202610 耕地地力保护补贴"] == "123.45 元，失败（卡挂失）"
    assert rows["数据来源"] == "卡片芯片（现场读取）；社保卡中心系统（实时）"
    done = drive(flow)
    assert done.kind is StepKind.DONE and world.city.commands == [] and world.written() == (1, 1, 0)
    assert (
        world.renderer.forms[0].item_details["scope"]
        == "持卡人信息、卡片状态、芯片信息、补贴发放记录（2025年12月至2026年11月）"
    )


def test_query_offline_from_the_replica_marks_the_age_of_the_data() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    world.replica.take()
    world.clock.advance(timedelta(hours=5))
    flow = begin(world, "query", HR, offline=True)
    step = until(
        flow, "result", {"read_card": {"choice": "absent"}, "identify": by_id(person), "presenter": HOLDER}
    )
    assert dict(step.display)["数据来源"] == "本地数据副本（数据截至 2026-11-27 09:00）"
    assert drive(flow).kind is StepKind.DONE
    assert world.renderer.forms[0].item_details["data_source"] == "本地数据副本（数据截至 2026-11-27 09:00）"


def test_query_offline_with_the_card_but_not_in_the_replica_reads_the_chip() -> None:
    world = World()
    world.insert("card_a")
    flow = begin(world, "query", HR, offline=True)
    step = until(flow, "result", {"presenter": HOLDER})
    assert dict(step.display)["数据来源"] == "卡片芯片（现场读取）"


def test_query_offline_of_someone_the_replica_does_not_know_is_refused() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    done = drive(
        begin(world, "query", HR, offline=True),
        {"read_card": {"choice": "absent"}, "identify": by_id(person)},
    )
    assert done.refusal is not None and done.refusal.code == "not_in_replica"
    assert world.written() == (0, 0, 0)


# --- 补贴发放: the last 12 months first, another 发放期间 on request -----------------------------------


def _with_two_payments(world: World) -> dict[str, object]:
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    world.city.payments[str(person["id"])] = [
        {"period": "202610", "item_name": "耕地地力保护补贴", "amount_fen": 12345, "status": "已发"},
        {"period": "202403", "item_name": "高龄津贴", "amount_fen": 10000, "status": "已发"},
    ]
    return person


def test_query_loads_the_last_12_months_and_another_period_on_request() -> None:
    world = World()
    person = _with_two_payments(world)
    flow = begin(world, "query", HR)
    step = until(
        flow, "result", {"read_card": {"choice": "absent"}, "identify": by_id(person), "presenter": HOLDER}
    )
    shown = [label for label, _ in step.display if label.startswith("补贴 ")]
    assert shown == ["补贴 202610 耕地地力保护补贴"]  # 202403 is older than 12 months
    assert flow.data["subsidy_period"] == ["202512", "202611"]
    assert drive(flow).kind is StepKind.DONE
    written = world.written()

    assert isinstance(flow, QueryFlow)
    rows = flow.reload_subsidies("202401", "202412")
    assert [r["period"] for r in rows] == ["202403"]
    assert flow.data["subsidy_period"] == ["202401", "202412"] and flow.data["subsidies"] == rows
    # the recorded query is not recorded again; the look at another period is chained in the audit
    transactions, audit_entries, outbox = written
    assert world.written() == (transactions, audit_entries + 1, outbox) and world.city.commands == []
    number = flow.acceptance_number()
    assert world.memory.audit[-1] == {
        "acceptance_number": number,
        "event": "subsidy_query",
        "result": "再查询补贴发放 2024年01月至2024年12月，1 条",
        "operator": flow.ctx.operator.number,
    }

    flow.statement_printing("202401", "202412", 1)
    assert world.memory.audit[-1]["event"] == "subsidy_statement"
    assert world.memory.audit[-1]["result"] == "打印补贴发放明细 2024年01月至2024年12月，1 条"


def test_periods_looked_at_before_the_query_is_recorded_are_its_scope() -> None:
    world = World()
    person = _with_two_payments(world)
    flow = begin(world, "query", HR)
    until(flow, "result", {"read_card": {"choice": "absent"}, "identify": by_id(person), "presenter": HOLDER})
    assert isinstance(flow, QueryFlow)
    flow.reload_subsidies("202401", "202412")
    assert world.written() == (0, 0, 0)  # nothing recorded yet: the query's own entry will say it
    with pytest.raises(InputInvalid) as caught:
        flow.statement_printing("202401", "202412", 1)  # no 受理编号 to print it under yet
    assert caught.value.code == "not_recorded"
    assert drive(flow).kind is StepKind.DONE
    assert world.written() == (1, 1, 0)
    scope = world.renderer.forms[0].item_details["scope"]
    assert scope.endswith("补贴发放记录（2025年12月至2026年11月、2024年01月至2024年12月）")


def test_a_look_that_cannot_be_audited_is_not_shown() -> None:
    world = World()
    person = _with_two_payments(world)
    flow = begin(world, "query", HR)
    until(flow, "result", {"read_card": {"choice": "absent"}, "identify": by_id(person), "presenter": HOLDER})
    assert drive(flow).kind is StepKind.DONE
    assert isinstance(flow, QueryFlow)
    shown = list(flow.data["subsidies"])
    del world.memory.transactions[flow.acceptance_number()]  # the journal lost the query's record
    with pytest.raises(LookupError):
        flow.reload_subsidies("202401", "202412")
    assert flow.data["subsidies"] == shown and flow.data["subsidy_period"] == ["202512", "202611"]


@pytest.mark.parametrize(
    ("period_from", "period_to", "code"),
    [
        ("20241", "202412", "period_invalid"),
        ("202413", "202412", "period_invalid"),
        ("2024-1", "202412", "period_invalid"),
        ("202412", "202401", "period_order"),
        ("202601", "202612", "period_future"),
        ("199912", "202401", "period_too_early"),
    ],
)
def test_another_period_is_checked_and_the_payments_shown_stay(
    period_from: str, period_to: str, code: str
) -> None:
    world = World()
    person = _with_two_payments(world)
    flow = begin(world, "query", HR)
    until(flow, "result", {"read_card": {"choice": "absent"}, "identify": by_id(person), "presenter": HOLDER})
    before = (list(flow.data["subsidies"]), list(flow.data["subsidy_period"]))
    assert isinstance(flow, QueryFlow)
    with pytest.raises(InputInvalid) as caught:
        flow.reload_subsidies(period_from, period_to)
    assert caught.value.code == code and caught.value.message
    assert (flow.data["subsidies"], flow.data["subsidy_period"]) == before


def test_another_period_while_the_server_is_down_says_so_and_keeps_what_was_shown() -> None:
    world = World()
    person = _with_two_payments(world)
    flow = begin(world, "query", HR)
    until(flow, "result", {"read_card": {"choice": "absent"}, "identify": by_id(person), "presenter": HOLDER})
    shown = list(flow.data["subsidies"])
    world.city.down = True
    assert isinstance(flow, QueryFlow)
    with pytest.raises(CentralUnavailable):
        flow.reload_subsidies("202401", "202412")
    assert flow.data["subsidies"] == shown and flow.data["subsidy_period"] == ["202512", "202611"]


def test_no_payments_names_the_period_asked() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    flow = begin(world, "query", HR)
    step = until(
        flow, "result", {"read_card": {"choice": "absent"}, "identify": by_id(person), "presenter": HOLDER}
    )
    assert dict(step.display)["补贴发放"] == "2025年12月至2026年11月无发放记录"
