"""事项信息 — each service item's own section of the 业务受理表, and its lines of the 服务须知.

A section is a list of fields. The flow fills ``AcceptanceForm.item_details`` by these keys; an
unknown key is an error (a typo must not lose data silently), a missing key prints empty. A field
with ``choices`` prints as a checkbox line with the chosen option marked. ``mask`` names how the
receipt masks the value (``"id"``/``"phone"``), as for the holder's own numbers. The item's variant
(``AcceptanceForm.variant``) prints separately as 办理类型 from the catalog's variant labels, and
关键/非关键信息变更 print their ``changes`` as a 原信息/新信息 table.

Keys per item (DOMAIN §2):

========================  ====================================================================
apply 申领                 application_kind, bank, pickup_outlet, new_card_number, batch_unit
activate 激活              pin_set, bank_account_tail
change_key_info            follow_up
change_contact             (changes only)
query 信息查询              scope, data_source
pin_change 密码修改         pin_entry
pin_reset 密码重置/解锁      requester, supervisor
report_loss 挂失            loss_until, reason
cancel_loss 解挂            loss_kind, loss_date
replace 补换卡              replace_reason, old_card_number, new_card_number, bank
transfer_region 参保地变更   from_region, to_region, transfer_certificate
cancel_card 注销            cancel_reason, supervisor, bank_notice
custody_authorisation      holder_group, custody_reason, valid_period, supervisor
（代管代持授权, a procedure）
========================  ====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class SectionField:
    """One field of an item's section."""

    key: str
    label: str
    choices: tuple[str, ...] = ()
    mask: str = ""
    wide: bool = False  # takes a whole row


SECTIONS: Final[Mapping[str, tuple[SectionField, ...]]] = {
    "apply": (
        SectionField("application_kind", "申领方式", choices=("个人申领", "单位批量申领", "代办申领")),
        SectionField("bank", "发卡银行"),
        SectionField("pickup_outlet", "领卡网点"),
        SectionField("new_card_number", "社保卡号（即时制卡）"),
        SectionField("batch_unit", "批量申领单位/批次", wide=True),
    ),
    "activate": (
        SectionField(
            "pin_set",
            "社保密码",
            choices=("持卡人已在密码键盘设置新密码", "此卡密码已非初始密码，持卡人核对后保留"),
        ),
        SectionField("bank_account_tail", "银行账户尾号"),
    ),
    "change_key_info": (SectionField("follow_up", "后续办理", wide=True),),
    "change_contact": (),
    "query": (
        SectionField("scope", "查询内容", wide=True),
        SectionField("data_source", "数据来源", wide=True),
    ),
    "pin_change": (
        SectionField("pin_entry", "密码输入", choices=("持卡人本人在密码键盘输入原密码和新密码",)),
    ),
    "pin_reset": (
        SectionField("requester", "申请人身份", choices=("持卡人本人", "未成年人监护人", "授权代管人")),
        SectionField("supervisor", "复核人（工号）"),
    ),
    "report_loss": (
        SectionField("loss_until", "临时挂失有效期至"),
        SectionField("reason", "挂失原因"),
    ),
    "cancel_loss": (
        SectionField("loss_kind", "原挂失类型", choices=("临时挂失", "正式挂失")),
        SectionField("loss_date", "挂失日期"),
    ),
    "replace": (
        SectionField(
            "replace_reason",
            "补换原因",
            choices=("补卡（遗失）", "换卡（损坏）", "换卡（有效期满）", "换卡（卡面信息变更）"),
            wide=True,
        ),
        SectionField("old_card_number", "原卡号"),
        SectionField("new_card_number", "新卡号"),
        SectionField("bank", "发卡银行"),
    ),
    "transfer_region": (
        SectionField("from_region", "原参保地"),
        SectionField("to_region", "现参保地"),
        SectionField("transfer_certificate", "社会保险关系转移接续证明编号", wide=True),
    ),
    "cancel_card": (
        SectionField(
            "cancel_reason",
            "注销原因",
            choices=("持卡人死亡", "出国（境）定居", "重复持卡", "补卡后注销原卡"),
            wide=True,
        ),
        SectionField("supervisor", "复核人（工号）"),
        SectionField("bank_notice", "金融账户", wide=True),
    ),
    "custody_authorisation": (
        SectionField(
            "holder_group", "持卡人类别", choices=("低保户", "特困群众", "残疾人", "建档立卡贫困户")
        ),
        SectionField("valid_period", "授权有效期"),
        SectionField("custody_reason", "代管代持事由", wide=True),
        SectionField("supervisor", "复核人（工号）"),
    ),
}

#: 服务须知 for every item, then each item's own lines.
COMMON_NOTICE: Final = (
    "请核对本回执所列信息，妥善保管；凭本回执和本人有效身份证件查询办理进度。",
    "证件号码、联系电话已作遮蔽处理；扫描二维码可核验本回执真伪。",
    "社会保障卡仅限本人使用。任何单位和个人不得收取、保管、使用他人社会保障卡，不得索要补贴资金。",
)
ITEM_NOTICE: Final[Mapping[str, tuple[str, ...]]] = {
    "apply": ("制卡完成后将通知领卡，请持本回执和本人有效身份证件到领卡网点领取，领卡后及时激活。",),
    "activate": ("请牢记新设置的密码，切勿告知他人；初始密码不能用于交易。",),
    "change_key_info": ("卡面信息变更后须换领新卡，请按经办人指引办理换卡。",),
    "change_contact": ("离线受理的变更在上传确认后生效。",),
    "query": ("查询结果以社保卡管理中心系统记录为准。",),
    "pin_change": ("请牢记新密码，切勿告知他人。",),
    "pin_reset": ("在省内其他地区锁定的社保卡，须到锁定地解锁。",),
    "report_loss": ("临时挂失有效期7天，到期自动解除，请在有效期内办理正式挂失或解挂。",),
    "cancel_loss": ("解挂后社会保障卡恢复使用。",),
    "replace": ("补卡后原卡作废；换卡的，原卡在新卡发放后作废。",),
    "transfer_region": ("参保地变更不改变卡识别码，无需换卡。",),
    "cancel_card": ("社保卡注销后不能恢复；金融账户由发卡银行另行办理销户。",),
    "custody_authorisation": (
        "代管人须妥善保管持卡人的社会保障卡，补贴资金归持卡人所有，不得挪用、索要；"
        "授权到期或情况变化时请及时办理变更。",
    ),
}

CONSULTATION: Final = "咨询电话：12345（政务服务便民热线）　乐山市社会保障卡管理中心 0833-2101916"


def section_for(item_code: str) -> tuple[SectionField, ...]:
    try:
        return SECTIONS[item_code]
    except KeyError:
        raise ValueError(f"no form section for item {item_code!r} (known: {', '.join(SECTIONS)})") from None


def check_details(item_code: str, details: Mapping[str, str]) -> None:
    """Refuse keys the item's section does not print, and choices it does not offer."""
    fields = {f.key: f for f in section_for(item_code)}
    unknown = sorted(set(details) - set(fields))
    if unknown:
        raise ValueError(
            f"item {item_code!r}: unknown form fields {unknown} (known: {', '.join(fields) or 'none'})"
        )
    for key, value in details.items():
        choices = fields[key].choices
        if choices and value and value not in choices:
            raise ValueError(f"item {item_code!r}, field {key!r}: {value!r} is not one of {list(choices)}")
