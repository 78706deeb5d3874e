"""Benchmark: reading a 社保卡 through the real PC/SC stack (pcscd + vsmartcard-vpcd + pyscard).

Run with the test harness, which starts and stops pcscd:

    python -m tests.harness run --only=pcscd -- .venv/bin/python bench/card_read.py [--reps N] [--reads N]

or on its own, ``.venv/bin/python bench/card_read.py``: when COUNTER_TEST_PCSC_CARD_READER is unset it
starts pcscd itself (``tests.harness.services.Pcscd``, which reuses a running pcscd that offers the vpcd
readers) and stops what it started. Prints figures; asserts nothing.

Per card profile (1.00 qianwei_v1, 2.00 emeishan_v2, 3.00 card_a), one full `read_basic_info`:

- APDUs of one read, card and PSAM counted apart (steady state: the PSAM session is open);
- µs per APDU through the card layer (`SocialSecurityCard` over `PcscTransport`, PSAM through
  `PsamKeyProvider` over `RoleTransport`, on the device thread) against the floor: the same recorded
  APDUs sent with bare ``scard.SCardTransmit`` in a tight loop; and their ratio;
- insertion → event: `VpcdSlot.insert` to the CARD_INSERTED callback (random phase against pcscd's
  ~0.4 s presence poll, so this is dominated by pcscd, not by us);
- event → CardInfo: from that callback, which submits the read job, to `read_basic_info` returning.

Goals (issue 7): a 2.0 card's full CardInfo in ≤ 12 card APDUs; overhead ≤ 1.2× the floor;
event → CardInfo ≤ 20 ms. The card's GET CHALLENGE is fixed (emulator hook) so that the recorded
EXTERNAL AUTHENTICATE of a 3.00 card stays valid when the floor replays it.
"""

from __future__ import annotations

import argparse
import math
import os
import queue
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartcard import scard

from counter_app.card import CardInfo, PsamKeyProvider, ReadScope, SocialSecurityCard
from counter_app.devices.pcsc import DeviceEvent, EventKind, PcscDevices, ReaderRole, RoleTransport
from counter_app.emulator import EmulatedCard, build_card, build_psam
from counter_app.emulator.vpcd import VpcdSlot
from counter_app.workflows.ports import CardTransport

PROFILES = (("1.00", "qianwei_v1"), ("2.00", "emeishan_v2"), ("3.00", "card_a"))
CHALLENGE = bytes.fromhex("0102030405060708")
BATCHES = 31
GOAL_CARD_APDUS = 12
GOAL_RATIO = 1.2
GOAL_EVENT_TO_INFO_MS = 20.0


Answers = dict[tuple[str, bytes], bytes]


class Recording:
    """A `CardTransport` that keeps a copy of every command and answer (the benchmark only reads:
    no PIN data passes here)."""

    def __init__(
        self, inner: CardTransport, device: str, log: list[tuple[str, bytes]], answers: Answers
    ) -> None:
        self._inner, self._device, self._log, self._answers = inner, device, log, answers

    @property
    def reader_name(self) -> str:
        return self._inner.reader_name

    def atr(self) -> bytes:
        return self._inner.atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        key = (self._device, bytes(command))
        self._log.append(key)
        answer = self._inner.transmit(command)
        self._answers[key] = answer
        return answer


class Replay:
    """A `CardTransport` answering from recorded answers: the card layer's own cost, without I/O."""

    def __init__(self, device: str, atr: bytes, answers: Answers) -> None:
        self._device, self._atr, self._answers = device, atr, answers

    @property
    def reader_name(self) -> str:
        return f"replay {self._device}"

    def atr(self) -> bytes:
        return self._atr

    def transmit(self, command: bytes | bytearray) -> bytes:
        return self._answers[(self._device, bytes(command))]


