"""访问日志遮蔽 (masked access log): the request line without ID numbers or card numbers in clear.

``counter-central serve --access-log`` writes uvicorn's line per request, whose path carries the
query string — ``/persons?id_number=…``, ``/cards?card_number=…``. The filter here masks the values
of those parameters as the list views do (``central.services.masking``: first and last four kept), so
the log still shows which lookup was made and can be matched against a counter's report, but no
longer holds the personal data itself.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote_plus

from central.services.masking import mask_id_number

#: Query parameters whose values are personal data (证件号码, 卡号, 卡识别码).
PERSONAL = frozenset({"id_number", "card_number", "card_identifier"})


def masked_path(path: str) -> str:
    """``path`` with the values of the `PERSONAL` query parameters masked (the rest as it was)."""
    base, mark, query = path.partition("?")
    if not mark:
        return path
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        if equals and unquote_plus(name) in PERSONAL:
            value = quote(mask_id_number(unquote_plus(value)) or "", safe="*")
        pairs.append(f"{name}{equals}{value}")
    return f"{base}?{'&'.join(pairs)}"


class MaskPersonalData(logging.Filter):
    """Masks the path of uvicorn's access line (its third argument: the path with the query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], masked_path(args[2]), *args[3:])
        return True
