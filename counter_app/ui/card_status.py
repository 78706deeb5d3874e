"""The card panel's server lookup (卡状态查询) on the `CentralApi` port, with the replica offline.

One ``find_person`` by the 社会保障号码 read from the chip gives both the card's 卡状态 and the
holder's active 代管代持 authorisations. When the server cannot be reached the local replica
answers, with its 数据截至 time (it keeps no custody records, and says so). No Qt here; called on a
worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from counter_app.card import CardInfo
from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.domain.errors import DomainError
from counter_app.ui.ports import CardStatus, OperatorSession
from counter_app.workflows.context import ReplicaLookup
from counter_app.workflows.ports import CentralApi, CentralUnavailable

log = logging.getLogger(__name__)

ID_TYPE = "resident_id"  # the chip's 社会保障号码 is the holder's 公民身份号码


def _label(code: str) -> str:
    try:
        return SocialStatus(code).label
    except ValueError:
        return code


def _custody(person: Mapping[str, Any]) -> str:
    active = [c for c in person.get("custody_authorisations") or () if c.get("active")]
    return "；".join(f"{c['custodian_name']}（{c['relation']}），有效期至 {c['valid_until']}" for c in active)


def status_of(person: Mapping[str, Any], info: CardInfo, as_of: datetime | None = None) -> CardStatus:
    """The card's status as ``person`` (a ``find_person`` answer or a replica snapshot) records it."""
    cards = person.get("cards") or ()
    card = next(
        (
            c
            for c in cards
            if (info.card_number and c.get("card_number") == info.card_number)
            or c.get("card_identifier") == info.card_id
        ),
        None,
    )
    custody = _custody(person)
    if card is None:
        others = "、".join(
            f"{c.get('card_number') or '未制卡'}（{_label(str(c.get('status')))}）" for c in cards
        )
        text = "中心无此卡记录" + (f"；持卡人名下：{others}" if others else "")
        return CardStatus(text, custody_notice=custody, as_of=as_of, known=False)
    return CardStatus(_label(str(card.get("status"))), custody_notice=custody, as_of=as_of)


class CentralCardStatus:
    """`CardStatusLookup` over any `CentralApi` (the sync package's, or a fake) and its replica."""

    def __init__(self, central: CentralApi, replica: ReplicaLookup | None = None) -> None:
        self._central = central
        self._replica = replica

    def card_status(self, session: OperatorSession, info: CardInfo) -> CardStatus:
        if not info.ssn:
            return CardStatus("未读取持卡人信息，未查询", known=False)
        try:
            person = self._central.find_person(ID_TYPE, info.ssn)
        except (CentralUnavailable, DomainError) as error:
            if self._replica is None:
                raise
            log.info("card status from the replica: %s", error)
            snapshot = self._replica.person_snapshot(ID_TYPE, info.ssn)
            if snapshot is None:
                raise
            status = status_of(snapshot.person, info, snapshot.as_of)
            return CardStatus(status.status_label, "", status.as_of, status.known)
        if person is None:
            return CardStatus("中心无此持卡人记录", known=False)
        return status_of(person, info)
