"""补贴发放明细: multi-page with the header repeated, totals per item and overall, failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from counter_app.receipts import ReportLabReceiptRenderer
from counter_app.receipts.samples import RARE_NAME, SHANGHAI, sample_statement
from counter_app.receipts.statement import REMEDIES, totals, yuan
from counter_app.workflows.ports import SubsidyPayment
from tests.receipts.pdftools import all_text, page_texts, squash


@pytest.fixture(scope="module")
def renderer() -> ReportLabReceiptRenderer:
    return ReportLabReceiptRenderer()


def test_a_long_statement_repeats_its_header_on_every_page(renderer: ReportLabReceiptRenderer) -> None:
    statement = sample_statement(120)
    rendered = renderer.render_subsidy_statement(statement)
    pages = page_texts(rendered.pdf)
    assert rendered.page_count == len(pages) >= 4
    for number, text in enumerate(pages, 1):
        assert "乐山市惠民惠农财政补贴发放明细" in text
        assert RARE_NAME in text and "5111**********1235" in text
        assert statement.statement_number in text
        if number < len(pages):  # payment pages repeat the column heads
            assert "补贴项目" in text and "金额（元）" in text and "失败原因/批次号" in text
        assert f"第{number}页共{len(pages)}页" in text
        assert "0833-2101916" in text
    assert "分项目合计" in "".join(pages[-2:])
    assert "511102199003071235" not in all_text(rendered.pdf)  # the statement goes home: masked


def test_every_payment_line_is_printed(renderer: ReportLabReceiptRenderer) -> None:
    statement = sample_statement(60)
    text = all_text(renderer.render_subsidy_statement(statement).pdf)
    for p in statement.payments:
        assert squash(yuan(p.amount_fen)) in text
        assert p.item_name in text
        if p.failure_reason:
            assert p.failure_reason in text


def test_totals_per_item_and_overall() -> None:
    payments = (
        SubsidyPayment("1", "耕地地力保护补贴资金", "202501", 10_000, "已发"),
        SubsidyPayment("1", "耕地地力保护补贴资金", "202502", 12_345, "失败", failure_reason="卡挂失"),
        SubsidyPayment("22", "农村最低生活保障金", "202501", 50_000, "已发"),
        SubsidyPayment("22", "农村最低生活保障金", "202502", 50_000, "重发"),
        SubsidyPayment("22", "农村最低生活保障金", "202503", 50_000, "退回", failure_reason="户名不符"),
    )
    per_item, overall = totals(payments)
    assert [(t.item_code, t.count, t.paid, t.failed, t.pending) for t in per_item] == [
        ("1", 2, 10_000, 12_345, 0),
        ("22", 3, 50_000, 50_000, 50_000),
    ]
    assert (overall.count, overall.paid, overall.failed, overall.pending) == (5, 60_000, 62_345, 50_000)
    with pytest.raises(ValueError, match="unknown payment status"):
        totals((replace(payments[0], status="paid"),))


def test_totals_and_failures_with_remedies_are_printed(renderer: ReportLabReceiptRenderer) -> None:
    statement = sample_statement(60)
    text = all_text(renderer.render_subsidy_statement(statement).pdf)
    per_item, overall = totals(statement.payments)
    assert "分项目合计" in text and "总计" in text
    for t in [*per_item, overall]:
        assert squash(yuan(t.paid)) in text
    failed = [p for p in statement.payments if p.status in ("失败", "退回")]
    assert f"发放失败/退回明细（{len(failed)}笔）" in text
    for p in failed:
        assert squash(REMEDIES[p.failure_reason]) in text


def test_an_empty_period_says_so(renderer: ReportLabReceiptRenderer) -> None:
    rendered = renderer.render_subsidy_statement(sample_statement(0))
    assert rendered.page_count == 1
    assert "查询期间内无发放记录" in all_text(rendered.pdf)


def test_offline_data_age_training_and_reprint_marks(renderer: ReportLabReceiptRenderer) -> None:
    statement = sample_statement(5, data_as_of=datetime(2026, 11, 26, 18, 0, tzinfo=SHANGHAI), training=True)
    text = all_text(renderer.render_subsidy_statement(statement, reprint=2).pdf)
    assert "数据截至2026年11月26日18:00" in text
    assert "培训样张无效" in text
    assert "补打2" in text and "第2次补打" in text
