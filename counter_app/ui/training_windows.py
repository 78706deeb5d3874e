"""The citizen's side in 培训模式 (培训窗口): "客户操作" and "客户密码键盘".

"客户操作" puts a test card into the emulated reader, takes it out, swaps it, or unplugs the
reader; "客户密码键盘" shows what the training PIN pad shows (its prompt and how many digits are
typed, never which) and has its keys. Both only hand requests to the emulator's own threads;
nothing here waits for a device.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, Protocol

from counter_app.ui.bridge import GuiBridge
from counter_app.ui.generated.ui_customer_window import Ui_CustomerWindow
from counter_app.ui.generated.ui_pin_pad_window import Ui_PinPadWindow
from counter_app.ui.qt import QListWidgetItem, Qt, QWidget


class CustomerHands(Protocol):
    """What the citizen can do with the emulated reader (`EmulatedDevices`)."""

    inserted: str | None

    def insert(self, name: str) -> Future[None]: ...

    def remove(self) -> Future[None]: ...

    def set_reader_connected(self, connected: bool) -> Future[None]: ...


class CustomerWindow(QWidget):
    """客户操作: insert, remove and swap test cards; unplug the reader."""

    def __init__(
        self,
        hands: CustomerHands,
        cards: Mapping[str, tuple[str, str]],
        bridge: GuiBridge,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.ui = Ui_CustomerWindow()
        self.ui.setupUi(self)
        self._hands = hands
        self._bridge = bridge
        self._cards = cards
        for name, (label, tooltip) in cards.items():
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(tooltip)
            self.ui.cardList.addItem(item)
        self.ui.cardList.setCurrentRow(0)
        self.ui.insertButton.clicked.connect(self.insert_selected)
        self.ui.swapButton.clicked.connect(self.insert_selected)
        self.ui.removeButton.clicked.connect(self.remove)
        self.ui.readerButton.toggled.connect(self._reader_toggled)
        self.ui.cardList.itemActivated.connect(lambda _item: self.insert_selected())
        self._refresh()

    def selected(self) -> str | None:
        item = self.ui.cardList.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def insert_selected(self) -> None:
        name = self.selected()
        if name is not None:
            self._after(self._hands.insert(name))

    def insert(self, name: str) -> Future[None]:
        future = self._hands.insert(name)
        self._after(future)
        return future

    def remove(self) -> Future[None]:
        future = self._hands.remove()
        self._after(future)
        return future

    def _reader_toggled(self, unplugged: bool) -> None:
        self.ui.readerButton.setText(self.tr("连接读卡器(&D)") if unplugged else self.tr("断开读卡器(&D)"))
        self._after(self._hands.set_reader_connected(not unplugged))

    def _after(self, future: Future[Any]) -> None:
        self._bridge.deliver(future, lambda _: self._refresh(), lambda _: self._refresh())

    def _refresh(self) -> None:
        name = self._hands.inserted
        if name is None:
            self.ui.inReaderLabel.setText(self.tr("读卡器中：无卡"))
        else:
            label = self._cards[name][0] if name in self._cards else name
            self.ui.inReaderLabel.setText(self.tr("读卡器中：%1").replace("%1", label))
        self.ui.removeButton.setEnabled(name is not None)
        self.ui.swapButton.setEnabled(name is not None)
        self.ui.insertButton.setEnabled(name is None)


class PadKeys(Protocol):
    """The training pad's keys (`TrainingPinPad`)."""

    def press(self, key: str) -> None: ...


class PinPadWindow(QWidget):
    """客户密码键盘: the pad's display and keys, for the trainee playing the citizen."""

    def __init__(self, pad: PadKeys, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.ui = Ui_PinPadWindow()
        self.ui.setupUi(self)
        self._pad = pad
        self._max = 0
        keys: dict[str, Any] = {str(d): getattr(self.ui, f"key{d}") for d in range(10)}
        keys.update({"<": self.ui.keyClear, "#": self.ui.keyEnter, "*": self.ui.keyCancel})
        for key, button in keys.items():
            button.clicked.connect(self._presser(key))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.show_idle()

    def _presser(self, key: str) -> Callable[[], None]:
        return lambda: self._pad.press(key)

    def show_idle(self, status: str = "") -> None:
        self.ui.promptLabel.setText(self.tr("待机"))
        self.ui.digitsLabel.setText("")
        self.ui.statusLabel.setText(status or self.tr("柜员发起密码输入后，在此按键。"))

    def show_prompt(self, text: str, max_length: int) -> None:
        self._max = max_length
        self.ui.promptLabel.setText(text)
        self.show_typed(0)
        self.ui.statusLabel.setText(self.tr("输入后按“确认”；按错可“更正”。"))

    def show_typed(self, typed: int) -> None:
        self.ui.digitsLabel.setText("●" * typed + "○" * max(0, self._max - typed))

    def on_pad_event(self, kind: str, text: str, typed: int, max_length: int, ending: str) -> None:
        """A `PadEvent` from the pad thread, already marshalled to the GUI thread."""
        if kind == "prompt":
            self.show_prompt(text, max_length)
        elif kind == "key":
            self.show_typed(typed)
        elif kind == "ended":
            endings = {
                "entered": self.tr("已确认"),
                "citizen_cancelled": self.tr("已取消（客户）"),
                "timed_out": self.tr("输入超时"),
                "host_cancelled": self.tr("柜员已取消"),
            }
            self.show_idle(endings.get(ending, ending))
