"""The change-feed puller (变更流同步): keeps the replica of the county and of the persons served.

Follow: ``GET /changes?since=<cursor>`` page by page; each page is applied with its cursor in one
local transaction (`Replica.apply`), so after a crash the replica and its cursor agree and the page
is simply read again. Entries are upserts of whole records with the feed number as the row's
version, so a replayed or reordered entry never overwrites a newer state.

Scope: the server's feed is the whole city (central/services/feed.py); the counter keeps the persons
of its county (参保地 = the county) and those it already holds (persons it served, see
``central.SyncedCentral.find_person``), their cards, and the payments to their cards. Subsidy
payments of anyone else are fetched on demand. Someone who moves into the county (参保地变更) comes
with their cards and payments: the server gives them feed entries in the same transaction.

First start, or ``410 Gone`` (the cursor is older than the server keeps, or from another database):
a full resync. Every page of ``GET /snapshot`` for persons, cards and payments is applied with its
progress (resumable after a crash); the first page's ``as_of`` is kept, and the feed is replayed
from it, so snapshot + replay equals the server's state. Rows take the snapshot page's ``as_of`` as
their version (every later feed entry outranks them). A cursor from another database wipes the
replica first (its versions mean nothing here).

An empty replica asks for its county's pages only (``&region=``); one that already holds persons
pages through the whole city. A page is applied in one transaction: payments go straight from the
server's records to rows (millions of them on a first start), and the personal fields of a page
are encrypted with one keystream (``FieldCipher.encrypt_many``).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import requests

from counter_app.store import ReplicaCard, ReplicaPayment, ReplicaPerson, Store
from counter_app.sync.client import CentralClient
from counter_app.sync.config import SyncConfig
from counter_app.sync.credentials import TokenStore
from counter_app.sync.problems import Problem, ServerUnreachable, SignInRequired
from counter_app.sync.replica_view import (
    FEED,
    card_from_record,
    payment_from_record,
    payment_row,
    payment_rows_maker,
    person_from_record,
    person_of,
)

log = logging.getLogger(__name__)

ENTITIES: Final = ("person", "card", "payment")
#: Resync bookkeeping in ``sync_cursors``: the phase, the snapshot's as_of, each entity's progress.
PHASE: Final = "central.phase"
AS_OF: Final = "central.snapshot.as_of"
_PROGRESS = "central.snapshot."
_NARROWED = "central.snapshot.region"  # 1: this resync pages through the county only
SNAPSHOTTING, FOLLOWING = 1, 2


class FeedGone(Exception):
    """``410 Gone``: the cursor is no longer served; ``foreign`` when it lies beyond the server's feed."""

    def __init__(self, foreign: bool) -> None:
        super().__init__("cursor expired")
        self.foreign = foreign


@dataclass
class PullReport:
    """What one pull did (rows applied, pages, whether it resynced)."""

    entries: int = 0
    applied: int = 0
    pages: int = 0
    resynced: bool = False
    snapshot_rows: int = 0
    cursor: int = 0
    skipped: str = ""  # why nothing was pulled ("sign_in_required")
    #: Seconds spent waiting for the server's pages, and applying them locally (the snapshot).
    waited_seconds: float = 0.0
    applying_seconds: float = 0.0


@dataclass
class _Rows:
    persons: list[ReplicaPerson]
    cards: list[ReplicaCard]
    payments: list[ReplicaPayment]

    @property
    def count(self) -> int:
        return len(self.persons) + len(self.cards) + len(self.payments)


