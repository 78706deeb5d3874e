"""`PinService` in process: entry before the card job, wipe after it, outcomes and refusals in Chinese.

The card is the emulator through its in-process transport; the secure path runs `Part10PinPad`
against a simulated pinpad reader that fills the APDU template as PC/SC Part 10 describes, so the
templates are also checked against the emulated card's PIN format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import pytest

from counter_app.card import PsamKeyProvider, SocialSecurityCard
from counter_app.card.errors import InitialPinRefused, PinBlocked, PinIncorrect
from counter_app.devices.pinpad import (
    CardSession,
    Part10PinPad,
    PinOperation,
    PinPadNotCapable,
    PinService,
)
from counter_app.devices.pinpad.secure_pad import CM_IOCTL_GET_FEATURE_REQUEST
from counter_app.emulator import EmulatedCard, InProcessTransport, build_card, build_psam
from counter_app.workflows.ports import (
    CardTransport,
    PinEntries,
    PinPadOutcome,
    PinRequest,
    SecretPin,
    SecurePinResult,
)

T = TypeVar("T")


class Runner:
    """Runs card jobs on the emulator and records whether a job was running at any moment."""

    def __init__(self, card: EmulatedCard) -> None:
        self.card = card
        self.transport = InProcessTransport("模拟读卡器 0", card)
        self.psam = InProcessTransport("模拟 PSAM 卡座 0", build_psam())
        self.in_job = False
        self.jobs = 0

    def __call__(self, job: Callable[[CardSession], T], *, needs_psam: bool = False) -> T:
        keys = PsamKeyProvider(self.psam) if needs_psam else None
        self.in_job, self.jobs = True, self.jobs + 1
        try:
            return job(CardSession(SocialSecurityCard(self.transport, keys), self.transport))
        finally:
            self.in_job = False


class Pad:
    """A non-secure pad whose citizen types ``entries`` (already as the pad returns them)."""

    secure = False

    def __init__(
        self, runner: Runner, entries: Sequence[str] = (), outcome: PinPadOutcome = PinPadOutcome.ENTERED
    ):
        self.runner = runner
        self.entries = list(entries)
        self.outcome = outcome
        self.buffers: list[bytearray] = []
        self.collected_during_a_job = False

    def collect(self, request: PinRequest) -> PinEntries:
        self.collected_during_a_job |= self.runner.in_job
        if self.outcome is not PinPadOutcome.ENTERED:
            return PinEntries(self.outcome)
        self.buffers = [bytearray(e.encode()) for e in self.entries]
        return PinEntries(PinPadOutcome.ENTERED, [SecretPin(b) for b in self.buffers])

    def enter_on_card(self, request: PinRequest, transport: CardTransport) -> SecurePinResult:
        raise AssertionError("not secure")

    def cancel(self) -> bool:
        return True


def service(
    card: str | EmulatedCard, entries: Sequence[str] = (), **kw: PinPadOutcome
) -> tuple[PinService, Pad, Runner]:
    runner = Runner(build_card(card) if isinstance(card, str) else card)
    pad = Pad(runner, entries, **kw)
    return PinService(pad, runner), pad, runner


def test_verify_collects_first_then_sends_and_wipes() -> None:
    svc, pad, runner = service("muchuan_v3", ["147258"])
    result = svc.verify()
    assert result.done and result.message == "密码校验通过" and result.interface_code == 0
    assert not pad.collected_during_a_job and runner.jobs == 2  # tries first, then VERIFY
    assert pad.buffers == [bytearray(6)]
    assert runner.card.pin_verified


def test_a_wrong_pin_shows_tries_left_and_the_sixth_locks() -> None:
    svc, pad, runner = service("muchuan_v3", ["731946"])
    result = svc.verify()
    assert not result.done and result.message == "密码错误，还可尝试 5 次"
    assert isinstance(result.error, PinIncorrect) and result.tries_left == 5 and result.interface_code == -51
    for _ in range(5):
        result = svc.verify()
    assert isinstance(result.error, PinBlocked) and result.message == "密码已锁定" and result.tries_left == 0
    jobs = runner.jobs
    again = svc.verify()  # a locked card is refused before the citizen is asked
    assert again.interface_code == -52 and again.outcome is None and runner.jobs == jobs + 1
    assert all(not any(b) for b in pad.buffers)


def test_change_sends_old_and_new_and_refuses_the_initial_pin_without_an_apdu() -> None:
    svc, _, runner = service("muchuan_v3", ["147258", "731946"])
    assert svc.change().message == "密码修改成功"
    assert runner.card.pin_matches("731946")
    svc, _, runner = service("muchuan_v3", ["147258", "123456"])
    result = svc.change()
    assert isinstance(result.error, InitialPinRefused) and result.interface_code == -36
    assert runner.card.pin_matches("147258")


@pytest.mark.parametrize(
    "outcome",
    [
        PinPadOutcome.MISMATCH,
        PinPadOutcome.CITIZEN_CANCELLED,
        PinPadOutcome.TIMED_OUT,
        PinPadOutcome.CLERK_CANCELLED,
    ],
)
def test_an_entry_that_did_not_end_entered_sends_nothing(outcome: PinPadOutcome) -> None:
    svc, _, runner = service("muchuan_v3", outcome=outcome)
    before = runner.card.pin_tries_left
    result = svc.change()
    assert (result.done, result.outcome, result.message) == (False, outcome, outcome.message)
    assert runner.jobs == 1 and runner.card.pin_tries_left == before  # only the tries check


def test_reload_sets_the_new_pin_on_a_locked_card_and_unblock_keeps_the_pin() -> None:
    svc, _, runner = service("locked", ["731946"])
    result = svc.reload()
    assert result.done and result.tries_left == 6 and runner.card.pin_matches("731946")
    svc, _, runner = service("locked")
    result = svc.unblock()
    assert (result.done, result.message, result.tries_left) == (True, "密码解锁成功", 6)
    assert runner.card.pin_matches("112233")


# --- the secure path, with a simulated Part 10 reader -------------------------------------------------


class SimulatedPinpadReader:
    """Reader firmware as Part 10 describes it: types the citizen's digits into the APDU template."""

    VERIFY, MODIFY = 0x7E000006, 0x7E000007

    def __init__(self, transport: InProcessTransport, typed: Sequence[str]) -> None:
        self.transport = transport
        self.typed = list(typed)
        self.sent: list[bytes] = []

    @staticmethod
    def _insert(apdu: bytearray, offset: int, digits: str) -> None:
        for i, d in enumerate(digits):
            byte = apdu[5 + offset + i // 2]
            apdu[5 + offset + i // 2] = (int(d) << 4 | byte & 0x0F) if i % 2 == 0 else (byte & 0xF0 | int(d))

    def control(self, controlCode: int, command: list[int] | None = None) -> list[int]:  # noqa: N803
        data = bytes(command or [])
        if controlCode == CM_IOCTL_GET_FEATURE_REQUEST:
            return list(bytes.fromhex("06 04 7E 00 00 06 07 04 7E 00 00 07"))
        if self.typed and self.typed[0] in ("cancel", "timeout"):
            return [0x64, 0x01] if self.typed.pop(0) == "cancel" else [0x64, 0x00]
        if controlCode == self.VERIFY:
            apdu = bytearray(data[19:])
            self._insert(apdu, (data[2] >> 3) & 0x0F, self.typed.pop(0))
        else:
            apdu = bytearray(data[24:])
            old, new, again = self.typed.pop(0), self.typed.pop(0), self.typed.pop(0)
            if new != again:
                return [0x64, 0x02]
            self._insert(apdu, data[5], old)
            self._insert(apdu, data[6], new)
        self.sent.append(bytes(apdu))
        return list(self.transport.transmit(apdu))


def secure_service(card: str, typed: Sequence[str]) -> tuple[PinService, SimulatedPinpadReader, Runner]:
    runner = Runner(build_card(card))
    simulated = SimulatedPinpadReader(runner.transport, typed)
    return PinService(Part10PinPad(lambda transport: simulated), runner), simulated, runner


def test_the_secure_path_verifies_and_changes_with_templates_the_card_accepts() -> None:
    svc, simulated, runner = secure_service("muchuan_v3", ["147258", "147258", "731946", "731946"])
    assert svc.verify().done
    assert simulated.sent[-1] == bytes.fromhex("00 20 00 00 03 14 72 58")
    assert svc.change().done and runner.card.pin_matches("731946")
    assert simulated.sent[-1] == bytes.fromhex("80 5E 01 00 07 14 72 58 FF 73 19 46")


def test_the_secure_path_maps_the_readers_outcomes_and_the_cards_refusals() -> None:
    svc, _, _ = secure_service("muchuan_v3", ["000000", "cancel", "timeout", "147258", "731946", "731947"])
    wrong = svc.verify()
    assert isinstance(wrong.error, PinIncorrect) and wrong.message == "密码错误，还可尝试 5 次"
    assert svc.verify().message == "客户取消输入"
    assert svc.verify().message == "输入超时"
    assert svc.change().message == "两次输入的新密码不一致"
    assert not svc.can_reload
    with pytest.raises(PinPadNotCapable, match="密码重置"):
        svc.reload()


def test_a_locked_card_is_refused_before_the_reader_prompts() -> None:
    svc, simulated, _ = secure_service("locked", ["112233"])
    result = svc.verify()
    assert isinstance(result.error, PinBlocked) and simulated.sent == [] and simulated.typed == ["112233"]
    assert PinOperation.UNBLOCK.done_message == "密码解锁成功"
