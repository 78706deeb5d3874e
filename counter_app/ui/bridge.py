"""From worker threads to the GUI thread (线程桥): device events and finished jobs as Qt signals.

`GuiBridge` lives on the GUI thread. Any thread may call `post` (run a function on the GUI
thread), `post_event` (a device event) or `deliver` (a future's result); the signals are connected
with ``Qt.QueuedConnection``, so the slot runs in the GUI thread's event loop, never in the caller.
`BackgroundTasks` runs blocking calls (HTTP, probes) on a small pool and hands results back the
same way; a `Task` can be cancelled, which means its result is dropped (a request already on the
wire cannot be recalled).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from counter_app.devices.pcsc import DeviceEvent
from counter_app.ui.qt import QObject, Qt, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")


class GuiBridge(QObject):
    """Queued signals from any thread to slots on the GUI thread."""

    device_event = Signal(object)  # DeviceEvent
    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def post(self, function: Callable[[], Any]) -> None:
        """Run ``function()`` on the GUI thread (soon, in its event loop); dropped once the window
        is gone (a device event or a late answer while the program shuts down)."""
        try:
            self._call.emit(function)
        except RuntimeError:
            log.debug("GUI bridge gone: a late callback is dropped")

    def post_event(self, event: DeviceEvent) -> None:
        """The device thread's callback: re-emit ``event`` as `device_event` on the GUI thread."""
        self.post(lambda: self.device_event.emit(event))

    def deliver(
        self,
        future: Future[T],
        on_result: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call ``on_result(value)`` or ``on_error(exc)`` on the GUI thread when ``future`` is done."""

        def done(f: Future[T]) -> None:
            if f.cancelled():
                return
            error = f.exception()
            if error is None:
                self.post(lambda: on_result(f.result()))
            elif on_error is not None:
                self.post(lambda: on_error(error))
            else:
                log.error("background job failed", exc_info=error)

        future.add_done_callback(done)

    def _run(self, function: Callable[[], Any]) -> None:
        try:
            function()
        except Exception:
            log.exception("GUI callback failed")


class Task:
    """A running background call whose result the GUI may stop waiting for (可取消的等待)."""

    def __init__(self, future: Future[Any]) -> None:
        self.future = future
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.future.cancel()

    @property
    def running(self) -> bool:
        return not self.cancelled and not self.future.done()


class BackgroundTasks:
    """A small pool for blocking calls (HTTP, printer and PIN-pad probes), results on the GUI thread."""

    def __init__(self, bridge: GuiBridge, *, workers: int = 3, name: str = "shell-io") -> None:
        self._bridge = bridge
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    def run(
        self,
        call: Callable[[], T],
        on_result: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Task:
        future = self._pool.submit(call)
        task = Task(future)

        def result(value: T) -> None:
            if not task.cancelled:
                on_result(value)

        def error(exc: BaseException) -> None:
            if not task.cancelled:
                if on_error is not None:
                    on_error(exc)
                else:
                    log.error("background call failed", exc_info=exc)

        self._bridge.deliver(future, result, error)
        return task

    def shutdown(self) -> None:
        """No new calls; those already submitted (a sign-out) still run."""
        self._pool.shutdown(wait=False)
