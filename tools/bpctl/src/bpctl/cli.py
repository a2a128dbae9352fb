"""``bpctl``: run the platform in one process, and the admin commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from bp_common.logging import configure_logging
from bpctl.embedded import EmbeddedPlatform, admin_key_for

app = typer.Typer(no_args_is_help=True, help="Budapest Process platform: run and administer.")


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the gateway.")] = 8000,
    var_dir: Annotated[
        Path, typer.Option(help="Where the SQLite databases and the admin key live.")
    ] = Path("var/embedded"),
) -> None:
    """Run the whole platform in one process (embedded mode: SQLite, in-process bus)."""
    configure_logging("embedded", os.environ.get("LOG_LEVEL", "INFO"), json=False)
    key, generated = admin_key_for(var_dir, os.environ.get("ADMIN_API_KEY"))
    platform = EmbeddedPlatform(var_dir, key)
    origin = "generated now" if generated else "from ADMIN_API_KEY or " + str(var_dir)
    typer.echo(
        f"\nBudapest Process platform (embedded) on http://{host}:{port}\n"
        f"  admin API key ({origin}):\n    {key}\n"
        f"  try: curl -H 'Authorization: Bearer {key}' http://{host}:{port}/v1/meetings\n"
    )
    uvicorn.run(platform.gateway, host=host, port=port, log_config=None, access_log=False)


@app.callback()
def main() -> None:
    """Budapest Process platform: run and administer."""


if __name__ == "__main__":
    app()
