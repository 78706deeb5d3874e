"""``/counters/me``: what a counter fetches with its own credential (柜台登记).

``receipt-key``: the counter's 回执密钥 (HMAC key of its receipts' QR codes), fetched once at enrolment
and kept in the counter's keyring. ``audit-head``: the last audit-chain head the server acknowledged
for this counter (``counter_app.store.audit.verify_against_head`` checks the local chain against it).
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request

from central.api.deps import CounterKeyDep, DbDep
from central.api.problem_docs import COUNTER_ERRORS
from central.models import CounterRow
from central.schemas import AuditHeadOut, ReceiptKeyOut
from central.services.auth import verify_counter
from central.services.receipts import counter_receipt_key

router = APIRouter(prefix="/counters/me", tags=["柜台登记"], responses=COUNTER_ERRORS)


@router.get("/receipt-key", response_model=ReceiptKeyOut, summary="本柜台回执密钥")
def receipt_key(counter_key: CounterKeyDep, db: DbDep, request: Request) -> dict[str, Any]:
    with db.read() as session:
        counter = verify_counter(session, counter_key)
        row = session.get(CounterRow, counter.counter_id)
        assert row is not None
        key = counter_receipt_key(request.app.state.receipt_seal, counter.outlet_code, row)
        return {
            "outlet_code": counter.outlet_code,
            "counter_number": counter.counter_number,
            "receipt_key": base64.b64encode(key).decode("ascii"),
        }


@router.get("/audit-head", response_model=AuditHeadOut, summary="中心已确认的本柜台审计链头")
def audit_head(counter_key: CounterKeyDep, db: DbDep) -> dict[str, Any]:
    with db.read() as session:
        counter = verify_counter(session, counter_key)
        row = session.get(CounterRow, counter.counter_id)
        assert row is not None
        return {
            "outlet_code": counter.outlet_code,
            "counter_number": counter.counter_number,
            "seq": row.audit_head_seq,
            "entry_hash": row.audit_head_hash,
            "acknowledged_at": row.audit_head_at,
        }
