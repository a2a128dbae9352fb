"""Write a new Alembic revision for a service from its models:
``python -m bp_common.makemigration meetings_api "add delegations"``.

It diffs the models against a scratch SQLite database upgraded to the current head, so no server
is needed; review the file it writes (both dialects run every migration in the test suite)."""

from __future__ import annotations

import asyncio
import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command

from bp_common.db import Database
from bp_common.migrations import alembic_config, upgrade_to_head


async def _upgrade(url: str, migrations: Path) -> None:
    database = Database(url)
    await upgrade_to_head(database, migrations)
    await database.dispose()


def main() -> None:
    package, message = sys.argv[1], sys.argv[2]
    migrations: Path = importlib.import_module(f"{package}.app").MIGRATIONS
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{scratch}/scratch.db"
        asyncio.run(_upgrade(url, migrations))
        config = alembic_config(migrations, url)
        count = len(list((migrations / "versions").glob("*.py")))
        command.revision(config, message=message, autogenerate=True, rev_id=f"{count + 1:04d}")


if __name__ == "__main__":
    main()
