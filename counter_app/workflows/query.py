"""社会保障卡信息查询 (item 5): the card as read now, and the holder's record, marked by its source.

The card is read if present (EF05/EF06; a 3.0 card's EF06 needs the PSAM), else the holder is found
by 证件. Online the record is the server's; offline it is the local replica's, marked with its
age (数据截至), with the subsidy payments where the replica holds them. Every bank outlet may query
every card (DOMAIN §1). A query changes nothing but is recorded (who looked at whose data) and its
业务受理表 printed; what the clerk looks at or prints of it afterwards (another 发放期间, the 补贴发放明细)
is chained in the audit under the query's 受理编号.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from counter_app.domain.identity import ethnicity_name, region_name
from counter_app.domain.subsidies import period_label, period_range_label
from counter_app.workflows import forms, people
from counter_app.workflows.base import Choice, InputInvalid, Page, StepDef, StepKind, jsonable, refusal
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import Record, text
from counter_app.workflows.ports import CentralUnavailable
from counter_app.workflows.proxy import ProxyRules

DONE = Choice("done", "查询完毕，记录并打印")
#: Audit events about a recorded query (审计): the payments of another 发放期间 looked at, the
#: 补贴发放明细 printed — who saw or printed whose payments stays on the chain like the query itself.
SUBSIDY_QUERY_EVENT = "subsidy_query"
SUBSIDY_STATEMENT_EVENT = "subsidy_statement"
#: The 补贴发放 period a query loads first: the last 12 months, this month included.
SUBSIDY_MONTHS = 12
#: The earliest period the clerk may ask for (before the city paid subsidies onto these cards).
EARLIEST_PERIOD = "200001"


def months_back(today: date, months: int) -> tuple[str, str]:
    """The period (YYYYMM, YYYYMM) of the last ``months`` months up to ``today``'s month."""
    start_year, start_month = divmod(today.year * 12 + today.month - 1 - (months - 1), 12)
    return f"{start_year:04d}{start_month + 1:02d}", f"{today:%Y%m}"


def check_period(period_from: str, period_to: str, today: date) -> tuple[str, str]:
    """The clerk's 发放期间 (YYYYMM each), checked: real months, in order, not after this month."""
    for value in (period_from, period_to):
        if len(value) != 6 or not value.isdigit() or not 1 <= int(value[4:]) <= 12:
            raise InputInvalid(
                "period_invalid", f"发放期间“{value}”不是有效的年月。", "请按年月（如 202503）填写。"
            )
    if period_from > period_to:
        raise InputInvalid(
            "period_order",
            f"起始期间 {period_label(period_from)} 晚于截止期间 {period_label(period_to)}。",
            "请把较早的月份填在前面。",
        )
    this_month = f"{today:%Y%m}"
    if period_to > this_month:
        raise InputInvalid(
            "period_future",
            f"截止期间 {period_label(period_to)} 尚未到来。",
            f"截止期间最晚为本月（{period_label(this_month)}）。",
        )
    if period_from < EARLIEST_PERIOD:
        raise InputInvalid(
            "period_too_early", f"起始期间最早为 {period_label(EARLIEST_PERIOD)}。", "请缩小查询的发放期间。"
        )
    return period_from, period_to


