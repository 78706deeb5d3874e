"""File commands of the emulated card (文件操作): SELECT, READ RECORD, UPDATE RECORD (card-protocol §3.1–§3.4).

READ RECORD includes the multi-record form of §3.3.1 (P2 bits 3–1 = 101: every record from number
P1 to the last, concatenated as stored), with the single read's file and access checks.
"""

from __future__ import annotations

from counter_app.emulator import sw
from counter_app.emulator.apdu import Command
from counter_app.emulator.keys import EXTERNAL_AUTH_KEYS, WRITE_AUTH
from counter_app.emulator.layout import (
    EF05_SFI,
    EF06_SFI,
    FINANCE_AID,
    FINANCE_FCI,
    INITIALISATION_TAGS,
    MF_FID,
    SSSE_AID,
    SSSE_EF_FIDS,
    ef06_needs_key,
    ssse_fci,
)
from counter_app.emulator.records import Record, RecordFile
from counter_app.emulator.state import Application, CardState
from counter_app.emulator.t0 import Reply, case2, case4, status

BY_TAG = 0x00  # P2 bits 3–1 = 000: P1 is a tag
BY_NUMBER = 0x04  # 100: P1 is a record number
FROM_NUMBER = 0x05  # 101: every record from number P1 to the last (§3.3.1)


def select(state: CardState, command: Command) -> Reply:
    """SELECT by AID (P1 04) or FID (P1 00/02). Unknown → ``6A82`` and nothing changes."""
    if command.p1 == 0x04:
        return _select_application(state, command)
    if command.p1 == 0x00 and command.data == MF_FID:
        state.session.enter(Application.MF)
        return status(sw.OK)
    sfi = SSSE_EF_FIDS.get(command.data)
    if sfi is None or state.session.application is not Application.SSSE:
        return status(sw.NOT_FOUND)
    state.session.current_ef = sfi  # S is kept
    return status(sw.OK)


def _select_application(state: CardState, command: Command) -> Reply:
    if command.data == SSSE_AID:
        application, fci = Application.SSSE, ssse_fci(state.memory.image.algorithm_id)
    elif command.data == FINANCE_AID:
        application, fci = Application.FINANCE, FINANCE_FCI
    else:
        return status(sw.NOT_FOUND)
    reply = status(sw.OK) if command.p2 == 0x0C else case4(command.le, fci)
    if reply.delivered:  # a 6Cxx (case 4 with a wrong Le) selects nothing
        state.session.enter(application)
    return reply


def _file(state: CardState, command: Command) -> tuple[int, RecordFile] | Reply:
    """The EF named by P2's SFI, or the current EF for SFI 0; ``6A82`` / ``6986`` when none."""
    sfi = command.p2 >> 3 or state.session.current_ef
    if sfi is None:
        return status(sw.NO_CURRENT_EF)
    found = state.files().get(sfi)
    return (sfi, found) if found is not None else status(sw.NOT_FOUND)


def _record(file: RecordFile, command: Command) -> Record | None:
    return file.by_number(command.p1) if command.p2 & 0x07 == BY_NUMBER else file.by_tag(command.p1)


def _may_read(state: CardState, sfi: int) -> bool:
    if state.session.application is not Application.SSSE or sfi != EF06_SFI:
        return True
    return not ef06_needs_key(state.memory.image.profile) or bool(state.session.security & EXTERNAL_AUTH_KEYS)


def _records_read(file: RecordFile, command: Command) -> tuple[Record, ...]:
    """What a READ RECORD returns: one record (by tag or number), or P1 … last for bits 101."""
    if command.p2 & 0x07 == FROM_NUMBER:
        return file.from_number(command.p1)
    record = _record(file, command)
    return () if record is None else (record,)


def read_record(state: CardState, command: Command) -> Reply:
    """READ RECORD by tag, number or from a number to the last, with SFI or on the current EF.

    Data = ``tag ‖ L ‖ value`` of each record, concatenated in record-number order (blank records
    as stored); LL = their total length (R3: any other Le → ``6C LL``).
    """
    found = _file(state, command)
    if isinstance(found, Reply):
        return found
    sfi, file = found
    if not _may_read(state, sfi):
        return status(sw.SECURITY_NOT_SATISFIED)
    records = _records_read(file, command)
    if not records:
        return status(sw.RECORD_NOT_FOUND)
    reply = case2(command.le, b"".join(record.encoded() for record in records))
    if reply.delivered:
        state.session.current_ef = sfi
    return reply


def update_record(state: CardState, command: Command) -> Reply:
    """UPDATE RECORD (SSSE): needs key 04 in S; the value must have the record's exact length."""
    found = _file(state, command)
    if isinstance(found, Reply):
        return found
    sfi, file = found
    if WRITE_AUTH not in state.session.security:
        return status(sw.SECURITY_NOT_SATISFIED)
    record = _record(file, command)
    if record is None:
        return status(sw.RECORD_NOT_FOUND)
    if sfi == EF05_SFI and record.tag in INITIALISATION_TAGS:
        return status(sw.CONDITIONS_NOT_SATISFIED)
    data = command.data
    if data and data[0] != record.tag:
        return status(sw.WRONG_DATA)
    if len(data) < 2 or data[1] != len(record.value) or len(data) != data[1] + 2:
        return status(sw.WRONG_LENGTH)
    state.commit(sfi, file.with_value(record.tag, data[2:]))
    state.session.current_ef = sfi
    return status(sw.OK)
