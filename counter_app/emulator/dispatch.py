"""Command table and the first evaluation steps (命令分派) shared by card and PSAM (card-protocol §3.0).

Step 1: unknown INS → ``6D00``, known INS with another CLA → ``6E00``; step 2: APDU form → ``6700``;
step 3: P1/P2 → ``6A86``. The device does step 4 and the command's own checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from counter_app.emulator import sw
from counter_app.emulator.apdu import Command, Shape, parse

H = TypeVar("H")


@dataclass(frozen=True)
class CommandSpec(Generic[H]):
    """One INS: its CLA, APDU shape, allowed P1/P2, whether it needs the application, its handler."""

    cla: int
    shape: Shape
    params: Callable[[int, int], bool]
    handler: H
    needs_application: bool = False


def p1p2(*allowed: tuple[int, int]) -> Callable[[int, int], bool]:
    """P1/P2 check accepting exactly the listed pairs."""
    pairs = frozenset(allowed)
    return lambda p1, p2: (p1, p2) in pairs


def evaluate(
    raw: bytes | bytearray, table: Mapping[int, CommandSpec[H]]
) -> tuple[CommandSpec[H], Command] | int:
    """Steps 1–3: the spec and the parsed command, or the status word of the first failing step."""
    if len(raw) < 2:  # no INS to look up: a form error
        return sw.WRONG_LENGTH
    spec = table.get(raw[1])
    if spec is None:
        return sw.INS_NOT_SUPPORTED
    if raw[0] != spec.cla:
        return sw.CLA_NOT_SUPPORTED
    command = parse(raw, spec.shape)
    if command is None:
        return sw.WRONG_LENGTH
    if not spec.params(command.p1, command.p2):
        return sw.WRONG_P1P2
    return spec, command
