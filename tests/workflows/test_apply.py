"""申领: application, batch, instant issuance on the emulator's 预制卡, 领卡; and their refusals."""

from __future__ import annotations

from datetime import date

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.emulator import TEST_CARDS
from counter_app.workflows.base import StepKind
from tests.workflows.city import resident_id
from tests.workflows.helpers import (
    ABC_PLAIN,
    ABC_QUICK,
    HOLDER,
    HR,
    MINOR_ID,
    World,
    agent,
    begin,
    by_id,
    card_of,
    drive,
    holder_of,
    until,
)


def test_standard_application_by_the_holder_at_an_hr_window() -> None:
    world = World()
    person = holder_of("prefab_jingyan", world.city)
    done = drive(
        begin(world, "apply", HR, variant="standard"),
        {"identify": by_id(person), "presenter": HOLDER, "application": {"bank": "农业银行"}},
    )
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert done.outcome.result == "已受理，制卡完成后领卡"
    assert world.city.count("apply") == 1 and world.written() == (1, 1, 0)
    assert [c["status"] for c in world.city.person_cards(person["id"])] == ["applied"]
    form = world.renderer.forms[0]
    assert form.variant == "standard" and form.item_details["application_kind"] == "个人申领"
    assert form.item_details["pickup_outlet"] == HR.name


def test_a_person_the_city_does_not_know_is_registered_with_the_application() -> None:
    world = World()
    new_id = resident_id("511181", date(1999, 9, 9), "024")
    flow = begin(world, "apply", HR, variant="standard")
    step = until(flow, "new_person", {"identify": {"id_type": "resident_id", "id_number": new_id}})
    assert step.values["birth_date"] == "1999-09-09" and step.values["sex"] == "2"
    done = drive(
        flow,
        {
            "new_person": {**step.values, "name": "峨眉新人", "ethnicity": "01"},
            "presenter": HOLDER,
            "application": {"bank": "农业银行"},
        },
    )
    assert done.kind is StepKind.DONE
    registered = world.city.find_person("resident_id", new_id)
    assert registered is not None and registered["name"] == "峨眉新人" and len(registered["cards"]) == 1


def test_one_person_one_card_refuses_a_second_application_and_writes_nothing() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    done = drive(begin(world, "apply", HR, variant="standard"), {"identify": by_id(person)})
    assert done.refusal is not None and done.refusal.code == "has_card"
    assert world.city.commands == [] and world.written() == (0, 0, 0) and world.memory.checkpoints == {}


def test_batch_application_by_a_school_needs_its_letter_and_list() -> None:
    world = World()
    pupil = world.city.add_person(
        "李小明", resident_id("511102", date(2010, 3, 3), "013"), sex="1", birth_date=date(2010, 3, 3)
    )
    batch = agent(
        "实验中学王老师",
        relation="单位经办人",
        requester="unit",
        documents=["unit_letter", "applicant_list"],
        unit_name="乐山市实验中学",
        letter_number="乐实中〔2026〕12号",
    )
    refused = drive(
        begin(world, "apply", HR, variant="standard"), {"identify": by_id(pupil), "presenter": batch}
    )
    assert refused.refusal is not None and refused.refusal.code == "batch_documents_missing"
    assert world.city.commands == [] and world.written() == (0, 0, 0)

    batch["documents"] = ["unit_letter", "applicant_list", "id_copies"]
    done = drive(
        begin(world, "apply", HR, variant="standard"),
        {"identify": by_id(pupil), "presenter": batch, "application": {"bank": "农业银行"}},
    )
    assert done.kind is StepKind.DONE
    assert world.city.commands[0][1]["batch"] == {
        "unit_name": "乐山市实验中学",
        "letter_number": "乐实中〔2026〕12号",
    }
    form = world.renderer.forms[0]
    assert form.item_details["application_kind"] == "单位批量申领"
    assert form.item_details["batch_unit"].startswith("乐山市实验中学")
    assert form.agent is not None and "单位介绍信" in form.agent.documents


def test_a_minors_application_by_an_agent_needs_guardianship_proof() -> None:
    world = World()
    minor = world.city.add_person("张小宝", MINOR_ID, sex="1", birth_date=date(2014, 5, 1))
    answers = {"identify": by_id(minor), "presenter": agent("张大山"), "application": {"bank": "农业银行"}}
    refused = drive(begin(world, "apply", HR, variant="standard"), answers)
    assert refused.refusal is not None and refused.refusal.code == "guardianship_proof_missing"
    assert world.city.commands == [] and world.written() == (0, 0, 0)

    answers["presenter"] = agent(
        "张大山", requester="guardian", documents=["agent_id", "principal_id", "guardianship"]
    )
    flow = begin(world, "apply", HR, variant="standard")
    materials = until(flow, "materials", answers)
    assert all(m.required for m in materials.materials)  # under 16: the guardian line applies too
    assert drive(flow, answers).kind is StepKind.DONE
    assert world.city.commands[0][1]["requester"] == "guardian"


