"""Alembic migrations of the local store (数据库迁移), run in code by `counter_app.store.migrate`."""
