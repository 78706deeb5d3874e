"""The forms the flows store render with the real ReportLab renderer (业务受理表 as a PDF).

The journal here numbers forms as ``counter_app.domain.receipt_code`` defines the 受理编号
(``网点-柜台-日期-序号``), which the real renderer's QR code requires.
"""

from __future__ import annotations

import pytest

from counter_app.domain import receipt_code
from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.receipts.renderer import ReportLabReceiptRenderer
from counter_app.workflows.base import StepKind
from counter_app.workflows.ports import RenderedForm, TransactionRecord
from counter_app.workflows.registry import start
from tests.fakes import InMemoryJournal
from tests.receipts.pdftools import two_parts
from tests.workflows.helpers import ABC_QUICK, HOLDER, HR, World, by_id, card_of, drive, holder_of

pytestmark = pytest.mark.integration

KEY = bytes(range(32))


class KeptRenderer(ReportLabReceiptRenderer):
    def __init__(self) -> None:
        super().__init__()
        self.pdfs: list[bytes] = []

    def render_acceptance_form(self, transaction: TransactionRecord, *, reprint: int = 0) -> RenderedForm:
        rendered = super().render_acceptance_form(transaction, reprint=reprint)
        self.pdfs.append(rendered.pdf)
        return rendered


def test_a_queued_contact_change_prints_accepted_pending_upload_with_masked_numbers() -> None:
    world = World(journal=InMemoryJournal())
    renderer = KeptRenderer()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    ctx = world.ctx(HR)
    ctx.renderer = renderer
    ctx.verification_code = lambda number: receipt_code.verification_code(KEY, number)
    done = drive(
        start("change_contact", ctx),
        {"identify": by_id(person), "presenter": HOLDER, "contact": {"phone": "13908331234"}},
    )
    assert done.kind is StepKind.DONE and done.outcome is not None and done.outcome.printed
    stub, receipt = two_parts(renderer.pdfs[0])
    assert "已受理，待上传确认" in receipt
    assert "13908331234" not in receipt and "139****1234" in receipt and "13908331234" in stub
    assert done.outcome.acceptance_number in receipt


def test_an_instant_issuance_prints_its_form() -> None:
    world = World(journal=InMemoryJournal())
    renderer = KeptRenderer()
    person = holder_of("prefab_jingyan", world.city)
    world.insert("prefab_jingyan")
    world.queued_pad.push(["246810"])
    ctx = world.ctx(ABC_QUICK)
    ctx.renderer = renderer
    ctx.verification_code = lambda number: receipt_code.verification_code(KEY, number)
    done = drive(start("apply", ctx, variant="instant"), {"identify": by_id(person), "presenter": HOLDER})
    assert done.kind is StepKind.DONE
    stub, _ = two_parts(renderer.pdfs[0])
    assert "已当场制卡" in stub and "赵雨涵" in stub
