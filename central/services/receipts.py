"""回执校验: check a receipt's QR text with the issuing counter's key (counter_app.domain.receipt_code).

Also the counters' 回执密钥 as stored: opened with the server's seal (``central.core.key_seal``), and
plain ones (written before sealing, or by the training seed) sealed when a server starts.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from central.core.db import Database
from central.core.key_seal import PLAIN_KEY_BYTES, KeySeal, SealError
from central.core.problems import Problem, invalid
from central.models import CounterRow, OutletRow, TransactionRow
from central.services.views import item_label
from counter_app.domain.receipt_code import ReceiptCodeError, parse_qr_text, verification_code

log = logging.getLogger("central.receipts")


def counter_receipt_key(seal: KeySeal, outlet_code: str, counter: CounterRow) -> bytes:
    """The counter's 回执密钥, opened (a 500 problem, logged, when the seal does not fit)."""
    try:
        return seal.open(counter.receipt_key, outlet_code, counter.number)
    except SealError:
        log.error(
            "receipt key of counter %s-%s does not open: CENTRAL_RECEIPT_SEAL_KEY (or receipt-seal.key) "
            "differs from the one it was sealed with",
            outlet_code,
            counter.number,
        )
        raise Problem(
            500,
            "server/receipt-key-sealed",
            "回执密钥无法解开",
            "中心的回执密钥加密密钥与封存该柜台回执密钥时的不同，请联系系统管理员核对中心配置。",
            code="receipt_key_sealed",
        ) from None


def seal_plain_keys(db: Database, seal: KeySeal) -> int:
    """Seal every counter receipt key still stored plain; returns how many (servers may race: rows are locked).

    A database that cannot be reached now is left as it is (logged): the next start seals them.
    """
    try:
        return _seal_plain_keys(db, seal)
    except DBAPIError as error:
        log.warning("receipt keys not checked for sealing (database unavailable: %s)", error.orig)
        return 0


def _seal_plain_keys(db: Database, seal: KeySeal) -> int:
    with db.write() as session:
        rows = session.execute(
            select(CounterRow, OutletRow.code)
            .join(OutletRow, OutletRow.id == CounterRow.outlet_id)
            .where(func.length(CounterRow.receipt_key) == PLAIN_KEY_BYTES)
            .with_for_update(of=CounterRow)
        ).all()
        for counter, outlet_code in rows:
            counter.receipt_key = seal.seal(counter.receipt_key, outlet_code, counter.number)
    if rows:
        log.info("sealed the receipt keys of %d counters", len(rows))
    return len(rows)


def verify_receipt(session: Session, code: str, seal: KeySeal) -> dict[str, Any]:
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
    key = counter_receipt_key(seal, outlet.code, counter)
    if not hmac.compare_digest(verification_code(key, acceptance_number), mac):
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
