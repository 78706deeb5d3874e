"""打印机 — the `Printer` port on CUPS (Linux) and on Qt (Windows), and a QtPdf preview.

- `CupsPrinter` sends the PDF unchanged to a CUPS queue with ``lp`` (vector output, the printer's
  own driver) and checks the queue with ``lpstat``. ``server`` points at another scheduler (``-h``,
  e.g. the tests' private cupsd socket).
- `QtPrinter` is the Windows path: Qt has no "print this PDF" call, so every page is rendered with
  QtPdf at the printer's resolution and painted onto a ``QPrinter``. With ``output_file`` it writes
  a PDF instead (tests, "print to file").
- `make_preview` gives a ``QPdfView`` showing a PDF (rendering is asynchronous).

Every failure raises `PrintFailed` with a Chinese message saying what is wrong and that the
transaction is recorded and the form can be reprinted (补打) — the caller keeps the PDF.
Qt is imported lazily, inside the Qt classes only: importing this module does not load Qt.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from counter_app.workflows.ports import PrintFailed

if TYPE_CHECKING:
    from PySide6.QtPdfWidgets import QPdfView
    from PySide6.QtWidgets import QWidget

RECORDED: Final = "业务已办理并记录，可在排除故障后补打。"
_REQUEST_ID: Final = re.compile(r"request id is (\S+)")


def _failed(what: str) -> PrintFailed:
    return PrintFailed(f"{what}{RECORDED}")


@dataclass(frozen=True)
class QueueState:
    """What ``lpstat`` says about one queue."""

    exists: bool
    enabled: bool = False
    accepting: bool = False
    reason: str = ""


class CupsPrinter:
    """`Printer` on a CUPS queue (``lp -d <queue>``).

    ``timeout`` bounds every command: a hung scheduler must not freeze the counter.
    """

    def __init__(self, queue: str, *, server: str | None = None, timeout: float = 15.0) -> None:
        if not queue:
            raise PrintFailed("未配置打印机：请在柜台配置 [printing] printer 中填写打印队列名称。" + RECORDED)
        self.queue = queue
        self.server = server
        self.timeout = timeout

    def _run(self, tool: str, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        exe = shutil.which(tool)
        if exe is None:
            raise _failed(f"打印系统未安装（找不到 {tool} 命令，请安装 CUPS）。")
        command = [exe]
        if self.server:
            command += ["-h", self.server]
        env = dict(os.environ, LC_ALL="C", LANG="C")  # parse English messages whatever the locale
        try:
            return subprocess.run(
                [*command, *args], input=data, capture_output=True, timeout=self.timeout, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            raise _failed(f"打印服务无响应（{tool} 超过 {self.timeout:.0f} 秒未返回）。") from None
        except OSError as exc:
            raise _failed(f"无法调用打印系统（{exc}）。") from None

    def _scheduler_running(self) -> bool:
        out = self._run("lpstat", "-r").stdout.decode(errors="replace")
        return "scheduler is running" in out

    def queue_state(self) -> QueueState:
        """The queue's state, or ``exists=False``; raises `PrintFailed` when CUPS is not running."""
        if not self._scheduler_running():
            raise _failed("打印服务（CUPS）未运行，请联系信息科。")
        printer = self._run("lpstat", "-p", self.queue)
        text = printer.stdout.decode(errors="replace")
        if printer.returncode != 0 or f"printer {self.queue} " not in text:
            return QueueState(exists=False)
        accepting = self._run("lpstat", "-a", self.queue).stdout.decode(errors="replace")
        first, _, rest = text.partition("\n")
        return QueueState(
            exists=True,
            enabled="disabled" not in first,
            accepting=f"{self.queue} accepting requests" in accepting,
            reason=rest.strip(),
        )

    def is_ready(self) -> bool:
        try:
            state = self.queue_state()
        except PrintFailed:
            return False
        return state.exists and state.enabled and state.accepting

    def print_pdf(self, pdf: bytes, *, job_name: str) -> str:
        """Send ``pdf``; return the CUPS request id (``queue-123``)."""
        state = self.queue_state()
        if not state.exists:
            raise _failed(f"打印机未配置：找不到打印队列“{self.queue}”。")
        if not state.enabled:
            detail = f"（{state.reason}）" if state.reason else ""
            raise _failed(f"打印机未连接或已暂停：打印队列“{self.queue}”已停用{detail}。")
        if not state.accepting:
            raise _failed(f"打印机不接收作业：打印队列“{self.queue}”已拒绝新作业。")
        # lp reads the document from stdin ("-"); the title is what the queue and cups-pdf show
        title = re.sub(r"[\x00-\x1f]", " ", job_name)[:120] or "受理表"
        result = self._run("lp", "-d", self.queue, "-t", title, "-", data=pdf)
        out = (result.stdout + result.stderr).decode(errors="replace").strip()
        match = _REQUEST_ID.search(out)
        if result.returncode != 0 or match is None:
            raise _failed(f"打印作业提交失败：{out or '打印系统未返回作业号'}。")
        return match.group(1)

    def job_done(self, job_id: str) -> bool:
        """Whether the job has left the queue as completed (``lpstat -W completed``)."""
        out = self._run("lpstat", "-W", "completed", "-o", self.queue).stdout.decode(errors="replace")
        return any(line.split()[:1] == [job_id] for line in out.splitlines())


