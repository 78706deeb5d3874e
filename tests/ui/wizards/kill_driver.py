"""Child process of the real-stack kill test: the counter program running 即时制卡 headless, held at
a named point in the middle of the card write so the parent can kill it with SIGKILL.

    python -m tests.ui.wizards.kill_driver SPEC_JSON

``SPEC_JSON`` holds the counter's settings (``settings``: the store folder, server URL, outlet and
counter, reader patterns, PIN pad port), the store file (``store``), who signs in (``clerk``,
``password``), the applicant (``id_number``, ``bank``; ``new_person`` — name and ethnicity — for
someone the city does not know yet) and ``updates``: after that many UPDATE
RECORD commands were answered by the card (``"hold": "before"``: just before that one is sent), the
process prints ``at update <n>`` and blocks. The
keyring items (store key, counter credential, receipt key) come from ``KILL_DRIVER_KEYRING`` (JSON
``[[service, user, password], …]``) into an in-memory backend.

Everything is what the program composes (`production_context` over the sync service, the store and
`PcscDeviceService`), without Qt: the flow is started and listed as open as the wizard launcher does
(`OpenFlows.add`) and driven step by step as the wizard's pages would answer. Prints ``flow <id>``
once the flow is listed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import keyring

from counter_app.config import Mode, Settings
from counter_app.devices.card_service import PcscDeviceService
from counter_app.store import Store
from counter_app.sync import SyncConfig, SyncService
from counter_app.sync.credentials import CounterCredentials
from counter_app.ui.wizards.compose import production_context
from counter_app.workflows import registry
from counter_app.workflows.card_moves import ReaderWatch
from counter_app.workflows.open_flows import OpenFlows
from counter_app.workflows.ports import CardTransport
from tests.store.memory_keyring import MemoryKeyring
from tests.workflows.helpers import drive

#: The real-stack fixture's keyring service of the counter credential, and its fast sync timings.
SERVICE = "counter-app-real-stack-tests"
FAST_SYNC = {"poll_seconds": 0.5, "probe_seconds": 0.5, "verifier_scrypt_n": 2**10, "retries": 0}


class HeldAtUpdate:
    """The card transport; once the ``n``-th UPDATE RECORD has been answered (or, ``before``, just
    before it is sent), it says so and blocks. After: the card has the record and the flow's
    checkpoint still shows it UNCERTAIN; before: the card never got it."""

    def __init__(self, inner: CardTransport, n: int, *, before: bool = False) -> None:
        self.inner = inner
        self.n = n
        self.before = before
        self.updates = 0

    @property
    def reader_name(self) -> str:
        return self.inner.reader_name

    def atr(self) -> bytes:
        return self.inner.atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        update = len(command) > 1 and command[1] == 0xDC
        if update and self.before and self.updates + 1 == self.n:
            self._hold()
        response = self.inner.transmit(command)
        if update:
            self.updates += 1
            if self.updates == self.n and not self.before:
                self._hold()
        return response

    def _hold(self) -> None:
        print(f"at update {self.n}", flush=True)
        threading.Event().wait()  # until killed


def settings_of(spec: dict[str, Any]) -> Settings:
    raw = spec["settings"]
    return Settings(
        mode=Mode.PRODUCTION,
        config_file=None,
        data_dir=Path(raw["data_dir"]),
        server_url=raw["server_url"],
        outlet_code=raw["outlet_code"],
        counter_number=raw["counter_number"],
        card_reader_pattern=raw["card_reader_pattern"],
        psam_reader_pattern=raw["psam_reader_pattern"],
        pinpad_port=raw["pinpad_port"],
    )


def main(spec: dict[str, Any]) -> None:
    items = json.loads(os.environ["KILL_DRIVER_KEYRING"])
    keyring.set_keyring(MemoryKeyring({(s, u): p for s, u, p in items}))
    settings = settings_of(spec)
    store = Store.open(Path(spec["store"]))
    sync = SyncService(
        SyncConfig.from_settings(settings, **FAST_SYNC), store, credentials=CounterCredentials(SERVICE)
    )
    sync.start()
    signed = sync.sign_in(spec["clerk"], spec["password"])
    assert signed.online, signed.message
    devices = PcscDeviceService(settings.card_reader_pattern, settings.psam_reader_pattern)
    devices.start(lambda event: None)
    ctx = production_context(settings, lambda wait: sync, devices, None)(signed)
    assert ctx is not None
    held = HeldAtUpdate(ctx.card_transport, int(spec["updates"]), before=spec.get("hold") == "before")
    ctx = dataclasses.replace(ctx, card_transport=held, card_wait=ReaderWatch(ctx.card_transport))
    flow = registry.start("apply", ctx)
    OpenFlows(ctx.journal, ctx.outlet.code, ctx.counter_number).add(flow.flow_id, flow.item_code)
    print(f"flow {flow.flow_id}", flush=True)
    step = drive(
        flow,
        {
            "variant": {"variant": "instant"},
            "identify": {"id_type": "resident_id", "id_number": spec["id_number"]},
            **({"new_person": spec["new_person"]} if spec.get("new_person") else {}),
            "application": {"bank": spec["bank"], "pickup_outlet": ""},
            "presenter": {"requester": "holder"},
        },
    )
    print(f"ended {step.kind.value} {step.refusal}", flush=True)  # the point was never reached
    sys.exit(3)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
