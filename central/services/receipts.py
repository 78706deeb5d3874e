"""回执校验: check a receipt's QR text with the issuing counter's key (counter_app.domain.receipt_code)."""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.problems import invalid
from central.models import CounterRow, OutletRow, TransactionRow
from central.services.views import item_label
from counter_app.domain.receipt_code import ReceiptCodeError, parse_qr_text, verification_code


def verify_receipt(session: Session, code: str) -> dict[str, Any]:
    """Is this QR text a receipt the named counter made? (A malformed text is a 422 problem.)"""
    try:
        number, mac = parse_qr_text(code)
    except ReceiptCodeError as exc:
        raise invalid("receipt_code", str(exc), field="code") from None
    acceptance_number = str(number)
    base: dict[str, Any] = {
        "acceptance_number": acceptance_number,
        "outlet_code": number.outlet_code,
        "counter_number": number.counter_number,
    }
    row = session.execute(
        select(OutletRow, CounterRow)
        .join(CounterRow, CounterRow.outlet_id == OutletRow.id)
        .where(OutletRow.code == number.outlet_code, CounterRow.number == number.counter_number)
    ).first()
    if row is None:
        return {**base, "valid": False, "reason": "回执上的网点或柜台未在中心登记，不能确认回执真伪。"}
    outlet, counter = row
    base["outlet_name"] = outlet.name
    if not hmac.compare_digest(verification_code(counter.receipt_key, acceptance_number), mac):
        return {**base, "valid": False, "reason": "校验码不符：回执不是该柜台出具的，或内容被改动过。"}
    transaction = session.scalar(
        select(TransactionRow).where(TransactionRow.acceptance_number == acceptance_number)
    )
    if transaction is None:
        return {
            **base,
            "valid": True,
            "reason": "回执校验通过；该业务尚未上传到中心（可能为离线受理，待上传确认）。",
        }
    return {
        **base,
        "valid": True,
        "reason": "回执校验通过。",
        "recorded": True,
        "item_label": item_label(transaction.item_code),
        "occurred_at": transaction.occurred_at,
    }
