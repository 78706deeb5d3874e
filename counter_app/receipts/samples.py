"""样张 — made-up forms and statements for every item: training demos, the review tool, tests, bench.

All persons, numbers and codes are fictitious (the ID numbers carry valid check characters so the
identity rules accept them; the verification codes are placeholders, not HMACs of any real key).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from counter_app.domain import receipt_code
from counter_app.workflows.ports import (
    AcceptanceForm,
    FieldChange,
    FormAgent,
    FormPerson,
    MaterialCheck,
    SubsidyPayment,
    SubsidyStatement,
)

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
#: The receipt key of the samples (the known-answer key of receipt_code's tests): never a real one.
SAMPLE_KEY: Final = bytes(range(32))
RARE_NAME: Final = "王䶮𠈌堃喆燊"  # the five test characters of the issue, as one (fictitious) name
ACCEPTED_AT: Final = datetime(2026, 11, 27, 10, 32, tzinfo=SHANGHAI)

HOLDER: Final = FormPerson(
    name=RARE_NAME,
    id_type="居民身份证",
    id_number="511102199003071235",
    sex="男",
    card_number="A51100123",
    phone="13812345678",
)
AGENT: Final = FormAgent(
    name="李秀英",
    id_type="居民身份证",
    id_number="511102196505120021",
    phone="0833-2468135",
    relation="母亲",
    documents=("代办人居民身份证原件", "持卡人居民身份证原件"),
)

#: item code → (variant, item_details, changes) for a representative transaction of each item.
ITEM_SAMPLES: Final[dict[str, tuple[str, dict[str, str], tuple[FieldChange, ...]]]] = {
    "apply": (
        "instant",
        {
            "application_kind": "个人申领",
            "bank": "中国农业银行乐山分行",
            "pickup_outlet": "农行乐山市中区支行营业部",
            "new_card_number": "A51100124",
        },
        (),
    ),
    "activate": ("social", {"pin_set": "持卡人已在密码键盘设置新密码"}, ()),
    "change_key_info": (
        "",
        {"follow_up": "已引导办理换卡（卡面信息变更）"},
        (
            FieldChange("姓名", "王岩", RARE_NAME),
            FieldChange("证件号码", "511102199003070005", "511102199003071235", "id"),
        ),
    ),
    "change_contact": (
        "",
        {},
        (
            FieldChange("联系电话", "13900001111", "13812345678", "phone"),
            FieldChange("通讯地址", "乐山市市中区嘉定北路1号", "乐山市市中区嘉州大道88号3栋2单元501"),
        ),
    ),
    "query": (
        "",
        {"scope": "卡片状态、补贴发放记录（2025年01月至2026年10月）", "data_source": "中心系统实时查询"},
        (),
    ),
    "pin_change": ("", {"pin_entry": "持卡人本人在密码键盘输入原密码和新密码"}, ()),
    "pin_reset": ("unblock", {"requester": "持卡人本人", "supervisor": "1002"}, ()),
    "report_loss": ("temporary", {"loss_until": "2026年12月04日 10:32", "reason": "遗失"}, ()),
    "cancel_loss": ("", {"loss_kind": "临时挂失", "loss_date": "2026年11月25日"}, ()),
    "replace": (
        "instant",
        {
            "replace_reason": "补卡（遗失）",
            "old_card_number": "A51100123",
            "new_card_number": "A51100125",
            "bank": "中国农业银行乐山分行",
        },
        (),
    ),
    "transfer_region": (
        "",
        {
            "from_region": "成都市",
            "to_region": "乐山市市中区",
            "transfer_certificate": "ZYJX-5101-2026-000731",
        },
        (),
    ),
    "cancel_card": (
        "",
        {"cancel_reason": "重复持卡", "supervisor": "1002", "bank_notice": "金融账户由发卡银行另行办理销户"},
        (),
    ),
}


def sample_form(item_code: str = "report_loss", **overrides: object) -> AcceptanceForm:
    """A complete, fictitious form of one item (with an agent, so every field is filled)."""
    variant, details, changes = ITEM_SAMPLES[item_code]
    number = receipt_code.format_acceptance_number(
        "511102001", "03", ACCEPTED_AT.date(), list(ITEM_SAMPLES).index(item_code) + 1
    )
    form = AcceptanceForm(
        acceptance_number=number,
        verification_code=receipt_code.verification_code(SAMPLE_KEY, number),
        item_code=item_code,
        variant=variant,
        holder=HOLDER,
        agent=AGENT,
        accepted_at=ACCEPTED_AT,
        outlet_code="511102001",
        outlet_name="乐山市人力资源和社会保障中心社会保障卡服务窗口",
        counter_number="03",
        operator_number="1001",
        operator_name="张敏",
        result="已受理" if item_code == "apply" else "办结",
        materials=(
            MaterialCheck("持卡人居民身份证原件"),
            MaterialCheck("代办人有效身份证件原件"),
            MaterialCheck("户口簿", False),
        ),
        item_details=details,
        changes=changes,
        fee_amount_fen=2000 if item_code == "replace" else 0,
        remarks="样张，信息均为虚构",
    )
    return replace(form, **overrides)  # type: ignore[arg-type]


_ITEMS: Final = (
    ("1", "耕地地力保护补贴资金", "乐山市农业农村局"),
    ("5", "森林生态效益补偿资金", "乐山市林业局"),
    ("15.1", "城乡居民基本养老保险待遇", "乐山市人力资源和社会保障局"),
    ("22", "农村最低生活保障金", "乐山市民政局"),
    ("30", "残疾人两项补贴", "乐山市残疾人联合会"),
)
_REASONS: Final = ("卡挂失", "户名不符", "账户未激活", "卡注销")


def sample_statement(payments: int = 40, **overrides: object) -> SubsidyStatement:
    """A fictitious statement with ``payments`` lines (about 35 fit on a page)."""
    lines: list[SubsidyPayment] = []
    start = date(2025, 1, 1)
    for i in range(payments):
        code, name, department = _ITEMS[i % len(_ITEMS)]
        month = start + timedelta(days=31 * (i // len(_ITEMS)))
        status = "已发"
        reason = ""
        if i % 17 == 5:
            status, reason = "失败", _REASONS[(i // 17) % len(_REASONS)]
        elif i % 23 == 7:
            status, reason = "退回", "户名不符"
        elif i % 29 == 11:
            status = "重发"
        elif i == payments - 1:
            status = "待发"
        lines.append(
            SubsidyPayment(
                item_code=code,
                item_name=name,
                department=department,
                period=f"{month:%Y%m}",
                amount_fen=10_000 + (i * 3_721) % 90_000,
                status=status,
                paid_on=None if status == "待发" else month + timedelta(days=14),
                bank="农行",
                account_tail="6721",
                failure_reason=reason,
                batch=f"PC{month:%Y%m}{i % 7:03d}",
                recipient="王建国（户主）" if code == "1" else "",
            )
        )
    number = receipt_code.format_acceptance_number("511102001", "03", ACCEPTED_AT.date(), 99)
    statement = SubsidyStatement(
        statement_number=number,
        verification_code=receipt_code.verification_code(SAMPLE_KEY, number),
        holder=HOLDER,
        period_from="202501",
        period_to="202610",
        payments=tuple(lines),
        printed_at=ACCEPTED_AT,
        outlet_code="511102001",
        outlet_name="乐山市人力资源和社会保障中心社会保障卡服务窗口",
        counter_number="03",
        operator_number="1001",
        household=True,
    )
    return replace(statement, **overrides)  # type: ignore[arg-type]