class Puller:
    """Pulls the change feed into the replica (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        client: CentralClient,
        tokens: TokenStore,
        config: SyncConfig,
        county: str | Callable[[], str | None] | None,
    ) -> None:
        self.store = store
        self.replica = store.replica
        self.client = client
        self.tokens = tokens
        self.config = config
        #: A callable answering the county code the replica covers (it becomes known at sign-in).
        self._county = county
        self._lock = threading.Lock()

    @property
    def county(self) -> str | None:
        value = self._county() if callable(self._county) else self._county
        return None if value is None else str(value)

    def _token(self) -> str:
        token = self.tokens.any_token()
        if token is None:
            raise SignInRequired()
        return token

    # -- the feed --------------------------------------------------------------------------------------

    def pull(self, *, max_pages: int | None = None) -> PullReport:
        """Bring the replica up to date: resync when needed, then follow the feed to its end."""
        with self._lock:
            report = PullReport()
            if self.tokens.any_token() is None or self.county is None:
                report.skipped = "sign_in_required"
                return report
            if self.replica.cursor_or_none(PHASE) != FOLLOWING:
                self._resync(report, wipe=False)
            try:
                self._follow(report, max_pages)
            except FeedGone as gone:
                log.warning(
                    "change feed cursor expired (%s); resyncing", "foreign" if gone.foreign else "too old"
                )
                self._resync(report, wipe=gone.foreign, restart=True)
                self._follow(report, max_pages)
            report.cursor = self.replica.cursor(FEED)
            return report

    def _page(self, since: int) -> Mapping[str, Any]:
        response = self.client.get(
            "/changes", params={"since": since, "limit": self.config.feed_page}, token=self._token()
        )
        if response.status_code == 410:
            body = Problem.of(response).body
            last = body.get("last_seq")
            raise FeedGone(foreign=isinstance(last, int) and since > last)
        self._check(response)
        page: Mapping[str, Any] = response.json()
        return page

    def _follow(self, report: PullReport, max_pages: int | None) -> None:
        cursor = self.replica.cursor(FEED)
        while max_pages is None or report.pages < max_pages:
            page = self._page(cursor)
            entries: Sequence[Mapping[str, Any]] = page["entries"]
            rows = self._feed_rows(entries)
            next_cursor = int(page["next"])
            self.replica.apply(
                persons=rows.persons, cards=rows.cards, payments=rows.payments, cursor=(FEED, next_cursor)
            )
            report.pages += 1
            report.entries += len(entries)
            report.applied += rows.count
            cursor = next_cursor
            if not page.get("more"):
                return

    def _feed_rows(self, entries: Sequence[Mapping[str, Any]]) -> _Rows:
        """The entries the replica keeps: county persons, and records of persons it holds."""
        county = self.county
        latest: dict[tuple[str, int], Mapping[str, Any]] = {}
        for entry in entries:  # the latest entry of a record is enough (whole records)
            latest[(str(entry["entity"]), int(entry["id"]))] = entry
        owners = {person_of(e["data"]) for e in latest.values()}
        known = self.replica.known_persons(owners)
        persons: list[ReplicaPerson] = []
        for entry in latest.values():
            data = entry["data"]
            if entry["entity"] == "person" and (
                data.get("insured_region") == county or str(data["id"]) in known
            ):
                known.add(str(data["id"]))
                persons.append(
                    person_from_record(data, int(entry["seq"]), str(entry.get("at") or "") or None)
                )
        rows = _Rows(persons, [], [])
        for entry in latest.values():
            data, seq, at = entry["data"], int(entry["seq"]), str(entry.get("at") or "") or None
            if person_of(data) not in known:
                continue
            if entry["entity"] == "card":
                rows.cards.append(card_from_record(data, seq, at))
            elif entry["entity"] == "payment":
                rows.payments.append(payment_from_record(data, seq, at))
        return rows

    # -- full resync ------------------------------------------------------------------------------------

    def resync(self) -> PullReport:
        """A full resync now (also what a ``410 Gone`` leads to)."""
        with self._lock:
            report = PullReport()
            self._resync(report, wipe=False, restart=True)
            self._follow(report, None)
            report.cursor = self.replica.cursor(FEED)
            return report

    def _resync(self, report: PullReport, *, wipe: bool, restart: bool = False) -> None:
        report.resynced = True
        if wipe:
            self.replica.clear()
        kept = self.replica.person_ids()
        if restart or self.replica.cursor_or_none(PHASE) != SNAPSHOTTING:
            for name in (AS_OF, *(_PROGRESS + e for e in ENTITIES)):
                self.replica.set_cursor(name, 0)
            # An empty replica asks for the county's pages only. One that holds persons already
            # (a resync after 410) pages through the whole city: someone it holds may have moved to
            # another 参保地 meanwhile, and only the whole city's pages still carry them.
            self.replica.set_cursor(_NARROWED, 0 if kept else 1)
            self.replica.set_cursor(PHASE, SNAPSHOTTING)
        region = self.county if self.replica.cursor(_NARROWED) else None
        for entity in ENTITIES:
            self._snapshot(entity, kept, report, region)
        as_of = self.replica.cursor(AS_OF)
        self.replica.apply(cursor=(FEED, as_of))
        self.replica.set_cursor(PHASE, FOLLOWING)

    def _snapshot(self, entity: str, kept: set[str], report: PullReport, region: str | None) -> None:
        """Every page of one kind of record (of ``region`` only, if given), each applied with its
        progress (resumable)."""
        progress = _PROGRESS + entity
        pages = self._snapshot_pages(entity, self.replica.cursor(progress), region)
        with self.replica.indexes_deferred(entity):
            self._apply_snapshot_pages(entity, pages, progress, kept, report, region)

    def _apply_snapshot_pages(
        self,
        entity: str,
        pages: Iterator[Mapping[str, Any]],
        progress: str,
        kept: set[str],
        report: PullReport,
        region: str | None,
    ) -> None:
        county = self.county
        first = True
        while True:
            waiting = time.perf_counter()
            page = next(pages, None)
            started = time.perf_counter()
            report.waited_seconds += started - waiting
            if page is None:
                return
            as_of = int(page["as_of"])
            if first:
                first = False
                if self.replica.cursor(AS_OF) == 0:
                    self.replica.set_cursor(AS_OF, as_of)
            items: Sequence[Mapping[str, Any]] = page["items"]
            persons: list[ReplicaPerson] = []
            cards: list[ReplicaCard] = []
            payments: list[tuple[Any, ...]] = []
            if entity == "person":
                for item in items:
                    if item.get("insured_region") == county or str(item["id"]) in kept:
                        persons.append(person_from_record(item, as_of))
                kept.update(person.person_id for person in persons)
            elif entity == "card":
                cards = [card_from_record(item, as_of) for item in items if str(item["person_id"]) in kept]
            elif page.get("rows") is not None:  # millions of them, straight from arrays to rows
                make = payment_rows_maker(page["columns"])
                payments = [make(row, as_of) for row in page["rows"]]
                if region is None:  # the whole city's pages: only the payments to persons kept
                    payments = [row for row in payments if row[1] in kept]
            else:  # a server without ``shape=rows``
                payments = [
                    payment_row(item, as_of)
                    for item in items
                    if region is not None or str(item["recipient_person_id"]) in kept
                ]
            self.replica.apply(
                persons=persons,
                cards=cards,
                payment_rows=payments,
                cursor=(progress, int(page["next_after"])),
            )
            count = len(persons) + len(cards) + len(payments)
            report.snapshot_rows += count
            report.applied += count
            report.pages += 1
            report.applying_seconds += time.perf_counter() - started

    def _snapshot_pages(self, entity: str, after: int, region: str | None) -> Iterator[Mapping[str, Any]]:
        """The snapshot's pages from ``after`` on; the next page is fetched while one is applied."""
        token = self._token()
        narrowed = {} if region is None else {"region": region}
        pages: queue.Queue[Mapping[str, Any] | BaseException | None] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def fetch() -> None:
            position = after
            try:
                while not stop.is_set():
                    response = self.client.get(
                        "/snapshot",
                        params={
                            "entity": entity,
                            "after": position,
                            "limit": self.config.snapshot_page,
                            **narrowed,
                            **({"shape": "rows"} if entity == "payment" else {}),
                        },
                        token=token,
                    )
                    self._check(response)
                    page = response.json()
                    pages.put(page)
                    if not page.get("more"):
                        break
                    position = int(page["next_after"])
                pages.put(None)
            except BaseException as exc:  # handed to the applying thread
                pages.put(exc)

        fetcher = threading.Thread(target=fetch, name=f"snapshot-{entity}", daemon=True)
        fetcher.start()
        try:
            while True:
                item = pages.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while fetcher.is_alive():  # unblock a fetcher waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    pages.get(timeout=0.05)
            fetcher.join()

    @staticmethod
    def _check(response: requests.Response) -> None:
        if response.status_code == 200:
            return
        problem = Problem.of(response)
        if problem.sign_in_needed:
            raise SignInRequired(problem.detail)
        raise ServerUnreachable(f"同步失败：{problem.detail}")