class QueryFlow(ServiceFlow):
    """信息查询."""

    item_code = "query"
    proxy_rules = ProxyRules()

    def needs_card(self) -> bool:
        return False

    def plan(self) -> Sequence[StepDef]:
        return [
            self.read_card_step(required=False),
            self.identify_step(),
            self.presenter_step(),
            self.materials_step(),
            self.command_step("lookup", "查询补贴发放记录", self._load_subsidies),
            self.result_step(),
            self.finish_step(),
        ]

    def lookup_person(self, id_type: str, id_number: str) -> Record | None:
        if self.ctx.offline:
            return self.replica_person(id_type, id_number)
        return super().lookup_person(id_type, id_number)

    def person_not_found(self, id_type: str, id_number: str) -> Record:
        if self.ctx.offline:
            raise refusal(
                "not_in_replica",
                "离线状态下本地数据副本中没有此人的信息。",
                "请持卡查询（读取芯片信息），或待网络恢复后查询。",
            )
        return super().person_not_found(id_type, id_number)

    def data_source(self) -> str:
        sources = []
        if self.card_read:
            sources.append("卡片芯片（现场读取）")
        if self.ctx.offline:
            as_of = self.data.get("replica_as_of")
            if as_of:
                sources.append(f"本地数据副本（数据截至 {datetime.fromisoformat(as_of):%Y-%m-%d %H:%M}）")
        else:
            sources.append("社保卡中心系统（实时）")
        return "；".join(sources)

    def rows(self) -> list[tuple[str, str]]:
        person = self.person or {}
        rows = [
            ("姓名", text(person, "name")),
            (
                "证件",
                f"{people.id_type_label(text(person, 'id_type') or 'resident_id')} {text(person, 'id_number')}",
            ),
        ]
        if text(person, "insured_region"):
            region = text(person, "insured_region")
            rows.append(("参保地", f"{region_name(region) or ''}（{region}）"))
        if text(person, "phone"):
            rows.append(("联系电话", text(person, "phone")))
        for card in people.cards(person):
            bank = text(card, "bank")
            rows.append(
                (
                    f"社保卡 {text(card, 'card_number') or '（待制卡）'}",
                    f"{people.status(card).label}" + (f"，{bank}" if bank else ""),
                )
            )
        chip = self.card_read
        if chip:
            rows += [
                ("芯片：卡号", text(chip, "card_number")),
                ("芯片：卡识别码", text(chip, "card_id")),
                ("芯片：规范版本", text(chip, "spec_version")),
                ("芯片：发卡日期/有效期", f"{text(chip, 'issue_date')} / {text(chip, 'expiry_date')}"),
                (
                    "芯片：持卡人",
                    f"{text(chip, 'name')} {people.sex_label(text(chip, 'sex'))} {ethnicity_name(text(chip, 'ethnicity')) or ''}",
                ),
            ]
        rows += self.subsidy_rows()
        rows.append(("数据来源", self.data_source()))
        return rows

    def subsidy_rows(self) -> list[tuple[str, str]]:
        payments = self.data.get("subsidies")
        if not isinstance(payments, list):
            return []
        if not payments:
            asked = self.data.get("subsidy_period") or months_back(self.ctx.today(), SUBSIDY_MONTHS)
            return [("补贴发放", f"{period_range_label(*asked)}无发放记录")]
        out = []
        for p in payments:
            amount = int(p.get("amount_fen") or 0)
            reason = text(p, "failure_reason")
            status = text(p, "status_label") or text(p, "status")
            beneficiary = text(p, "beneficiary_name")
            whose = (
                f"（{beneficiary}）" if beneficiary and beneficiary != text(self.person or {}, "name") else ""
            )
            out.append(
                (
                    f"补贴 {text(p, 'period')} {text(p, 'item_name')}{whose}",
                    f"{amount // 100}.{amount % 100:02d} 元，{status}" + (f"（{reason}）" if reason else ""),
                )
            )
        return out

    def _load_subsidies(self) -> None:
        person = self.person or {}
        if "subsidies" in self.data or person.get("id") is None:
            return
        period = months_back(self.ctx.today(), SUBSIDY_MONTHS)
        try:
            self._keep(self._payments(*period), period)
        except CentralUnavailable:
            if not self.ctx.offline:
                raise
            return  # offline, and the local replica does not hold this person's payments

    def reload_subsidies(self, period_from: str, period_to: str) -> list[dict[str, Any]]:
        """The payments of another 发放期间 (the clerk's choice after the query), kept in the flow's data.

        Once the query is recorded, each such look is chained in the audit (``subsidy_query``) before
        the payments are kept to be shown; before, the period joins the query's own 查询内容. Raises
        ``InputInvalid`` for a period that is not one, ``CentralUnavailable`` when neither the server
        nor (offline) the local replica can answer, and the store's error when the audit entry cannot
        be written; in each case the payments shown before stay.
        """
        person = self.person or {}
        if person.get("id") is None:
            raise InputInvalid("no_person", "没有查询对象，不能查询补贴发放记录。")
        period = check_period(period_from, period_to, self.ctx.today())
        rows = self._payments(*period)
        if self.data.get("recorded"):
            self._audit(SUBSIDY_QUERY_EVENT, f"再查询补贴发放 {period_range_label(*period)}，{len(rows)} 条")
        return self._keep(rows, period)

    def statement_printing(self, period_from: str, period_to: str, payments: int) -> None:
        """Chain the printing of the 补贴发放明细 of a recorded query in the audit (before it prints)."""
        if not self.data.get("recorded"):
            raise InputInvalid("not_recorded", "查询尚未记录，不能打印补贴发放明细。", "请先完成查询。")
        shown = period_range_label(period_from, period_to)
        self._audit(SUBSIDY_STATEMENT_EVENT, f"打印补贴发放明细 {shown}，{payments} 条")

    def _payments(self, period_from: str, period_to: str) -> list[dict[str, Any]]:
        person = self.person or {}
        # the holder's and their household's (户类补贴 are paid to the head of household)
        payments = self.ctx.central.subsidy_payments(
            str(person["id"]), household=True, period_from=period_from, period_to=period_to
        )
        return [jsonable(p) for p in payments]

    def _keep(self, rows: list[dict[str, Any]], period: tuple[str, str]) -> list[dict[str, Any]]:
        self.data["subsidies"] = rows
        self.data["subsidy_period"] = list(period)
        viewed: list[list[str]] = self.data.setdefault("subsidy_periods_viewed", [])
        if list(period) not in viewed:
            viewed.append(list(period))
        return rows

    def _audit(self, event: str, result: str) -> None:
        ctx = self.ctx
        ctx.journal.audit_event(self.acceptance_number(), event, result, ctx.operator.number)

    def result_step(self) -> StepDef:
        def page() -> Page:
            return self.page(
                "查询结果", prompt="请向办事人说明查询结果", display=tuple(self.rows()), options=(DONE,)
            )

        def handle(answer: Mapping[str, Any]) -> None:
            if answer.get("choice") != DONE.value:
                raise InputInvalid("choice_required", "请确认查询完毕")

        return StepDef("result", StepKind.CONFIRM, page, handle)

    def transaction_facts(self) -> forms.TransactionFacts:
        scope = ["持卡人信息", "卡片状态"]
        if self.card_read:
            scope.append("芯片信息")
        if self.data.get("subsidies") is not None:
            viewed = self.data.get("subsidy_periods_viewed") or [self.data.get("subsidy_period")]
            periods = "、".join(period_range_label(*p) for p in viewed if p)
            scope.append(f"补贴发放记录（{periods}）" if periods else "补贴发放记录")
        return forms.TransactionFacts(
            result="已查询",
            item_details={"scope": "、".join(scope), "data_source": self.data_source()},
            details={"replica_as_of": self.data.get("replica_as_of")},
        )
