"""受理编号 as Code128 and the verification QR code (核验二维码).

The QR content is the one ``counter_app.domain.receipt_code`` defines, shared with the central server
(``GET /receipts/verify``): ASCII ``<受理编号>.<校验码>``, e.g.
``511102001-03-20261127-0042.ZMAKE655XBOPH3LC``. The caller computes the code with the counter's
receipt key (``receipt_code.verification_code``) and puts it in the form data; the renderer never
sees the key.
"""

from __future__ import annotations

from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qrencoder import QRCode, QRErrorCorrectLevel
from reportlab.pdfgen.canvas import Canvas

from counter_app.domain import receipt_code


def qr_payload(acceptance_number: str, verification_code: str) -> str:
    """``<受理编号>.<校验码>``; ValueError (``ReceiptCodeError``) when either is malformed."""
    text = f"{acceptance_number}.{verification_code}"
    number, code = receipt_code.parse_qr_text(text)
    if str(number) != acceptance_number or code != verification_code:
        raise receipt_code.ReceiptCodeError(f"受理编号或校验码不规范：{text!r}")
    return text


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR modules (error correction level M), row by row, True = dark."""
    code = QRCode(None, QRErrorCorrectLevel.M)
    code.addData(payload)
    code.make()
    n = code.getModuleCount()
    return [[bool(code.isDark(r, c)) for c in range(n)] for r in range(n)]


def define_qr_form(canvas: Canvas, name: str, payload: str, size: float) -> None:
    """Define a reusable form XObject ``name`` of ``size`` pt square (4-module quiet zone included)."""
    matrix = qr_matrix(payload)
    n = len(matrix)
    module = size / (n + 8)
    canvas.beginForm(name, lowerx=0, lowery=0, upperx=size, uppery=size)
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < n and row[c]:
                c += 1
            y = size - (r + 5) * module
            # a hair wider than the module so anti-aliased viewers show no seams
            path.rect((start + 4) * module, y, (c - start) * module + 0.01, module + 0.01)
    canvas.setFillGray(0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.endForm()


def code128(value: str, *, bar_width: float, bar_height: float) -> Any:
    """A Code128 flowable of ``value`` (no human-readable line: the form prints the number itself)."""
    if not value.isascii() or not value.isprintable():
        raise ValueError(f"a Code128 value must be printable ASCII, got {value!r}")
    return Code128(value, barWidth=bar_width, barHeight=bar_height, humanReadable=False, quiet=False)


def define_barcode_form(
    canvas: Canvas, name: str, value: str, *, bar_width: float, bar_height: float
) -> float:
    """Define a form XObject with the Code128 of ``value``; return its width in points."""
    barcode = code128(value, bar_width=bar_width, bar_height=bar_height)
    width = float(barcode.width)
    canvas.beginForm(name, lowerx=0, lowery=0, upperx=width, uppery=bar_height)
    barcode.drawOn(canvas, 0, 0)
    canvas.endForm()
    return width
