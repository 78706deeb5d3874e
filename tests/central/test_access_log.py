"""The access log's request line: ID and card numbers masked, everything else as it was."""

from __future__ import annotations

import logging

import pytest

from central.core.access_log import MaskPersonalData, masked_path


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/health", "/health"),
        (
            "/persons/42/subsidy-payments?period_from=202401",
            "/persons/42/subsidy-payments?period_from=202401",
        ),
        ("/persons?id_number=511102199003071234", "/persons?id_number=5111**********1234"),
        (
            "/persons?id_type=resident_id&id_number=51110219900307123X",
            "/persons?id_type=resident_id&id_number=5111**********123X",
        ),
        ("/cards?card_number=S11000018&x=1", "/cards?card_number=S1*****18&x=1"),
        ("/cards?card%5Fnumber=S11000018", "/cards?card%5Fnumber=S1*****18"),  # the name encoded
        ("/persons?id_number=5111%2002199003071234", "/persons?id_number=5111***********1234"),  # a space
        ("/persons?id_number=&id_number", "/persons?id_number=&id_number"),
    ],
)
def test_personal_values_are_masked_and_the_rest_kept(path: str, masked: str) -> None:
    assert masked_path(path) == masked


def test_the_filter_rewrites_uvicorns_access_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/persons?id_number=511102199003071234", "1.1", 401),
        None,
    )
    assert MaskPersonalData().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /persons?id_number=5111**********1234 HTTP/1.1" 401'
