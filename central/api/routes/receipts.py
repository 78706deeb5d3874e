"""``/receipts/verify``: is a 业务受理表 回执 genuine (its QR code's HMAC under the counter's key)?"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from central.api.deps import COUNTER_ROLES, AccessDep, DbDep
from central.api.problem_docs import LOOKUP_ERRORS
from central.schemas import ReceiptCheck
from central.services.receipts import verify_receipt

router = APIRouter(prefix="/receipts", tags=["回执校验"], responses=LOOKUP_ERRORS)


@router.get("/verify", response_model=ReceiptCheck, summary="回执校验")
def verify(
    code: Annotated[str, Query(max_length=100, description="回执二维码内容：受理编号.校验码")],
    access: AccessDep,
    db: DbDep,
) -> dict[str, Any]:
    access.require(COUNTER_ROLES)
    with db.read() as session:
        return verify_receipt(session, code, access.request.app.state.receipt_seal)
