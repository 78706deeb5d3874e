"""``POST /commands/<name>``: the life-cycle and service commands (业务命令).

Every counter command carries its 受理编号 and records one 业务流水; back-office commands
(送制卡, 回盘导入, 临时挂失到期处理) are for ``admin`` and need no counter. Each one needs a signed-in
operator at an enrolled counter and an ``Idempotency-Key`` (``central.api.commanding``).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from central.api.commanding import RunnerDep, register_fast_commands
from central.api.deps import ADMIN_ONLY
from central.api.fast import FastRoute
from central.api.problem_docs import COMMAND_ERRORS
from central.schemas import (
    ActivateIn,
    ApplyIn,
    AuthoriseCustodyIn,
    CancelCardIn,
    CardCommandIn,
    ChangeContactIn,
    ChangeKeyInfoIn,
    CommandOut,
    IssueIn,
    ProductionDoneIn,
    ReplaceIn,
    ReportLossIn,
    ResendPaymentsIn,
    StartProductionIn,
    TransferRegionIn,
)
from central.services import custody, lifecycle, persons, pins, production, subsidies

router = APIRouter(prefix="/commands", tags=["业务命令"], responses=COMMAND_ERRORS, route_class=FastRoute)
Result = JSONResponse


@router.post("/apply", response_model=CommandOut, summary="申领")
def apply(body: ApplyIn, run: RunnerDep) -> Result:
    """申领 a card; a person the city does not know yet is registered from ``person`` (证件 checked)."""
    return run(lambda ctx: lifecycle.apply(ctx, body), model=CommandOut)


@router.post("/instant_issue", response_model=CommandOut, summary="即时制卡")
def instant_issue(body: IssueIn, run: RunnerDep) -> Result:
    """Personalise a 预制卡 on the spot; the 卡识别码 read from its chip is checked and recorded."""
    return run(lambda ctx: lifecycle.instant_issue(ctx, body), model=CommandOut)


@router.post("/hand_over", response_model=CommandOut, summary="领卡")
def hand_over(body: IssueIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.hand_over(ctx, body), model=CommandOut)


@router.post("/activate", response_model=CommandOut, summary="激活")
def activate(body: ActivateIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.activate(ctx, body), model=CommandOut)


@router.post("/change_key_info", response_model=CommandOut, summary="关键信息变更")
def change_key_info(body: ChangeKeyInfoIn, run: RunnerDep) -> Result:
    return run(lambda ctx: persons.change_key_info(ctx, body), model=CommandOut)


@router.post("/change_contact", response_model=CommandOut, summary="非关键信息变更")
def change_contact(body: ChangeContactIn, run: RunnerDep) -> Result:
    return run(lambda ctx: persons.change_contact(ctx, body), model=CommandOut)


@router.post("/pin_change", response_model=CommandOut, summary="密码修改（记录）")
def pin_change(body: CardCommandIn, run: RunnerDep) -> Result:
    return run(lambda ctx: pins.pin_service(ctx, body, "pin_change"), model=CommandOut)


@router.post("/pin_reset", response_model=CommandOut, summary="密码重置")
def pin_reset(body: CardCommandIn, run: RunnerDep) -> Result:
    return run(lambda ctx: pins.pin_service(ctx, body, "pin_reset"), model=CommandOut)


@router.post("/pin_unblock", response_model=CommandOut, summary="密码解锁")
def pin_unblock(body: CardCommandIn, run: RunnerDep) -> Result:
    return run(lambda ctx: pins.pin_service(ctx, body, "pin_unblock"), model=CommandOut)


@router.post("/report_loss", response_model=CommandOut, summary="挂失（临时/正式）")
def report_loss(body: ReportLossIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.report_loss(ctx, body), model=CommandOut)


@router.post("/cancel_loss", response_model=CommandOut, summary="解挂")
def cancel_loss(body: CardCommandIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.cancel_loss(ctx, body), model=CommandOut)


@router.post("/replace", response_model=CommandOut, summary="补换卡")
def replace(body: ReplaceIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.replace(ctx, body), model=CommandOut)


@router.post("/transfer_region", response_model=CommandOut, summary="参保地变更")
def transfer_region(body: TransferRegionIn, run: RunnerDep) -> Result:
    return run(lambda ctx: persons.transfer_region(ctx, body), model=CommandOut)


@router.post("/cancel_card", response_model=CommandOut, summary="注销（须复核）")
def cancel_card(body: CancelCardIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.cancel_card(ctx, body), model=CommandOut)


@router.post("/authorise_custody", response_model=CommandOut, summary="代管代持授权（须复核）")
def authorise_custody(body: AuthoriseCustodyIn, run: RunnerDep) -> Result:
    return run(lambda ctx: custody.authorise_custody(ctx, body), model=CommandOut)


@router.post("/start_production", response_model=CommandOut, summary="送制卡（后台）")
def start_production(body: StartProductionIn, run: RunnerDep) -> Result:
    return run(
        lambda ctx: production.start_production(ctx, body),
        model=CommandOut,
        need_counter=False,
        roles=ADMIN_ONLY,
    )


@router.post("/production_done", response_model=CommandOut, summary="制卡完成：回盘导入（后台）")
def production_done(body: ProductionDoneIn, run: RunnerDep) -> Result:
    return run(
        lambda ctx: production.production_done(ctx, body),
        model=CommandOut,
        need_counter=False,
        roles=ADMIN_ONLY,
    )


@router.post("/temp_loss_expiry", response_model=CommandOut, summary="临时挂失到期处理（后台）")
def temp_loss_expiry(run: RunnerDep) -> Result:
    return run(production.temp_loss_expiry, model=CommandOut, need_counter=False, roles=ADMIN_ONLY)


@router.post("/resend_payments", response_model=CommandOut, summary="补贴重发申请")
def resend_payments(body: ResendPaymentsIn, run: RunnerDep) -> Result:
    """After an account change: the recipient's failed or returned payments are re-sent to this card."""
    return run(lambda ctx: subsidies.resend_payments(ctx, body), model=CommandOut)


register_fast_commands(router)
