"""Alembic environment: migrate on the store's own, already durable, connection.

`counter_app.store.migrate.upgrade` hands in a connection in an open ``BEGIN IMMEDIATE`` transaction
(``config.attributes["connection"]``); the whole upgrade commits or rolls back as one. A connection
without WAL, synchronous=FULL and foreign keys is refused.
"""

from __future__ import annotations

from alembic import context

from counter_app.store.engine import read_pragmas
from counter_app.store.models import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the store's migrations through counter_app.store.migrate.upgrade")
pragmas = read_pragmas(connection)
config.attributes["pragmas"] = pragmas
if not pragmas.durable:
    raise RuntimeError(f"migration connection is not durable: {pragmas}")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
