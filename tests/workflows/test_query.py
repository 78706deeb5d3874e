"""信息查询: card and server online; the replica offline, marked with its age; every outlet may query."""

from __future__ import annotations

from datetime import timedelta

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.workflows.base import StepKind
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
    assert world.renderer.forms[0].item_details["scope"] == "持卡人信息、卡片状态、芯片信息、补贴发放记录"


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
