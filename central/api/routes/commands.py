"""``POST /commands/<name>``: the life-cycle and service commands (业务命令).

Every counter command carries its 受理编号 and records one 业务流水; back-office commands
(送制卡, 回盘导入, 临时挂失到期处理) are for ``admin`` and need no counter. The acting operator comes
from the temporary ``X-Operator`` / ``X-Outlet`` / ``X-Counter`` / ``X-Confirmer`` headers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from central.api.deps import ActorDep, ClockDep, DbDep, SettingsDep
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
    StartProductionIn,
    TransferRegionIn,
)
from central.services import custody, lifecycle, persons, pins, production
from central.services.common import CommandContext
from central.services.runner import run_command

router = APIRouter(prefix="/commands", tags=["业务命令"], responses=COMMAND_ERRORS)

Result = dict[str, Any]


class Runner:
    """Runs one command for the acting operator (a dependency, so routes stay one line)."""

    def __init__(self, db: DbDep, settings: SettingsDep, clock: ClockDep, claim: ActorDep) -> None:
        self.db, self.settings, self.clock, self.claim = db, settings, clock, claim

    def __call__(self, action: Callable[[CommandContext], Result], *, need_counter: bool = True) -> Result:
        return run_command(self.db, self.settings, self.clock, self.claim, action, need_counter=need_counter)


RunnerDep = Annotated[Runner, Depends(Runner)]


@router.post("/apply", response_model=CommandOut, summary="申领")
def apply(body: ApplyIn, run: RunnerDep) -> Result:
    """申领 a card; a person the city does not know yet is registered from ``person`` (证件 checked)."""
    return run(lambda ctx: lifecycle.apply(ctx, body))


@router.post("/instant_issue", response_model=CommandOut, summary="即时制卡")
def instant_issue(body: IssueIn, run: RunnerDep) -> Result:
    """Personalise a 预制卡 on the spot; the 卡识别码 read from its chip is checked and recorded."""
    return run(lambda ctx: lifecycle.instant_issue(ctx, body))


@router.post("/hand_over", response_model=CommandOut, summary="领卡")
def hand_over(body: IssueIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.hand_over(ctx, body))


@router.post("/activate", response_model=CommandOut, summary="激活")
def activate(body: ActivateIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.activate(ctx, body))


@router.post("/change_key_info", response_model=CommandOut, summary="关键信息变更")
def change_key_info(body: ChangeKeyInfoIn, run: RunnerDep) -> Result:
    return run(lambda ctx: persons.change_key_info(ctx, body))


@router.post("/change_contact", response_model=CommandOut, summary="非关键信息变更")
def change_contact(body: ChangeContactIn, run: RunnerDep) -> Result:
    return run(lambda ctx: persons.change_contact(ctx, body))


@router.post("/pin_change", response_model=CommandOut, summary="密码修改（记录）")
def pin_change(body: CardCommandIn, run: RunnerDep) -> Result:
    return run(lambda ctx: pins.pin_service(ctx, body, "pin_change"))


@router.post("/pin_reset", response_model=CommandOut, summary="密码重置")
def pin_reset(body: CardCommandIn, run: RunnerDep) -> Result:
    return run(lambda ctx: pins.pin_service(ctx, body, "pin_reset"))


@router.post("/pin_unblock", response_model=CommandOut, summary="密码解锁")
def pin_unblock(body: CardCommandIn, run: RunnerDep) -> Result:
    return run(lambda ctx: pins.pin_service(ctx, body, "pin_unblock"))


@router.post("/report_loss", response_model=CommandOut, summary="挂失（临时/正式）")
def report_loss(body: ReportLossIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.report_loss(ctx, body))


@router.post("/cancel_loss", response_model=CommandOut, summary="解挂")
def cancel_loss(body: CardCommandIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.cancel_loss(ctx, body))


@router.post("/replace", response_model=CommandOut, summary="补换卡")
def replace(body: ReplaceIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.replace(ctx, body))


@router.post("/transfer_region", response_model=CommandOut, summary="参保地变更")
def transfer_region(body: TransferRegionIn, run: RunnerDep) -> Result:
    return run(lambda ctx: persons.transfer_region(ctx, body))


@router.post("/cancel_card", response_model=CommandOut, summary="注销（须复核）")
def cancel_card(body: CancelCardIn, run: RunnerDep) -> Result:
    return run(lambda ctx: lifecycle.cancel_card(ctx, body))


@router.post("/authorise_custody", response_model=CommandOut, summary="代管代持授权（须复核）")
def authorise_custody(body: AuthoriseCustodyIn, run: RunnerDep) -> Result:
    return run(lambda ctx: custody.authorise_custody(ctx, body))


@router.post("/start_production", response_model=CommandOut, summary="送制卡（后台）")
def start_production(body: StartProductionIn, run: RunnerDep) -> Result:
    return run(lambda ctx: production.start_production(ctx, body), need_counter=False)


@router.post("/production_done", response_model=CommandOut, summary="制卡完成：回盘导入（后台）")
def production_done(body: ProductionDoneIn, run: RunnerDep) -> Result:
    return run(lambda ctx: production.production_done(ctx, body), need_counter=False)


@router.post("/temp_loss_expiry", response_model=CommandOut, summary="临时挂失到期处理（后台）")
def temp_loss_expiry(run: RunnerDep) -> Result:
    return run(production.temp_loss_expiry, need_counter=False)
