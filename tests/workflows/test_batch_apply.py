"""批量申领 from a unit's or school's applicant list: every row checked, nothing half-submitted,
one application and one 业务受理表 per applicant, and a crash mid-batch resumed with no row twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.workflows.base import StepKind
from counter_app.workflows.batch_list import ListUnreadable, read_applicant_list
from counter_app.workflows.registry import resume
from tests.workflows.city import resident_id
from tests.workflows.faults import Crash, CrashingJournal
from tests.workflows.helpers import AGENT_ID, HR, World, begin, drive, until
from tests.workflows.lists import HEADER, write_csv, write_xlsx, xlsx_bytes

TODAY = date(2026, 11, 27)
PUPIL_A = resident_id("511102", date(2012, 9, 1), "013")  # 男 (odd)
PUPIL_B = resident_id("511123", date(2013, 2, 14), "024")  # 女 (even)
PUPIL_C = resident_id("511181", date(2012, 12, 30), "035")


def school_rows() -> list[list[Any]]:
    return [
        list(HEADER),
        [1, "王小明", PUPIL_A, "男", "汉族", "2012-09-01", "13812345678"],
        [2, "阿苏阿呷", PUPIL_B, "女", "彝族", "2013-02-14", ""],
        [3, "李思远", PUPIL_C, "男", "01", "", ""],
    ]


def unit_answer(path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "unit_name": "乐山市实验小学",
        "letter_number": "乐实小〔2026〕12号",
        "bank": "农业银行",
        "agent_name": "周老师",
        "agent_id_type": "resident_id",
        "agent_id_number": AGENT_ID,
        "agent_phone": "13900001111",
        "list_file": str(path),
        **extra,
    }


# --- the list ---------------------------------------------------------------------------------------


def test_a_csv_list_in_gbk_and_an_excel_list_read_the_same() -> None:
    rows = school_rows()
    from_csv = read_applicant_list(
        "\r\n".join(",".join(str(c) for c in r) for r in rows).encode("gbk"), "名单.csv", today=TODAY
    )
    from_xlsx = read_applicant_list(xlsx_bytes(rows), "名单.xlsx", today=TODAY)
    assert from_csv.problems == from_xlsx.problems == ()
    assert from_csv.applicants == from_xlsx.applicants
    first, second, third = from_csv.applicants
    assert (first.line, first.name, first.sex, first.ethnicity, first.birth_date) == (
        2,
        "王小明",
        "1",
        "01",
        "2012-09-01",
    )
    assert second.ethnicity == "07" and second.sex == "2"
    assert third.birth_date == "2012-12-30" and third.sex == "1"  # read from the 公民身份号码


def test_every_faulty_row_is_named_with_what_is_wrong() -> None:
    bad_check = PUPIL_A[:-1] + ("0" if PUPIL_A[-1] != "0" else "1")
    rows: list[list[Any]] = [
        list(HEADER),
        [1, "王小明", bad_check, "男", "汉族", "", ""],
        [2, "阿苏阿呷", PUPIL_B, "男", "彝族", "", ""],
        [3, "", PUPIL_C, "", "", "", ""],
        [4, "赵六", 5.11102201209e17, "", "", "", ""],  # Excel turned the ID into a number
        [5, "钱七", PUPIL_C, "", "火星族", "", "12345"],
        [6, "孙八", PUPIL_B, "", "", "", ""],
    ]
    found = read_applicant_list(xlsx_bytes(rows), "名单.xlsx", today=TODAY)
    text = "\n".join(str(p) for p in found.problems)
    assert "第 2 行（王小明）：证件号码有误" in text and "校验" in text
    assert "第 3 行（阿苏阿呷）：性别与公民身份号码不符" in text
    assert "第 4 行：姓名为空" in text
    assert "第 5 行（赵六）：证件号码被 Excel 存成了数字" in text
    assert "第 6 行（钱七）：民族“火星族”无法识别" in text and "联系电话“12345”格式有误" in text
    assert "第 7 行（孙八）：与第 3 行证件号码相同" in text
    assert found.applicants == ()
    assert "应为" not in text  # a failed check never suggests a "correct" check character


def test_a_list_without_the_needed_columns_or_in_the_old_excel_format_is_refused() -> None:
    with pytest.raises(ListUnreadable, match=r"证件号码"):
        read_applicant_list("名字,号码\r\n张三,1\r\n".encode(), "名单.csv", today=TODAY)
    with pytest.raises(ListUnreadable, match=r"\.xls"):
        read_applicant_list(b"\xd0\xcf\x11\xe0", "名单.xls", today=TODAY)


# --- the flow ----------------------------------------------------------------------------------------


def test_a_school_applies_for_its_pupils_one_form_each(tmp_path: Path) -> None:
    world = World()
    known = world.city.add_person("王小明", PUPIL_A, sex="1", birth_date=date(2012, 9, 1))
    path = write_xlsx(tmp_path / "实验小学申请人名单.xlsx", school_rows())
    flow = begin(world, "apply", HR, variant="batch")
    step = until(flow, "materials", {"batch": unit_answer(path)})
    assert [m.text for m in step.materials] == [
        "单位介绍信",
        "申请人名单",
        "申请人身份证等有效身份证件复印件",
    ]
    step = until(flow, "confirm")
    shown = dict(step.display)
    assert shown["申请人名单"] == "实验小学申请人名单.xlsx，共 3 人"
    assert shown["第 3 行"].endswith("（新参保）") and not shown["第 2 行"].endswith("（新参保）")
    done = drive(flow)
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert done.outcome.result.startswith("已受理批量申领 3 人（受理编号 ")
    assert world.city.count("apply") == 3
    for _command, payload in world.city.commands:
        assert payload["batch"]["unit_name"] == "乐山市实验小学"
        assert payload["agent"]["relation"] == "单位经办人" and payload["requester"] == "other"
    assert [c["status"] for c in world.city.person_cards(known["id"])] == ["applied"]
    new = next(p for p in world.city.people_rows.values() if p["id_number"] == PUPIL_B)
    assert new["name"] == "阿苏阿呷" and new["ethnicity"] == "07"
    assert world.written() == (3, 3, 0)
    numbers = {p["acceptance_number"] for _, p in world.city.commands}
    assert numbers == set(world.memory.transactions) and len(numbers) == 3
    forms = world.renderer.forms
    assert [f.holder.name for f in forms] == ["王小明", "阿苏阿呷", "李思远"]
    assert all(f.item_details["application_kind"] == "单位批量申领" for f in forms)
    assert (
        forms[1]
        .item_details["batch_unit"]
        .startswith("乐山市实验小学（介绍信 乐实小〔2026〕12号），名单第 3 行")
    )
    assert forms[0].agent is not None and forms[0].agent.name == "周老师"
    assert len(world.printer.jobs) == 3


def test_a_list_with_a_row_the_city_refuses_submits_nobody(tmp_path: Path) -> None:
    world = World()
    holder = world.city.add_person("王小明", PUPIL_A, sex="1", birth_date=date(2012, 9, 1))
    world.city.add_card(holder, SocialStatus.ACTIVE, card_number="S11000018")
    world.city.add_person("阿苏阿呷嫫", PUPIL_B, sex="2", birth_date=date(2013, 2, 14))
    rows = school_rows()
    rows[3][4] = ""  # 李思远 is new and has no 民族
    path = write_csv(tmp_path / "名单.csv", rows, encoding="gbk")
    flow = begin(world, "apply", HR, variant="batch")
    step = until(flow, "batch")
    step = flow.submit(unit_answer(path))
    assert step.key == "batch" and step.problem is not None
    message = step.problem.message
    assert message.startswith("名单中有 3 行不符合要求，本批申领未提交任何人")
    assert "第 2 行（王小明）：" in message and "已" in message
    assert "第 3 行（阿苏阿呷）：姓名与系统登记的“阿苏阿呷嫫”不一致" in message
    assert "第 4 行（李思远）：系统中尚无此人（新参保），名单须填写民族" in message
    assert world.city.commands == [] and world.written() == (0, 0, 0)

    fixed = school_rows()[:1] + school_rows()[3:]
    fixed[1][4] = "汉族"
    step = flow.submit(unit_answer(write_csv(tmp_path / "改正后名单.csv", fixed)))
    assert step.key == "materials" and step.problem is None


def test_a_crash_in_the_middle_of_a_batch_resumes_with_no_row_applied_twice(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "名单.csv", school_rows())
    answers = {"batch": unit_answer(path)}
    for crash_after in range(1, 40):
        world = World()
        journal = CrashingJournal(world.journal, crash_after=crash_after)
        try:
            done = drive(
                begin(world, "apply", HR, variant="batch", journal=journal, flow_id="batch-flow"), answers
            )
        except Crash:
            again = resume("batch-flow", world.ctx(HR))
            assert again is not None
            done = drive(again, answers)
        assert done.kind is StepKind.DONE, (crash_after, done)
        assert world.city.count("apply") == 3, crash_after
        assert len(world.memory.transactions) == 3, crash_after
        if journal.saves < crash_after:  # the clean run ended before this save: all cases covered
            break
    else:
        raise AssertionError("more saves than expected")
