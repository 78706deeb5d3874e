"""The ReportLab receipt renderer (受理表/明细渲染): implements `ReceiptRenderer` and `StatementRenderer`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from counter_app.domain.catalog import Catalog, load_catalog
from counter_app.receipts import acceptance
from counter_app.receipts.fonts import FontChain, default_chain
from counter_app.receipts.paper import PaperProfile, paper_for
from counter_app.receipts.statement import render as render_statement
from counter_app.receipts.workdays import HolidayCalendar, load_calendar
from counter_app.workflows.ports import (
    AcceptanceForm,
    Clock,
    RenderedForm,
    SubsidyStatement,
    TransactionRecord,
)


class ReportLabReceiptRenderer:
    """Renders 业务受理表 and 补贴发放明细 to PDF; needs no network, no Qt.

    ``clock`` (optional) stamps the 补打 time on reprints. Fonts, catalog and calendar load once per
    process; one renderer may be shared by threads (ReportLab canvases are per call).
    """

    def __init__(
        self,
        *,
        paper_profile: PaperProfile | str = PaperProfile.A4_TWO_PART,
        clock: Clock | None = None,
        catalog: Callable[[], Catalog] = load_catalog,
        calendar: Callable[[], HolidayCalendar] = load_calendar,
        chain: Callable[[], FontChain] = default_chain,
    ) -> None:
        self.paper = paper_for(paper_profile)
        self._clock = clock
        self._catalog = catalog
        self._calendar = calendar
        self._chain = chain

    def _now(self) -> datetime | None:
        return self._clock.now() if self._clock is not None else None

    # -- ReceiptRenderer ---------------------------------------------------------------------

    def render_acceptance_form(self, transaction: TransactionRecord, *, reprint: int = 0) -> RenderedForm:
        """The form stored with the transaction (``details[FORM_DETAILS_KEY]``)."""
        return self.render_form(AcceptanceForm.from_transaction(transaction), reprint=reprint)

    def render_form(self, form: AcceptanceForm, *, reprint: int = 0) -> RenderedForm:
        """The 业务受理表 of ``form`` on the configured paper; ``reprint`` > 0 stamps 补打 n."""
        resolved = acceptance.resolve(
            form,
            self._catalog(),
            self._calendar(),
            reprint=reprint,
            printed_at=self._now() if reprint else None,
        )
        return acceptance.render(resolved, paper=self.paper, chain=self._chain())

    def promised_date_for(self, item_code: str, accepted_on: datetime) -> tuple[str, bool]:
        """(ISO date, provisional) of the promised date: for the flow to store in the form."""
        item = self._catalog().by_code(item_code)
        promised = self._calendar().add_working_days(accepted_on.date(), item.time_limit.working_days)
        return promised.date.isoformat(), promised.provisional

    # -- StatementRenderer -------------------------------------------------------------------

    def render_subsidy_statement(self, statement_data: SubsidyStatement, *, reprint: int = 0) -> RenderedForm:
        """The 补贴发放明细 (always A4 portrait: its table needs the width)."""
        return render_statement(
            statement_data,
            chain=self._chain(),
            reprint=reprint,
            printed_at=self._now() if reprint else None,
        )
