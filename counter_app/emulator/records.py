"""Fixed-length record files (记录文件) with copy-on-write replacement (card-protocol §3.3–§3.4)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Record:
    """One record: READ RECORD returns ``tag ‖ L ‖ value`` exactly as stored."""

    tag: int
    value: bytes

    def encoded(self) -> bytes:
        return bytes([self.tag, len(self.value)]) + self.value


@dataclass(frozen=True)
class RecordFile:
    """An EF of records, immutable: an update builds a new file that replaces the old in one step."""

    records: tuple[Record, ...]
    tag_addressable: bool = True

    def by_number(self, number: int) -> Record | None:
        return self.records[number - 1] if 1 <= number <= len(self.records) else None

    def from_number(self, number: int) -> tuple[Record, ...]:
        """Records ``number`` … last in record-number order; empty when there is no record ``number``."""
        return self.records[number - 1 :] if 1 <= number <= len(self.records) else ()

    def by_tag(self, tag: int) -> Record | None:
        if not self.tag_addressable:
            return None
        return next((r for r in self.records if r.tag == tag), None)

    def with_value(self, tag: int, value: bytes) -> RecordFile:
        """A copy with the record ``tag`` holding ``value`` (same length as before)."""
        old = self.by_tag(tag)
        if old is None or len(old.value) != len(value):
            raise ValueError("no such record, or a value of another length")
        records = tuple(Record(tag, bytes(value)) if r.tag == tag else r for r in self.records)
        return replace(self, records=records)
