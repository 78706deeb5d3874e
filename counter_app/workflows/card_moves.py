"""插卡与取卡 — waiting for the clerk's card moves, and the steps that guide them.

During instant issuance the clerk handles two cards in one reader: the holder's old card is read and
taken out, then the blank 预制卡 goes in; a card pulled in the middle of a write must come back. A
flow step that needs such a move says what to do (`Flow.tell`, shown by the wizard while the step
runs) and waits on the `CardWait` port until the reader is in the wanted state, so the clerk never
presses a key to say "done". Esc (``CardWait.cancel``) stops the wait: the step then shows what it
was waiting for and Enter waits again.

`ReaderWatch` is the `CardWait` over any `CardTransport`: it looks at the reader (``atr()``) every
``interval`` seconds and at once when `notify` is called (the shell forwards the reader's insert and
remove events). Qt-free; the wait runs on the flow's worker thread, never on the GUI thread.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from counter_app.workflows.base import StepFailed
from counter_app.workflows.ports import CardRemovedError, CardTransport, TransportError

if TYPE_CHECKING:
    from counter_app.workflows.base import Flow

#: Seconds between two looks at a reader that sends no events (in-process emulator, a vendor DLL).
POLL_INTERVAL = 0.2


class ReaderWatch:
    """`CardWait` by looking at the reader's ATR; `notify` wakes a waiter early."""

    def __init__(self, transport: CardTransport, *, interval: float = POLL_INTERVAL) -> None:
        self._transport = transport
        self._interval = interval
        self._condition = threading.Condition()
        self._cancelled = False
        self._events = 0

    def present(self) -> bool:
        try:
            self._transport.atr()
        except CardRemovedError:
            return False
        return True

    def wait(self, present: bool) -> bool:
        while True:
            with self._condition:
                if self._cancelled:
                    self._cancelled = False
                    return False
                seen = self._events
            try:
                if self.present() == present:
                    return True
            except TransportError:
                pass  # a reader fault while waiting: look again (the step reports faults when it acts)
            with self._condition:
                if not self._cancelled and self._events == seen:
                    self._condition.wait(self._interval)

    def cancel(self) -> None:
        with self._condition:
            self._cancelled = True
            self._condition.notify_all()

    def notify(self) -> None:
        with self._condition:
            self._events += 1
            self._condition.notify_all()


def can_wait(flow: Flow) -> bool:
    """Whether someone can make the card move while the flow waits (a wizard gave a `CardWait`).

    Without one (a flow driven step by step, as the flow tests do) a step that needs a card move
    ends with the move as its problem, and submitting again looks again.
    """
    return flow.ctx.card_wait is not None


def card_present(flow: Flow) -> bool:
    """Whether a card is in the reader now (a reader fault counts as no card)."""
    watch = flow.ctx.card_wait or ReaderWatch(flow.ctx.card_transport)
    try:
        return watch.present()
    except TransportError:
        return False


def await_card(flow: Flow, *, present: bool, say: str) -> None:
    """Wait until a card is (or is no longer) in the reader, telling the clerk ``say`` meanwhile.

    Returns at once when the reader already is in that state. Esc stops the wait: a `StepFailed`
    with ``say`` as the message, so the page keeps showing what to do and Enter waits again.
    """
    if card_present(flow) == present:
        return
    watch = flow.ctx.card_wait
    if watch is None:
        raise StepFailed("card_move_needed", say, "完成后按 Enter 继续")
    flow.tell(say)
    if not watch.wait(present):
        raise StepFailed("card_wait_stopped", f"已停止等待：{say}", "完成后按 Enter 继续；按 Esc 取消办理")
