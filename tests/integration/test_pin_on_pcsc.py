"""PIN services end to end: the training pad on a pty + the real pcscd + vpcd with the emulated card and PSAM.

The citizen types on `TrainingPinPad` (driven by its key script), `SerialPinPad` collects the entries
through pyserial on the calling thread, then `PinService` submits one job to the `PcscDevices` device
thread, which sends the APDUs through pyscard, pcscd and vpcd to the emulated card. Nothing in the
chain is a fake.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from counter_app.card.errors import InitialPinRefused, PinBlocked, PinIncorrect
from counter_app.devices.pinpad import PinService, SerialPinPad, VendorPadClient
from counter_app.emulator import build_card
from counter_app.emulator.pinpad import PadEvent, TrainingPinPad
from counter_app.workflows.ports import PinPadOutcome
from tests.devices.pinpad.stack import Bench, pcsc_bench

pytestmark = [pytest.mark.integration, pytest.mark.pcsc]


@pytest.fixture
def bench(pcscd: dict[str, str]) -> Iterator[Bench]:
    with pcsc_bench(pcscd) as ready:
        yield ready


@pytest.fixture
def pad() -> Iterator[TrainingPinPad]:
    with TrainingPinPad() as training:
        yield training


@pytest.fixture
def service(pad: TrainingPinPad, bench: Bench) -> Iterator[PinService]:
    host = SerialPinPad(pad.port, grace_seconds=1.0)
    yield PinService(host, bench.runner, timeout_seconds=5)
    host.close()


def apdus_of(bench: Bench, action: object) -> int:
    before = bench.apdus_to_card
    assert callable(action)
    action()
    return bench.apdus_to_card - before


def test_verify_while_the_device_thread_stays_free_during_entry(
    bench: Bench, pad: TrainingPinPad, service: PinService
) -> None:
    card = build_card("muchuan_v3")
    bench.insert(card)
    free_during_entry: list[str] = []

    def on_event(event: PadEvent) -> None:  # the citizen is typing: the device thread must answer
        if event.kind == "key" and event.typed == 3:
            free_during_entry.append(bench.devices.submit(lambda d: "free").result(2))

    pad._on_event = on_event
    pad.script("147258#")
    result = service.verify()
    assert (result.done, result.message, result.interface_code) == (True, "密码校验通过", 0)
    assert free_during_entry == ["free"]
    assert card.pin_verified


def test_wrong_pin_shows_tries_left_then_locks_and_a_locked_card_is_not_prompted(
    bench: Bench, pad: TrainingPinPad, service: PinService
) -> None:
    card = build_card("muchuan_v3")
    bench.insert(card)
    pad.script("731946#")
    wrong = service.verify()
    assert isinstance(wrong.error, PinIncorrect) and wrong.message == "密码错误，还可尝试 5 次"
    assert (wrong.tries_left, wrong.interface_code, card.pin_tries_left) == (5, -51, 5)
    pad.script(*["731946#"] * 5)
    results = [service.verify() for _ in range(5)]
    assert [r.tries_left for r in results] == [4, 3, 2, 1, 0]
    assert isinstance(results[-1].error, PinBlocked) and results[-1].message == "密码已锁定"
    shown = len(pad.prompts_shown)
    pad.script("147258#")
    locked = service.verify()  # even the right PIN: refused, and the citizen is not asked
    assert (locked.message, locked.interface_code, locked.outcome) == ("密码已锁定", -52, None)
    assert len(pad.prompts_shown) == shown and card.pin_tries_left == 0


def test_change_old_new_again(bench: Bench, pad: TrainingPinPad, service: PinService) -> None:
    card = build_card("muchuan_v3")
    bench.insert(card)
    pad.script("147258#", "731946#", "731946#")
    result = service.change()
    assert (result.done, result.message) == (True, "密码修改成功")
    assert card.pin_matches("731946") and [p.text for p in pad.prompts_shown] == [
        "请输入原密码", "请输入新密码", "请再次输入新密码",
    ]  # fmt: skip
    pad.script("731946#", "123456#", "123456#")
    refused = service.change()
    assert isinstance(refused.error, InitialPinRefused) and refused.interface_code == -36
    assert card.pin_matches("731946")


def test_mismatched_new_entries_send_no_pin_apdu(
    bench: Bench, pad: TrainingPinPad, service: PinService
) -> None:
    card = build_card("muchuan_v3")
    bench.insert(card)
    check_only = apdus_of(bench, service.tries_left)
    pad.script("147258#", "731946#", "731947#")
    outcome: list[PinPadOutcome | None] = []
    sent = apdus_of(bench, lambda: outcome.append(service.change().outcome))
    assert outcome == [PinPadOutcome.MISMATCH] and sent == check_only  # the tries check only, no CHANGE PIN
    assert card.pin_matches("147258") and card.pin_tries_left == 6


def test_reload_sets_a_new_pin_on_a_locked_card(
    bench: Bench, pad: TrainingPinPad, service: PinService
) -> None:
    card = build_card("locked")
    bench.insert(card)
    pad.script("731946#", "731946#")
    result = service.reload()
    assert (result.done, result.message, result.tries_left) == (True, "密码重置成功", 6)
    assert card.pin_matches("731946") and not card.pin_matches("112233")
    pad.script("731946#", "731947#")
    assert service.reload().outcome is PinPadOutcome.MISMATCH and card.pin_matches("731946")


def test_unblock_resets_the_tries_and_keeps_the_pin(
    bench: Bench, pad: TrainingPinPad, service: PinService
) -> None:
    card = build_card("locked")
    bench.insert(card)
    result = service.unblock()
    assert (result.done, result.message, result.tries_left) == (True, "密码解锁成功", 6)
    assert card.pin_tries_left == 6 and card.pin_matches("112233")
    pad.script("112233#")
    assert service.verify().done


def test_timeout_citizen_cancel_and_clerk_cancel_are_distinct_and_send_nothing(
    bench: Bench, pad: TrainingPinPad, pcscd: dict[str, str]
) -> None:
    card = build_card("muchuan_v3")
    bench.insert(card)
    host = SerialPinPad(pad.port, grace_seconds=1.0)
    service = PinService(host, bench.runner, timeout_seconds=1)
    try:
        check_only = apdus_of(bench, service.tries_left)
        endings = []
        for script in ("1472", "14*", "147"):
            pad.script(script)
            if script == "147":
                threading.Timer(0.3, service.cancel).start()
            sent = apdus_of(bench, lambda: endings.append(service.verify()))
            assert sent == check_only
        assert [(r.outcome, r.message) for r in endings] == [
            (PinPadOutcome.TIMED_OUT, "输入超时"),
            (PinPadOutcome.CITIZEN_CANCELLED, "客户取消输入"),
            (PinPadOutcome.CLERK_CANCELLED, "柜员已取消输入"),
        ]
        assert [r.interface_code for r in endings[:2]] == [-32, -31]
        assert card.pin_tries_left == 6 and not card.pin_verified
    finally:
        host.close()


def test_verify_through_the_vendor_helper_seam(bench: Bench, pad: TrainingPinPad) -> None:
    card = build_card("emeishan_v2")
    bench.insert(card)
    command = [sys.executable, "-m", "counter_app.devices.pinpad.helper", "--port", pad.port]
    with VendorPadClient(command) as vendor:
        service = PinService(vendor, bench.runner)
        pad.script("802468#")
        assert service.verify().done
        pad.script("802468#", "731946#", "731946#")
        assert service.change().done and card.pin_matches("731946")
