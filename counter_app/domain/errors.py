"""Errors a clerk can act on: a stable code for programs, a Chinese message (and hint) for people."""

from __future__ import annotations

import re

_CODE = re.compile(r"^[a-z_]+$")


class DomainError(Exception):
    """A business rule said no (or cannot go on).

    ``code`` is stable (logs, tests, the server's error payloads); ``message`` is the Chinese reason
    shown to the clerk; ``hint`` optionally says what to do next.
    """

    code: str
    message: str
    hint: str | None

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        if not _CODE.fullmatch(code):
            raise ValueError(f"error code must match ^[a-z_]+$: {code!r}")
        if not message:
            raise ValueError("error message must not be empty")
        super().__init__(code, message, hint)  # keeps the exception picklable
        self.code = code
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, hint={self.hint!r})"
