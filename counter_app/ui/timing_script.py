"""The scripted session ``bench/startup.py`` runs (基准测试脚本); only with ``COUNTER_APP_TIMING``.

A `StallMeter` ticks every 5 ms on the GUI thread and keeps the longest gap between ticks: the
longest the event loop could not run. The script inserts a test card at once (emulated card
readable), waits for the embedded server, then swaps cards ten times and records the longest stall
while each card is read; then it quits. Training mode only.
"""

from __future__ import annotations

from typing import Any

from counter_app import timing
from counter_app.ui.qt import QApplication, QElapsedTimer, QObject, QTimer

TICK_MS = 5
ROUNDS = 10


class StallMeter(QObject):
    """The longest gap between 5 ms ticks, overall and within a window of interest."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clock = QElapsedTimer()
        self._clock.start()
        self._last = 0
        self.longest = 0
        self.window_longest = 0
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = self._clock.elapsed()
        gap = now - self._last - TICK_MS
        self._last = now
        self.longest = max(self.longest, gap)
        self.window_longest = max(self.window_longest, gap)

    def begin(self) -> None:
        self._tick()
        self.window_longest = 0

    def end(self) -> int:
        self._tick()
        return max(0, self.window_longest)


def run_script(window: Any, environment: Any) -> None:
    if environment is None or window.cards is None:
        timing.record("script_error", 1)
        QApplication.quit()
        return
    meter = StallMeter(window)
    devices = environment.devices
    names = ["card_a", "emeishan_v2"]
    rounds: list[int] = []  # one entry per round started after the server answered
    stalls: list[int] = []

    def read_done() -> None:
        stall = meter.end()
        if not rounds:
            if stalls:
                return  # a late repeat of the first read
            stalls.append(stall)
            timing.mark("card_readable")
            timing.record("card_read_stall_startup_ms", stall)
            wait_for_server()
            return
        stalls.append(stall)
        next_round()

    def wait_for_server() -> None:
        if environment.sync(0) is None:
            QTimer.singleShot(20, wait_for_server)
            return
        timing.record("max_stall_until_server_ms", meter.longest)
        next_round()

    def next_round() -> None:
        if len(rounds) >= ROUNDS:
            timing.record("card_read_stall_ms", max(stalls[1:]))
            timing.mark("script_done")
            QApplication.quit()
            return
        rounds.append(len(rounds))
        meter.begin()
        devices.insert(names[len(rounds) % 2])

    window.cards.read_finished.connect(read_done)
    meter.begin()
    devices.insert(names[0])
