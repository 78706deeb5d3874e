"""The idle lock (闲置锁屏): after some minutes without keyboard or mouse, lock the screen.

Clerks share the counter PC and step away; a citizen's data must not stay on an unattended
screen. Only the clerk's own input counts as activity (a card inserted does not).
"""

from __future__ import annotations

from counter_app.ui.qt import QApplication, QEvent, QObject, QTimer, Signal

ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.InputMethod,
    }
)


class IdleWatcher(QObject):
    """Emits `idle` once after ``timeout_ms`` without user input while armed."""

    idle = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(timeout_ms)
        self._timer.timeout.connect(self.idle)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    @property
    def timeout_ms(self) -> int:
        return self._timer.interval()

    def set_timeout(self, timeout_ms: int) -> None:
        self._timer.setInterval(timeout_ms)
        if self._timer.isActive():
            self._timer.start()

    def arm(self) -> None:
        """Start watching (an operator signed in or unlocked)."""
        if self._timer.interval() > 0:
            self._timer.start()

    def disarm(self) -> None:
        """Stop watching (signed out, or already locked)."""
        self._timer.stop()

    @property
    def armed(self) -> bool:
        return self._timer.isActive()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() in ACTIVITY and self._timer.isActive():
            self._timer.start()
        return False