class Watcher:
    """The device-event callback: timestamps events and, when armed, submits the card read."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[float, DeviceEvent]] = queue.Queue()
        self.results: queue.Queue[tuple[float, float, CardInfo | BaseException]] = queue.Queue()
        self.devices: PcscDevices | None = None
        self.keys: PsamKeyProvider | None = None
        self.read_on_insert = False

    def __call__(self, event: DeviceEvent) -> None:  # on the device thread
        now = time.perf_counter()
        self.events.put((now, event))
        if self.read_on_insert and event.kind is EventKind.CARD_INSERTED and event.role is ReaderRole.CARD:
            assert self.devices is not None
            self.devices.submit(lambda d: self._read(d, now))

    def _read(self, devices: PcscDevices, since: float) -> None:
        try:
            info: CardInfo | BaseException = SocialSecurityCard(
                devices.transport(ReaderRole.CARD), self.keys
            ).read_basic_info()
        except BaseException as error:  # reported in the table, never raised on the device thread
            info = error
        self.results.put((since, time.perf_counter(), info))

    def wait(self, kind: EventKind, role: ReaderRole, timeout: float = 10) -> float:
        deadline = time.monotonic() + timeout
        while True:
            at, event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if event.kind is kind and event.role is role:
                return at


@dataclass
class Figures:
    profile: str
    card: str
    card_apdus: int = 0
    psam_apdus: int = 0
    first_read_psam_apdus: int = 0
    basic_card_apdus: int = 0
    layer_us: float = math.nan
    floor_us: float = math.nan
    ratio: float = math.nan  # median of the paired batches' ratios
    cpu_us: float = math.nan  # the card layer's own cost per APDU (recorded answers, no I/O)
    insert_to_event_ms: list[float] = field(default_factory=list)
    event_to_info_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Bench:
    def __init__(self, env: dict[str, str]) -> None:
        self.card_reader = env["COUNTER_TEST_PCSC_CARD_READER"]
        self.psam_reader = env["COUNTER_TEST_PCSC_PSAM_READER"]
        port = int(env["COUNTER_TEST_VPCD_PORT"])
        self.card_slot, self.psam_slot = VpcdSlot(port=port), VpcdSlot(port=port + 1)
        self.watcher = Watcher()
        self.devices = PcscDevices(self.card_reader, self.psam_reader, self.watcher)
        self.watcher.devices = self.devices
        self.keys = PsamKeyProvider(RoleTransport(self.devices, ReaderRole.PSAM))
        self.watcher.keys = self.keys
        self.log: list[tuple[str, bytes]] = []
        self.answers: Answers = {}

    def __enter__(self) -> Bench:
        self.psam_slot.insert(build_psam())
        self.devices.start()
        self.watcher.wait(EventKind.CARD_INSERTED, ReaderRole.PSAM)
        return self

    def __exit__(self, *exc: object) -> None:
        self.devices.stop()
        self.card_slot.remove()
        self.psam_slot.remove()

    def on_device(self, job: Callable[[PcscDevices], Any]) -> Any:
        return self.devices.submit(job).result(60)

    def insert(self, card: EmulatedCard) -> float:
        started = time.perf_counter()
        self.card_slot.insert(card)
        return self.watcher.wait(EventKind.CARD_INSERTED, ReaderRole.CARD) - started

    def remove(self) -> None:
        self.card_slot.remove()
        self.watcher.wait(EventKind.CARD_REMOVED, ReaderRole.CARD)

    # -- APDU counts, card layer and floor ------------------------------------------------------------

    def record_read(self, scope: ReadScope, keys: PsamKeyProvider) -> list[tuple[str, bytes]]:
        self.log.clear()

        def job(devices: PcscDevices) -> None:
            transport = Recording(devices.transport(ReaderRole.CARD), "card", self.log, self.answers)
            SocialSecurityCard(transport, keys).read_basic_info(scope)

        self.on_device(job)
        return list(self.log)

    def layer_batch(self, reads: int) -> float:
        """Seconds for ``reads`` calls of `read_basic_info` in one job on the device thread."""

        def job(devices: PcscDevices) -> float:
            card = SocialSecurityCard(devices.transport(ReaderRole.CARD), self.keys)
            started = time.perf_counter()
            for _ in range(reads):
                card.read_basic_info()
            return time.perf_counter() - started

        return float(self.on_device(job))

    def time_both(
        self, commands: list[tuple[str, bytes]], reads: int, batches: int
    ) -> tuple[float, float, float]:
        """µs per APDU through the card layer and with bare pyscard (the floor), and their ratio.

        Batches alternate (layer, floor, layer, …) so that each pair sees the same machine load; the
        µs figures are the median batches, the ratio is the median of the pairs' ratios."""
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        assert hresult == scard.SCARD_S_SUCCESS
        handles = {}
        try:
            for device, reader in (("card", self.card_reader), ("psam", self.psam_reader)):
                hresult, handle, protocol = scard.SCardConnect(
                    context,
                    reader,
                    scard.SCARD_SHARE_SHARED,
                    scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
                )
                assert hresult == scard.SCARD_S_SUCCESS, hex(hresult)
                pci = scard.SCARD_PCI_T0 if protocol == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1
                handles[device] = (handle, pci)
            plan = [(*handles[device], list(command)) for device, command in commands]
            transmit = scard.SCardTransmit

            def floor_batch() -> float:
                started = time.perf_counter()
                for _ in range(reads):
                    for handle, pci, command in plan:
                        transmit(handle, pci, command)
                return time.perf_counter() - started

            layer, floor = [], []
            for _ in range(batches):
                layer.append(self.layer_batch(reads))
                floor.append(floor_batch())
            per_apdu = 1e6 / (reads * len(plan))
            ratio = statistics.median(a / b for a, b in zip(layer, floor, strict=True))
            return statistics.median(layer) * per_apdu, statistics.median(floor) * per_apdu, ratio
        finally:
            for handle, _ in handles.values():
                scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
            scard.SCardReleaseContext(context)

    def layer_cpu(self, atr: bytes, reads: int, apdus: int) -> float:
        """µs per APDU of the card layer alone: the same read against recorded answers."""
        keys = PsamKeyProvider(Replay("psam", b"", self.answers))
        card = SocialSecurityCard(Replay("card", atr, self.answers), keys)
        card.read_basic_info()
        started = time.perf_counter()
        for _ in range(reads):
            card.read_basic_info()
        return (time.perf_counter() - started) / (reads * apdus) * 1e6

    def profile(self, profile: str, name: str, reads: int, reps: int) -> Figures:
        figures = Figures(profile, name)
        card = build_card(name)
        card.fixed_challenges([CHALLENGE] * (2 * BATCHES * reads + 4 * reps + 100))
        self.insert(card)
        self.answers.clear()
        fresh_keys = PsamKeyProvider(
            Recording(RoleTransport(self.devices, ReaderRole.PSAM), "psam", self.log, self.answers)
        )
        first = self.record_read(ReadScope.FULL, fresh_keys)  # a PSAM session opened by this read
        figures.first_read_psam_apdus = sum(1 for device, _ in first if device == "psam")
        steady = self.record_read(ReadScope.FULL, fresh_keys)
        figures.card_apdus = sum(1 for device, _ in steady if device == "card")
        figures.psam_apdus = len(steady) - figures.card_apdus
        basic = self.record_read(ReadScope.BASIC, fresh_keys)
        figures.basic_card_apdus = sum(1 for device, _ in basic if device == "card")
        self.on_device(
            lambda d: SocialSecurityCard(d.transport(ReaderRole.CARD), self.keys).read_basic_info()
        )
        figures.layer_us, figures.floor_us, figures.ratio = self.time_both(steady, reads, BATCHES)
        figures.cpu_us = self.layer_cpu(card.atr(), reads * 10, len(steady))
        self.remove()

        self.watcher.read_on_insert = True
        try:
            for _ in range(reps):
                time.sleep(random.uniform(0.0, 0.45))  # random phase against pcscd's ~0.4 s poll
                figures.insert_to_event_ms.append(self.insert(card) * 1000)
                since, done, info = self.watcher.results.get(timeout=20)
                if isinstance(info, BaseException):
                    figures.errors.append(f"{type(info).__name__}: {info}")
                else:
                    figures.event_to_info_ms.append((done - since) * 1000)
                self.remove()
        finally:
            self.watcher.read_on_insert = False
        return figures


