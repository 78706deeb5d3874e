"""Printing: a real CUPS queue (private cupsd + cups-pdf), the Qt path to a PDF file, the preview."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest

from counter_app.devices.printing import CupsPrinter, QtPrinter, make_preview
from counter_app.receipts import PaperProfile, ReportLabReceiptRenderer
from counter_app.receipts.samples import sample_form
from counter_app.workflows import ports


@pytest.fixture(scope="module")
def form_pdf() -> bytes:
    return ReportLabReceiptRenderer().render_form(sample_form("report_loss")).pdf


def _wait_for_pdf(folder: Path, before: set[Path], timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = set(folder.rglob("*.pdf")) - before
        for path in new:
            size = path.stat().st_size
            time.sleep(0.2)
            if size > 0 and path.stat().st_size == size:  # cups-pdf has finished writing
                return path
        time.sleep(0.2)
    raise AssertionError(f"cups-pdf wrote no PDF into {folder} within {timeout:.0f} s")


@pytest.mark.integration
def test_a_real_cups_queue_receives_the_job_and_cups_pdf_writes_it(
    cups: dict[str, str], form_pdf: bytes
) -> None:
    printer = CupsPrinter(cups["COUNTER_TEST_CUPS_QUEUE"], server=cups["COUNTER_TEST_CUPS_SERVER"])
    assert isinstance(printer, ports.Printer)
    assert printer.is_ready()
    out = Path(cups["COUNTER_TEST_CUPS_OUTDIR"])
    before = set(out.rglob("*.pdf"))
    job = printer.print_pdf(form_pdf, job_name="业务受理表 511102001-03-20261127-0008")
    assert job.startswith(cups["COUNTER_TEST_CUPS_QUEUE"] + "-")
    written = _wait_for_pdf(out, before)
    # cups-pdf re-distils the job through PostScript and Ghostscript: the text survives (the queue
    # renders PostScript with pdftocairo), characters outside the BMP do not (the archived original does)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(written).pages).replace(" ", "")
    form = sample_form("report_loss")
    assert form.acceptance_number in text
    assert "乐山市社会保障卡业务受理表" in text and form.holder.id_number in text
    deadline = time.monotonic() + 30
    while not printer.job_done(job):
        assert time.monotonic() < deadline, f"job {job} never completed"
        time.sleep(0.2)


@pytest.mark.integration
def test_a_missing_queue_is_reported_in_chinese(cups: dict[str, str], form_pdf: bytes) -> None:
    printer = CupsPrinter("no-such-printer", server=cups["COUNTER_TEST_CUPS_SERVER"])
    assert not printer.is_ready()
    with pytest.raises(ports.PrintFailed, match="打印机未配置") as failed:
        printer.print_pdf(form_pdf, job_name="x")
    assert "补打" in str(failed.value)


@pytest.fixture
def disabled_queue(cups: dict[str, str]) -> Iterator[str]:
    env = dict(os.environ, CUPS_SERVER=cups["COUNTER_TEST_CUPS_SERVER"])
    queue = cups["COUNTER_TEST_CUPS_QUEUE"]
    subprocess.run(["cupsdisable", "-r", "paper jam", queue], env=env, check=True)
    try:
        yield queue
    finally:
        subprocess.run(["cupsenable", queue], env=env, check=True)


@pytest.mark.integration
def test_a_stopped_printer_is_reported_before_sending(
    cups: dict[str, str], disabled_queue: str, form_pdf: bytes
) -> None:
    printer = CupsPrinter(disabled_queue, server=cups["COUNTER_TEST_CUPS_SERVER"])
    assert not printer.is_ready()
    with pytest.raises(ports.PrintFailed, match="打印机未连接或已暂停"):
        printer.print_pdf(form_pdf, job_name="x")


def test_no_scheduler_and_no_queue_name_are_clear_failures(tmp_path: Path, form_pdf: bytes) -> None:
    printer = CupsPrinter("Counter-A4", server=str(tmp_path / "no-cupsd.sock"))
    assert not printer.is_ready()
    with pytest.raises(ports.PrintFailed, match="打印服务（CUPS）未运行"):
        printer.print_pdf(form_pdf, job_name="x")
    with pytest.raises(ports.PrintFailed, match="未配置打印机"):
        CupsPrinter("")


@pytest.mark.gui
def test_qt_printer_paints_every_page_into_a_pdf_file(qapp: object, tmp_path: Path) -> None:
    pdf = ReportLabReceiptRenderer(paper_profile=PaperProfile.A5).render_form(sample_form("apply")).pdf
    target = tmp_path / "qt.pdf"
    printer = QtPrinter(output_file=str(target), dpi=150)
    assert isinstance(printer, ports.Printer) and printer.is_ready()
    assert printer.print_pdf(pdf, job_name="受理表") == "qt-1"
    written = pypdf.PdfReader(target)
    assert len(written.pages) == 2
    width, height = (float(v) for v in written.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (420, 595)  # A5 kept
    assert target.stat().st_size > 20_000  # raster pages, not blank ones


@pytest.mark.gui
def test_qt_printer_without_that_printer_fails_clearly(qapp: object, form_pdf: bytes) -> None:
    printer = QtPrinter("没有这台打印机")
    assert not printer.is_ready()
    with pytest.raises(ports.PrintFailed, match="打印机未连接或未配置"):
        printer.print_pdf(form_pdf, job_name="x")


@pytest.mark.gui
def test_preview_shows_the_pages_once_rendered(qtbot, form_pdf: bytes) -> None:  # type: ignore[no-untyped-def]
    view = make_preview(form_pdf)
    qtbot.addWidget(view)
    view.resize(600, 800)
    view.show()
    qtbot.waitExposed(view)

    def has_ink() -> bool:
        image = view.grab().toImage()
        dark = 0
        for y in range(0, image.height(), 7):
            for x in range(0, image.width(), 7):
                if image.pixelColor(x, y).lightness() < 100:
                    dark += 1
        return dark > 50

    qtbot.waitUntil(has_ink, timeout=10_000)  # QPdfView renders asynchronously
    assert view.document().pageCount() == 1


def test_receipts_and_the_printing_module_do_not_import_qt() -> None:
    code = (
        "import sys, counter_app.receipts, counter_app.devices.printing;"
        "sys.exit(any(m.startswith('PySide6') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
