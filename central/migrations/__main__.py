"""Developer helper: ``python -m central.migrations revision -m MESSAGE`` (autogenerate)."""

from __future__ import annotations

import sys
import tempfile

from alembic import command

from central.core.db import create_db_engine
from central.migrations import alembic_config, upgrade


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "revision" or argv[1] != "-m":
        print("usage: python -m central.migrations revision -m MESSAGE", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        upgrade(url)
        engine = create_db_engine(url)
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.revision(config, message=argv[2], autogenerate=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
