"""Helpers for tests through the real pcscd + vpcd: wait for pcscd, collect device events."""

from __future__ import annotations

import queue
import time

from counter_app.devices.pcsc import DeviceEvent, EventKind, ReaderRole


def _wait_for_presence(readers: tuple[str, ...], present: bool, timeout: float) -> None:
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, states = scard.SCardGetStatusChange(
                context, 0, [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
            )
            if all(bool(state & scard.SCARD_STATE_PRESENT) == present for _, state, _ in states):
                return
            time.sleep(0.05)
        raise AssertionError(f"pcscd {'does not see' if present else 'still sees'} a card in {readers}")
    finally:
        scard.SCardReleaseContext(context)


def wait_until_empty(*readers: str, timeout: float = 5) -> None:
    """Wait until pcscd has seen the cards leave (its poll runs every ~0.4 s), so tests don't overlap."""
    _wait_for_presence(readers, False, timeout)


def wait_until_present(*readers: str, timeout: float = 5) -> None:
    """Wait until pcscd has seen a card in each of ``readers``."""
    _wait_for_presence(readers, True, timeout)


class Events:
    """Collects device events from the device thread; waits for the one a test expects."""

    def __init__(self) -> None:
        self.queue: queue.Queue[DeviceEvent] = queue.Queue()
        self.seen: list[DeviceEvent] = []

    def __call__(self, event: DeviceEvent) -> None:
        self.queue.put(event)

    def wait_for(
        self, kind: EventKind, role: ReaderRole | None = ReaderRole.CARD, timeout: float = 10
    ) -> DeviceEvent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(event)
            if event.kind is kind and (role is None or event.role is role):
                return event
        raise AssertionError(
            f"no {kind.value} for {role} within {timeout} s; saw {[e.kind.value for e in self.seen]}"
        )

    def wait_for_all(
        self, *wanted: tuple[EventKind, ReaderRole | None], timeout: float = 10
    ) -> list[DeviceEvent]:
        """Wait until each (kind, role) has come, in any order; the events in the order asked for."""
        found: dict[int, DeviceEvent] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(wanted) and time.monotonic() < deadline:
            try:
                event = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(event)
            for i, (kind, role) in enumerate(wanted):
                if i not in found and event.kind is kind and (role is None or event.role is role):
                    found[i] = event
                    break
        if len(found) < len(wanted):
            raise AssertionError(
                f"not all of {[(k.value, r) for k, r in wanted]} within {timeout} s; "
                f"saw {[e.kind.value for e in self.seen]}"
            )
        return [found[i] for i in range(len(wanted))]