def test_instant_issuance_writes_the_prefab_and_activates_with_the_new_pin() -> None:
    world = World()
    person = holder_of("prefab_jingyan", world.city)
    prefab = world.insert("prefab_jingyan")
    world.queued_pad.push(["246810"])
    done = drive(
        begin(world, "apply", ABC_QUICK, variant="instant"), {"identify": by_id(person), "presenter": HOLDER}
    )
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert done.outcome.result == "已当场制卡，已激活"
    info = world.read()
    new = world.city.card_of(info.card_number)
    assert new["status"] == "active" and new["card_identifier"] == TEST_CARDS["prefab_jingyan"].card_id
    assert (info.name, info.ssn, info.birthplace) == ("赵雨涵", person["id_number"], "511124")
    assert prefab.pin_matches("246810") and not prefab.pin_matches("123456")
    assert [c for c, _ in world.city.commands] == ["apply", "instant_issue", "activate"]
    assert world.renderer.forms[0].item_details["new_card_number"] == info.card_number


def test_instant_issuance_needs_the_equipment() -> None:
    world = World()
    done = begin(world, "apply", ABC_PLAIN, variant="instant").step
    assert done.refusal is not None and done.refusal.code == "capability_missing"
    assert world.memory.checkpoints == {}


def test_a_name_that_cannot_go_on_the_chip_refuses_instant_issuance_and_leaves_the_prefab_blank() -> None:
    world = World()
    person = holder_of("rare_char", world.city)
    world.insert("rare_char")
    done = drive(
        begin(world, "apply", ABC_QUICK, variant="instant"), {"identify": by_id(person), "presenter": HOLDER}
    )
    assert done.refusal is not None and done.refusal.code == "name_not_writable"
    assert "𠈌" in done.refusal.message
    assert world.city.commands == [] and world.written() == (0, 0, 0)
    assert world.read().is_blank
    ok = drive(
        begin(world, "apply", ABC_QUICK, variant="standard"), {"identify": by_id(person), "presenter": HOLDER}
    )
    assert ok.kind is StepKind.DONE  # everything else is allowed


def test_a_prefab_already_known_falls_back_to_a_standard_application() -> None:
    world = World()
    person = holder_of("prefab_jingyan", world.city)
    other = world.city.add_person(
        "占用者", resident_id("511102", date(1980, 1, 1), "017"), sex="1", birth_date=date(1980, 1, 1)
    )
    world.city.add_card(
        other,
        SocialStatus.ACTIVE,
        card_number="S11999999",
        card_identifier=TEST_CARDS["prefab_jingyan"].card_id,
    )
    world.insert("prefab_jingyan")
    done = drive(
        begin(world, "apply", ABC_QUICK, variant="instant"), {"identify": by_id(person), "presenter": HOLDER}
    )
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert done.outcome.result == "已受理，制卡完成后领卡"
    assert any("未能当场制卡" in n for n in done.outcome.notices)
    assert world.read().is_blank
    assert world.renderer.forms[0].variant == "standard"


def test_hand_over_of_a_card_made_in_batch_then_activation() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card = card_of("card_a", person, world.city, SocialStatus.READY_FOR_PICKUP)
    emulated = world.insert("card_a")
    world.queued_pad.push(["135246"])
    done = drive(
        begin(world, "apply", HR, variant="hand_over"), {"identify": by_id(person), "presenter": HOLDER}
    )
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert done.outcome.result == "已领卡，已激活"
    assert world.city.card_rows[card["id"]]["status"] == "active"
    assert emulated.pin_matches("135246")


def test_hand_over_refuses_a_card_not_yet_made_and_a_wrong_card_in_the_reader() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.IN_PRODUCTION)
    done = drive(begin(world, "apply", HR, variant="hand_over"), {"identify": by_id(person)})
    assert done.refusal is not None and done.refusal.code == "card_not_ready"

    other = holder_of("muchuan_v3", world.city)
    card_of("muchuan_v3", other, world.city, SocialStatus.READY_FOR_PICKUP)
    world.insert("card_a")  # not 陈晓燕's card
    flow = begin(world, "apply", HR, variant="hand_over")
    step = until(flow, "hand_over", {"identify": by_id(other), "presenter": HOLDER})
    step = flow.submit()
    assert step.problem is not None and step.problem.code == "card_mismatch"
    assert world.city.count("hand_over") == 0
