"""``/subsidies/payments/import``: the 一卡通 platform's payment results, batch by batch (back office)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from central.api.commanding import RunnerDep
from central.api.deps import ADMIN_ONLY
from central.api.problem_docs import COMMAND_ERRORS
from central.schemas import ImportOut, PaymentImportIn
from central.services import subsidies

router = APIRouter(prefix="/subsidies/payments", tags=["补贴发放"], responses=COMMAND_ERRORS)


@router.post("/import", response_model=ImportOut, summary="导入一卡通平台发放结果（后台）")
def import_payments(body: PaymentImportIn, run: RunnerDep) -> JSONResponse:
    """Records keyed by (batch, beneficiary, item, period): new ones inserted, changed ones updated."""
    return run(
        lambda ctx: subsidies.import_payments(ctx, body),
        model=ImportOut,
        need_counter=False,
        roles=ADMIN_ONLY,
    )
