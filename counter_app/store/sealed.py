"""Small sealed values by name (加密小数据): e.g. the cached offline sign-in verifiers of the sync layer.

Each value is JSON, encrypted and authenticated with the store's key (the row name is the context,
so a blob moved to another name fails its tag) and kept in ``store_meta`` under ``sealed:<name>``:
no schema change. For a handful of small records, not for bulk data.
"""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert

from counter_app.store.crypto import FieldCipher
from counter_app.store.engine import reading
from counter_app.store.models import store_meta

_PREFIX = "sealed:"


class SealedValues:
    """Get, put and delete sealed JSON values by name."""

    def __init__(self, engine: sa.Engine, cipher: FieldCipher) -> None:
        self._engine = engine
        self._reader = reading(engine)
        self._cipher = cipher

    @staticmethod
    def _row_name(name: str) -> str:
        if not name or len(_PREFIX + name) > 64:
            raise ValueError(f"sealed value names are 1–{64 - len(_PREFIX)} characters")
        return _PREFIX + name

    def get(self, name: str) -> Any | None:
        """The value, or None when there is none."""
        row_name = self._row_name(name)
        with self._reader.connect() as connection:
            text = connection.execute(
                sa.select(store_meta.c.value).where(store_meta.c.name == row_name)
            ).scalar()
        if text is None:
            return None
        return self._cipher.decrypt_json(base64.b64decode(text), f"store_meta.{row_name}")

    def put(self, name: str, value: Any) -> None:
        """Keep ``value`` (JSON-serialisable) under ``name``, replacing what was there."""
        row_name = self._row_name(name)
        text = base64.b64encode(self._cipher.encrypt_json(value, f"store_meta.{row_name}")).decode("ascii")
        statement = insert(store_meta).values(name=row_name, value=text)
        statement = statement.on_conflict_do_update(index_elements=["name"], set_={"value": text})
        with self._engine.begin() as connection:
            connection.execute(statement)

    def delete(self, name: str) -> None:
        row_name = self._row_name(name)
        with self._engine.begin() as connection:
            connection.execute(sa.delete(store_meta).where(store_meta.c.name == row_name))

    def names(self) -> list[str]:
        """Every sealed name (without the prefix), sorted."""
        with self._reader.connect() as connection:
            rows = connection.execute(
                sa.select(store_meta.c.name)
                .where(store_meta.c.name.startswith(_PREFIX))
                .order_by(store_meta.c.name)
            ).scalars()
            return [name[len(_PREFIX) :] for name in rows]