# --------------------------------------------------------------------------------------------
# Qt (Windows path, and print-to-PDF anywhere)


def _require_app() -> Any:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        raise RuntimeError("QtPrinter/make_preview need a running QApplication")
    return app


def _load_document(pdf: bytes, parent: Any = None) -> Any:
    """A ``QPdfDocument`` reading ``pdf`` from memory (the buffer lives as long as the document)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument(parent)
    buffer = QBuffer(document)
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready or document.pageCount() == 0:
        raise PrintFailed(f"无法读取待打印的PDF（{document.error().name}）。{RECORDED}")
    return document


class QtPrinter:
    """`Printer` through Qt: QtPdf renders each page at ``dpi``, QPainter paints it on a QPrinter.

    ``printer_name`` empty: the system default printer. ``output_file``: write a PDF there instead
    of printing. Needs a running ``QApplication``.
    """

    def __init__(self, printer_name: str = "", *, output_file: str | None = None, dpi: int = 300) -> None:
        self.printer_name = printer_name
        self.output_file = output_file
        self.dpi = dpi
        self._jobs = 0

    def _printer_info(self) -> Any:
        from PySide6.QtPrintSupport import QPrinterInfo

        if self.printer_name:
            return QPrinterInfo.printerInfo(self.printer_name)
        return QPrinterInfo.defaultPrinter()

    def is_ready(self) -> bool:
        if self.output_file:
            return True
        _require_app()
        return not self._printer_info().isNull()

    def print_pdf(self, pdf: bytes, *, job_name: str) -> str:
        _require_app()
        from PySide6.QtCore import QRectF, QSize, QSizeF
        from PySide6.QtGui import QPageLayout, QPageSize, QPainter
        from PySide6.QtPrintSupport import QPrinter

        document = _load_document(pdf)
        if self.output_file:
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(self.output_file)
        else:
            info = self._printer_info()
            if info.isNull():
                name = self.printer_name or "默认打印机"
                raise _failed(f"打印机未连接或未配置：找不到“{name}”。")
            printer = QPrinter(info, QPrinter.PrinterMode.HighResolution)
        printer.setDocName(job_name)
        printer.setResolution(self.dpi)
        printer.setFullPage(True)
        first = document.pagePointSize(0)
        printer.setPageSize(QPageSize(QSizeF(first.width(), first.height()), QPageSize.Unit.Point))
        printer.setPageOrientation(QPageLayout.Orientation.Portrait)
        painter = QPainter()
        if not painter.begin(printer):
            raise _failed("打印机未就绪：无法开始打印作业（请检查打印机电源、连线和纸张）。")
        try:
            for index in range(document.pageCount()):
                if index:
                    size = document.pagePointSize(index)
                    printer.setPageSize(QPageSize(QSizeF(size.width(), size.height()), QPageSize.Unit.Point))
                    if not printer.newPage():
                        raise _failed("打印作业失败：打印机拒绝了下一页。")
                points = document.pagePointSize(index)
                pixels = QSize(round(points.width() * self.dpi / 72), round(points.height() * self.dpi / 72))
                image = document.render(index, pixels)
                if image.isNull():
                    raise _failed(f"打印作业失败：第 {index + 1} 页无法渲染。")
                target = QRectF(printer.pageRect(QPrinter.Unit.DevicePixel))
                painter.drawImage(target, image)
        finally:
            painter.end()
        self._jobs += 1
        return f"qt-{self._jobs}"


def make_preview(pdf: bytes, parent: QWidget | None = None) -> QPdfView:
    """A ``QPdfView`` showing ``pdf`` page after page, fitted to its width (打印预览).

    Rendering is asynchronous: the pages appear after the event loop ran for a moment.
    """
    _require_app()
    from PySide6.QtPdfWidgets import QPdfView

    view = QPdfView(parent) if parent is not None else QPdfView()
    # The document must not be a child of the view: QPdfView crashes when it is destroyed after its
    # own document (seen with Qt 6.12 offscreen). The view's wrapper keeps it alive instead.
    document = _load_document(pdf)
    view.setDocument(document)
    view._document = document  # type: ignore[attr-defined]
    view.setPageMode(QPdfView.PageMode.MultiPage)
    view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
    view.setWindowTitle("打印预览")
    return view


def printer_for(settings_printer: str, *, windows: bool | None = None) -> CupsPrinter | QtPrinter:
    """The counter's printer for its configured name: CUPS on Linux, Qt on Windows."""
    import sys

    on_windows = sys.platform == "win32" if windows is None else windows
    if on_windows:
        return QtPrinter(settings_printer)
    return CupsPrinter(settings_printer)
