"""The admin CLI against a running embedded platform, through the public API."""

from __future__ import annotations

import json
import re

import httpx
from typer.testing import CliRunner

from bpctl.cli import app

from .conftest import Server

runner = CliRunner()


def bpctl(server: Server, *args: str) -> str:
    result = runner.invoke(
        app, [*args, "--url", server.url, "--key", server.admin_key], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_has_help() -> None:
    for command in (
        [],
        ["run"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["results", "import"],
        ["results", "export"],
        ["rollups", "export"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_keys_are_created_listed_and_revoked(embedded_server: Server) -> None:
    created = bpctl(
        embedded_server,
        "keys",
        "create",
        "--name",
        "IOM sync",
        "--role",
        "partner",
        "--organisation",
        "IOM",
    )
    secret = re.search(r"(bp_[0-9a-f]+_\S+)", created)
    assert secret is not None
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    # Authenticated (a partner may not manage keys: 403, not 401).
    assert httpx.get(f"{embedded_server.url}/v1/api-keys", headers=headers).status_code == 403

    listed = [
        json.loads(line) for line in bpctl(embedded_server, "keys", "list", "--json").splitlines()
    ]
    [iom] = [row for row in listed if row["name"] == "IOM sync"]
    assert (iom["role"], iom["organisation"]) == ("partner", "IOM")
    assert "key" not in iom
    assert "IOM sync" in bpctl(embedded_server, "keys", "list")
    bpctl(embedded_server, "keys", "revoke", iom["id"])
    assert httpx.get(f"{embedded_server.url}/v1/api-keys", headers=headers).status_code == 401


def test_a_refusal_is_reported_and_exits_non_zero(embedded_server: Server) -> None:
    result = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--name",
            "x",
            "--role",
            "partner",
            "--url",
            embedded_server.url,
            "--key",
            embedded_server.admin_key,
        ],
    )
    assert result.exit_code == 1
    assert "422" in result.output
