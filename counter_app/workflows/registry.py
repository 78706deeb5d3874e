"""The twelve flows by item code (业务流程目录), the counter procedures (代管代持授权), and
starting or resuming one.

A wizard asks `start` for a new flow of an item (optionally a variant and a prefill, e.g. a
follow-up's) and `resume` for a flow the journal still holds a checkpoint of (after a crash).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from counter_app.workflows.activate import ActivateFlow
from counter_app.workflows.apply import ApplyFlow
from counter_app.workflows.base import FollowUp
from counter_app.workflows.cancel_card import CancelCardFlow
from counter_app.workflows.cancel_loss import CancelLossFlow
from counter_app.workflows.change_contact import ChangeContactFlow
from counter_app.workflows.change_key_info import ChangeKeyInfoFlow
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.context import Context
from counter_app.workflows.custody import CustodyFlow
from counter_app.workflows.pin_change import PinChangeFlow
from counter_app.workflows.pin_reset import PinResetFlow
from counter_app.workflows.query import QueryFlow
from counter_app.workflows.replace import ReplaceFlow
from counter_app.workflows.report_loss import ReportLossFlow
from counter_app.workflows.transfer_region import TransferRegionFlow

FLOWS: Final[Mapping[str, type[ServiceFlow]]] = {
    flow.item_code: flow
    for flow in (
        ApplyFlow,
        ActivateFlow,
        ChangeKeyInfoFlow,
        ChangeContactFlow,
        QueryFlow,
        PinChangeFlow,
        PinResetFlow,
        ReportLossFlow,
        CancelLossFlow,
        ReplaceFlow,
        TransferRegionFlow,
        CancelCardFlow,
    )
}


#: Counter procedures that are not service items (``Catalog.procedures``): 代管代持授权.
PROCEDURES: Final[Mapping[str, type[ServiceFlow]]] = {CustodyFlow.item_code: CustodyFlow}


def flow_class(item_code: str) -> type[ServiceFlow]:
    """The flow of a service item or counter procedure."""
    try:
        return FLOWS.get(item_code) or PROCEDURES[item_code]
    except KeyError:
        known = ", ".join((*FLOWS, *PROCEDURES))
        raise KeyError(f"no flow for item {item_code!r} (known: {known})") from None


def start(
    item_code: str,
    ctx: Context,
    *,
    variant: str | None = None,
    prefill: Mapping[str, Any] | None = None,
    flow_id: str | None = None,
) -> ServiceFlow:
    """A new flow of ``item_code``; a flow that may not start here is returned REFUSED."""
    flow = flow_class(item_code).start(ctx, variant=variant, prefill=prefill, flow_id=flow_id)
    assert isinstance(flow, ServiceFlow)
    return flow


def start_follow_up(follow_up: FollowUp, ctx: Context) -> ServiceFlow:
    """The flow a finished one leads into (e.g. 关键信息变更 → 换卡)."""
    return start(follow_up.item_code, ctx, variant=follow_up.variant, prefill=follow_up.prefill)


def resume(flow_id: str, ctx: Context) -> ServiceFlow | None:
    """The unfinished flow ``flow_id`` as its last checkpoint left it, or None when there is none."""
    state = ctx.journal.load_checkpoint(flow_id)
    if state is None:
        return None
    flow = flow_class(str(state["item_code"])).restore(ctx, state)
    assert isinstance(flow, ServiceFlow)
    return flow