def _ms(values: list[float]) -> str:
    return f"{percentile(values, 50):6.1f} {percentile(values, 95):6.1f} {max(values, default=math.nan):6.1f}"


def report(results: list[Figures], reads: int, reps: int) -> None:
    print(
        f"\n读卡基准（真实 pcscd + vpcd；计时：每批 {reads} 次读卡，卡片层与下限交替各 {BATCHES} 批取中位数；插卡 {reps} 次/档）\n"
    )
    print(
        "profile  card  psam  psam(1st)  basic  µs/APDU layer  floor  ratio  own   "
        "insert→event ms p50/p95/max   event→CardInfo ms p50/p95/max"
    )
    for f in results:
        print(
            f"{f.profile:>7}  {f.card_apdus:4d}  {f.psam_apdus:4d}  {f.first_read_psam_apdus:9d}  "
            f"{f.basic_card_apdus:5d}  {f.layer_us:13.1f}  {f.floor_us:5.1f}  {f.ratio:5.2f}  {f.cpu_us:4.1f}  "
            f"{_ms(f.insert_to_event_ms):>27}   {_ms(f.event_to_info_ms):>29}"
        )
        for error in f.errors:
            print(f"         error: {error}")
    two = next(f for f in results if f.profile == "2.00")
    worst_ratio = max(f.ratio for f in results)
    worst_info = max(percentile(f.event_to_info_ms, 95) for f in results)
    worst_info_max = max(max(f.event_to_info_ms, default=math.nan) for f in results)

    def mark(ok: bool) -> str:
        return "达到" if ok else "未达到"

    print("\n目标                                  实测                                  结论")
    print(
        f"2.0 卡完整 CardInfo ≤ {GOAL_CARD_APDUS} 条卡片 APDU   "
        f"{two.card_apdus} 条（BASIC 范围 {two.basic_card_apdus} 条）               {mark(two.card_apdus <= GOAL_CARD_APDUS)}"
    )
    print(
        f"卡片层开销 ≤ {GOAL_RATIO}× 下限            最差 {worst_ratio:.2f}×                            "
        f"{mark(worst_ratio <= GOAL_RATIO)}"
    )
    print(
        f"事件→CardInfo ≤ {GOAL_EVENT_TO_INFO_MS:.0f} ms             "
        f"p95 最差 {worst_info:.1f} ms，max {worst_info_max:.1f} ms          "
        f"{mark(worst_info_max <= GOAL_EVENT_TO_INFO_MS)}"
    )
    print(
        "\ncard/psam：一次完整读卡（ReadScope.FULL，PSAM 会话已打开）的 APDU 数；psam(1st)：首次读卡（含 PSAM "
        "SELECT/GET RESPONSE/READ BINARY）；basic：ReadScope.BASIC 的卡片 APDU 数；own：卡片层自身的 µs/APDU"
        "（对录制的应答重放，无 I/O）。"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/card_read.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reads", type=int, default=20, help=f"reads per timing batch, {BATCHES} batches each (default 20)"
    )
    parser.add_argument("--reps", type=int, default=30, help="insertions per profile (default 30)")
    args = parser.parse_args(argv)

    service = None
    if "COUNTER_TEST_PCSC_CARD_READER" in os.environ:
        env = {k: v for k, v in os.environ.items() if k.startswith("COUNTER_TEST_")}
    else:
        from tests.harness.services import Pcscd

        service = Pcscd()
        env = service.start()
    try:
        with Bench(env) as bench:
            results = [bench.profile(profile, name, args.reads, args.reps) for profile, name in PROFILES]
    finally:
        if service is not None:
            service.stop()
    report(results, args.reads, args.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
