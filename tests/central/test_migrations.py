"""Alembic migrations build exactly the models' schema, with the partial unique indexes."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from central.core.db import create_db_engine
from central.migrations import alembic_config, current_revision, head_revision, upgrade
from central.models import ONE_IN_PIPELINE_INDEX, ONE_ISSUED_INDEX, Base


def _url(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("fresh_pg_database")
    engine = create_db_engine(url)
    with engine.begin() as conn:  # start from an empty schema, not the prepared one
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.integration])]
)
def test_migrations_match_the_models_and_go_down_again(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    url = _url(request, tmp_path, backend)
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision()
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            indexes = {i["name"]: i for i in inspect(conn).get_indexes("cards")}
            assert indexes[ONE_IN_PIPELINE_INDEX]["unique"] and indexes[ONE_ISSUED_INDEX]["unique"]
            if backend == "postgres":
                where = conn.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": ONE_ISSUED_INDEX}
                ).scalar_one()
                assert "WHERE" in where and "known_duplicate" in where
            else:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with engine.begin() as conn:
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
