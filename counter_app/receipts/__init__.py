"""受理表与明细 — the 业务受理表 and the 补贴发放明细 as PDF, with ReportLab and embedded fonts (no Qt)."""

from counter_app.receipts.paper import PaperProfile
from counter_app.receipts.renderer import ReportLabReceiptRenderer

__all__ = ["PaperProfile", "ReportLabReceiptRenderer"]
