"""模拟社保卡与 PSAM — the TRAINING / TEST emulator of the card side of ``docs/card-protocol.md``.

It holds TEST keys (测试密钥，严禁用于生产) and is never for production. Built from the
specification alone and shares no code with ``counter_app.card`` (the terminal side), so a test of
one against the other can fail.

Emulator choices where the document leaves one open:

- Fewer than 2 command bytes → ``6700`` (no INS to look up); 2–3 bytes → step 1, then ``6700``.
- A case-4 command answered ``6Cxx`` (R2) has no effect: a SELECT with a wrong Le selects nothing.
- The current EF is set only by a READ/UPDATE RECORD that succeeds (``9000``); ``6Cxx``, ``6982``
  and ``6A83`` leave it unchanged (consistent with R3's "no side effect").
- SELECT by FID accepts P2 ``00`` and ``0C`` alike (no FCI either way); P1 ``02`` with ``3F00`` → ``6A82``.
- Without ``9F0C`` the SSSE FCI has no ``A5`` template: ``6F 11 84 0F <AID>`` (``61 13``).
- A PIN block of fewer than 4 digits (``12 3F``) is a format error: ``6A80``, not counted.
- UPDATE RECORD data of one byte: wrong tag → ``6A80``, right tag → ``6700``; no data → ``6700``.
- The fixed-challenge hook feeds GET CHALLENGE in order, then random challenges (`secrets`) resume.
- The power-loss hook fires at the commit point of the next UPDATE RECORD that passes every check;
  a refused UPDATE leaves it armed. It fires once.
- PSAM: an INIT FOR PURPOSE that passes its Lc check drops the old session key first (so a failed
  INIT leaves none); a failed SELECT changes nothing; SELECT with Lc ≠ 06 → ``6700`` (§3.13 order).
- Every test card carries the 金融 PAN of §5.12, which says "every test card".
"""

from __future__ import annotations

from counter_app.emulator.card import EmulatedCard
from counter_app.emulator.errors import PowerLoss
from counter_app.emulator.psam import EmulatedPsam
from counter_app.emulator.testcards import TEST_CARDS, TestCard, build_card, build_psam
from counter_app.emulator.transport import InProcessTransport

__all__ = [
    "TEST_CARDS",
    "EmulatedCard",
    "EmulatedPsam",
    "InProcessTransport",
    "PowerLoss",
    "TestCard",
    "build_card",
    "build_psam",
]
