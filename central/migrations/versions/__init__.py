"""Alembic revision scripts of the central server (one file per revision)."""
