"""Operator password hashes: scrypt with a salt per password and the parameters stored."""

from __future__ import annotations

from central.core.security import hash_password, verify_password


def test_hash_carries_its_parameters_and_verifies() -> None:
    stored = hash_password("peixun-jingban", n=2**10)
    scheme, params, _salt, _key = stored.split("$")
    assert (scheme, params) == ("scrypt", "n=1024,r=8,p=1")
    assert verify_password("peixun-jingban", stored)
    assert not verify_password("peixun-jingbaN", stored)


def test_same_password_different_salt() -> None:
    assert hash_password("x" * 8, n=2**10) != hash_password("x" * 8, n=2**10)


def test_malformed_stored_values_never_verify() -> None:
    for stored in ("", "plain", "md5$x$y$z", "scrypt$n=1024$AAAA$BBBB", "scrypt$n=a,r=8,p=1$AA==$BB=="):
        assert not verify_password("x", stored)
