"""The 业务受理表 of every item: every field printed, masking per part, marks, paper profiles, codes."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from counter_app.domain import receipt_code
from counter_app.domain.catalog import load_catalog
from counter_app.receipts import PaperProfile, ReportLabReceiptRenderer
from counter_app.receipts.masking import mask
from counter_app.receipts.samples import ITEM_SAMPLES, SAMPLE_KEY, SHANGHAI, sample_form
from counter_app.receipts.sections import section_for
from counter_app.workflows import ports
from tests.fakes import FakeClock
from tests.receipts.pdftools import all_text, page_texts, reader, squash, two_parts

ITEMS = list(ITEM_SAMPLES)
EXTENSION_H = "\U00031350"


@pytest.fixture(scope="module")
def renderer() -> ReportLabReceiptRenderer:
    return ReportLabReceiptRenderer()


def test_the_samples_cover_the_twelve_catalog_items() -> None:
    assert list(load_catalog().codes) == ITEMS


def _expected_common(form: ports.AcceptanceForm) -> list[str]:
    item = load_catalog().by_code(form.item_code)
    h, a = form.holder, form.agent
    assert a is not None
    texts = [
        "乐山市社会保障卡业务受理表",
        form.acceptance_number,
        item.name.value,
        form.result,
        "2026年11月27日10:32",
        h.name,
        h.sex,
        h.id_type,
        h.card_number,
        a.name,
        a.relation,
        *a.documents,
        *(m.text for m in form.materials),
        item.fee.text.value,
        item.time_limit.text.value,
        form.outlet_name,
        form.outlet_code,
        form.counter_number,
        f"{form.operator_name}（{form.operator_number}）",
        form.remarks,
        "12345",
        "0833-2101916",
    ]
    if form.variant:
        texts.append("■" + item.variant(form.variant).label)
    for field in section_for(form.item_code):
        value = form.item_details.get(field.key, "")
        if value:
            texts.append(("■" + value) if field.choices else value)
    for change in form.changes:
        texts.append(change.label)
    return [squash(t) for t in texts]


@pytest.mark.parametrize("item_code", ITEMS)
def test_every_field_is_on_both_parts_and_numbers_are_masked_only_on_the_receipt(
    renderer: ReportLabReceiptRenderer, item_code: str
) -> None:
    form = sample_form(item_code)
    rendered = renderer.render_form(form)
    assert rendered.complete and rendered.page_count == 1
    stub, receipt = two_parts(rendered.pdf)
    h, a = form.holder, form.agent
    assert a is not None
    for text in _expected_common(form):
        assert text in stub, f"stub lacks {text!r}"
        assert text in receipt, f"receipt lacks {text!r}"
    full = [h.id_number, h.phone, a.id_number, a.phone]
    full += [v for c in form.changes if c.kind for v in (c.old, c.new)]
    for value in full:
        assert squash(value) in stub, f"stub lacks the full {value!r}"
        assert squash(value) not in receipt, f"receipt shows the full {value!r}"
    masked = [
        mask("id", h.id_number),
        mask("phone", h.phone),
        mask("id", a.id_number),
        mask("phone", a.phone),
    ]
    assert masked == ["5111**********1235", "138****5678", "5111**********0021", "0833-***8135"]
    for value in masked:
        assert squash(value) in receipt
    for change in form.changes:  # non-sensitive changes in full on both parts
        if not change.kind:
            assert squash(change.new) in stub and squash(change.new) in receipt
    assert "申请人/代办人（签字）" in stub and "经办人（签字）" in stub and "申请人承诺" in stub
    assert "服务须知" in receipt and "受理单位（盖章）" in receipt
    assert "第1联" in stub and "留存联" in stub and "第2联" in receipt and "回执" in receipt


def test_promised_date_counts_working_days_and_marks_unconfirmed_years(
    renderer: ReportLabReceiptRenderer,
) -> None:
    stub, _ = two_parts(renderer.render_form(sample_form("apply")).pdf)  # 60 working days from 2026-11-27
    assert "承诺办结日期" in stub and "（预计）" in stub
    same_day, _ = two_parts(renderer.render_form(sample_form("report_loss")).pdf)
    assert "当场办结" in same_day
    fixed = renderer.render_form(sample_form("apply", promised_date=datetime(2027, 3, 2).date()))
    assert "2027年03月02日" in two_parts(fixed.pdf)[0]


def test_marks_offline_training_and_reprint_on_both_parts() -> None:
    clock = FakeClock()
    r = ReportLabReceiptRenderer(clock=clock)
    rendered = r.render_form(sample_form("change_contact", offline=True, training=True), reprint=3)
    stub, receipt = two_parts(rendered.pdf)
    for part in (stub, receipt):
        assert "已受理，待上传确认" in part
        assert "补打3" in part and "第3次补打" in part
    assert all_text(rendered.pdf).count("培训样张无效") == 2


def test_no_marks_on_an_ordinary_form(renderer: ReportLabReceiptRenderer) -> None:
    text = all_text(renderer.render_form(sample_form("activate")).pdf)
    assert "待上传确认" not in text and "补打" not in text and "培训样张" not in text


def test_a5_puts_stub_and_receipt_on_two_sheets() -> None:
    rendered = ReportLabReceiptRenderer(paper_profile=PaperProfile.A5).render_form(sample_form("replace"))
    stub, receipt = page_texts(rendered.pdf)
    assert rendered.page_count == 2
    assert "留存联" in stub and "511102199003071235" in stub
    assert "回执" in receipt and "5111**********1235" in receipt and "511102199003071235" not in receipt
    width, height = (float(v) for v in reader(rendered.pdf).pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (420, 595)


def test_the_80mm_slip_has_the_receipt_only_on_one_narrow_page() -> None:
    rendered = ReportLabReceiptRenderer(paper_profile="slip_80mm").render_form(sample_form("apply"))
    (text,) = page_texts(rendered.pdf)
    assert "回执" in text and "留存联" not in text and "申请人承诺" not in text
    assert "5111**********1235" in text and "511102199003071235" not in text
    assert "服务须知" in text and "0833-2101916" in text
    width, height = (float(v) for v in reader(rendered.pdf).pages[0].mediabox.upper_right)
    assert round(width) == 227 and height > width


def test_a_name_no_font_covers_is_reported_not_dropped(renderer: ReportLabReceiptRenderer) -> None:
    holder = replace(sample_form().holder, name=f"王{EXTENSION_H}")
    rendered = renderer.render_form(sample_form("query", holder=holder))
    assert rendered.unprintable_characters == (EXTENSION_H,)
    assert not rendered.complete
    assert "王□" in all_text(rendered.pdf)


def test_the_form_is_rebuilt_from_the_journal_for_a_reprint(renderer: ReportLabReceiptRenderer) -> None:
    form = sample_form("cancel_card")
    assert ports.AcceptanceForm.from_mapping(form.to_mapping()) == form
    record = ports.TransactionRecord(
        acceptance_number=form.acceptance_number,
        item_code=form.item_code,
        operator_number=form.operator_number,
        outlet_code=form.outlet_code,
        counter_number=form.counter_number,
        occurred_at=form.accepted_at,
        holder_ref="p1",
        result="accepted",
        details={ports.FORM_DETAILS_KEY: form.to_mapping()},
    )
    assert isinstance(renderer, ports.ReceiptRenderer) and isinstance(renderer, ports.StatementRenderer)
    assert renderer.render_acceptance_form(record, reprint=1).pdf == renderer.render_form(form, reprint=1).pdf
    with pytest.raises(ValueError, match="acceptance_form"):
        renderer.render_acceptance_form(replace(record, details={}))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"item_details": {"colour": "red"}}, "unknown form fields"),
        ({"item_details": {"cancel_reason": "不想要了"}}, "is not one of"),
        ({"variant": "no_such"}, "no variant"),
        ({"verification_code": "AB|CD"}, "校验码"),
        ({"acceptance_number": "5111020010320261127"}, "受理编号"),
        ({"item_code": "no_such_item"}, "unknown service item"),
    ],
)
def test_bad_form_data_is_refused(
    renderer: ReportLabReceiptRenderer, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises((ValueError, KeyError), match=message):
        renderer.render_form(replace(sample_form("cancel_card"), **overrides))  # type: ignore[arg-type]


def test_pdf_is_deterministic_and_titled(renderer: ReportLabReceiptRenderer) -> None:
    a = renderer.render_form(sample_form("query"))
    b = renderer.render_form(sample_form("query"))
    assert a.pdf == b.pdf
    meta = reader(a.pdf).metadata
    assert meta is not None and "业务受理表" in str(meta.title)


def test_barcode_and_qr_code_decode_to_the_number_and_the_verification_payload(
    renderer: ReportLabReceiptRenderer, tmp_path: Path
) -> None:
    zbarimg = shutil.which("zbarimg")
    assert zbarimg, "zbarimg is missing: install zbar-tools (tools/ensure-system-packages test)"
    form = sample_form("report_loss")
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(renderer.render_form(form).pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-singlefile", str(pdf), str(tmp_path / "page")], check=True
    )
    out = subprocess.run(
        [zbarimg, "--quiet", str(tmp_path / "page.png")], capture_output=True, text=True, check=False
    ).stdout
    assert f"CODE-128:{form.acceptance_number}" in out
    assert f"QR-Code:{form.acceptance_number}.{form.verification_code}" in out
    assert receipt_code.verify_qr_text(SAMPLE_KEY, f"{form.acceptance_number}.{form.verification_code}")


def test_reprint_time_comes_from_the_clock() -> None:
    clock = FakeClock()
    rendered = ReportLabReceiptRenderer(clock=clock).render_form(sample_form("query"), reprint=1)
    expected = f"{clock.now().astimezone(SHANGHAI):%Y年%m月%d日%H:%M}"
    assert expected in all_text(rendered.pdf)
