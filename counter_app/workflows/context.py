"""The bundle of ports and identities a flow runs with (办理环境).

``app.py`` builds one `Context` per signed-in operator at one counter and hands it to every flow;
tests build it from fakes or from the emulator. Nothing here talks to a device by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from counter_app.card import CardSettings, SocialSecurityCard
from counter_app.card.settings import DEFAULT_SETTINGS
from counter_app.domain.card_lifecycle import DEFAULT_POLICY, LifecyclePolicy
from counter_app.domain.catalog import Catalog, load_catalog
from counter_app.domain.operators import (
    DEFAULT_SUPERVISOR_POLICY,
    Operator,
    Outlet,
    SupervisorPolicy,
)
from counter_app.workflows.ports import (
    CardTransport,
    CardWait,
    CentralApi,
    Clock,
    IdReader,
    Journal,
    KeyProvider,
    PinPad,
    Printer,
    ReceiptRenderer,
)


@runtime_checkable
class OperatorDirectory(Protocol):
    """工号目录: who a 工号 belongs to, for the supervisor's second sign-in (复核/授权).

    The sign-in itself (password or token) happens in the UI's dialog before the number reaches
    the flow; the flow checks the role, the outlet and that it is someone else (`check_confirmer`).
    """

    def find(self, number: str) -> Operator | None:
        """The operator with this 工号, or None."""
        ...


@dataclass(frozen=True)
class ReplicaSnapshot:
    """A person as the local replica (本地数据副本) holds them, and since when (数据截至)."""

    person: Mapping[str, Any]
    as_of: datetime


@runtime_checkable
class ReplicaLookup(Protocol):
    """Offline lookups in the local replica (信息查询 when the server cannot be reached)."""

    def person_snapshot(self, id_type: str, id_number: str) -> ReplicaSnapshot | None:
        """The person with their cards (same shape as ``CentralApi.find_person``), or None."""
        ...


def _no_code(number: str) -> str:
    return ""


@dataclass
class Context:
    """Ports, identities and settings of one counter session (柜台会话)."""

    operator: Operator
    outlet: Outlet
    counter_number: str
    central: CentralApi
    journal: Journal
    renderer: ReceiptRenderer
    printer: Printer
    clock: Clock
    pin_pad: PinPad
    card_transport: CardTransport
    key_provider: KeyProvider | None
    operators: OperatorDirectory
    #: 回执校验码 of a 受理编号 (``receipt_code.verification_code`` with the counter's receipt key).
    verification_code: Callable[[str], str] = _no_code
    #: The server cannot be reached now (离线); online-only items refuse to start.
    offline: bool = False
    training: bool = False
    id_reader: IdReader | None = None
    replica: ReplicaLookup | None = None
    catalog: Catalog = field(default_factory=load_catalog)
    policy: LifecyclePolicy = DEFAULT_POLICY
    supervisor_policy: SupervisorPolicy = DEFAULT_SUPERVISOR_POLICY
    card_settings: CardSettings = DEFAULT_SETTINGS
    #: The card's PIN before activation (初始密码): what the holder's new PIN replaces.
    initial_pin: bytes = b"123456"
    #: Waiting for the clerk to insert or take out a card; made from ``card_transport`` when None.
    card_wait: CardWait | None = None

    def card(self) -> SocialSecurityCard:
        """The 社保卡 in the counter's card reader (a fresh session object each time)."""
        return SocialSecurityCard(self.card_transport, self.key_provider, self.card_settings)

    @property
    def capabilities(self) -> tuple[str, ...]:
        """The outlet's capability codes as the catalog spells them."""
        caps = self.outlet.capabilities
        out: list[str] = []
        if caps.can_activate_social:
            out.append("can_activate_social")
        if caps.instant_issuance:
            out.append("instant_issuance")
        return tuple(out)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.now().date()
