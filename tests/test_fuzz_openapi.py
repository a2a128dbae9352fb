"""schemathesis against the merged OpenAPI of the embedded platform, as the Secretariat: every
operation, a fixed example budget, no randomness; no server error, no answer that violates its
schema or its documented content type, no request the schema calls invalid accepted, and 405
with `Allow` (and `Allow` to OPTIONS) exactly as the document lists a path's methods.

The key is the configured admin key: the run cannot revoke it or change its limit (it tries
every operation, key revocation included), and the test server's default limit is raised for it
(tests/conftest.py), so no operation hides behind a 429. `positive_data_acceptance` is left out:
the requests the schema accepts and a state or cross-field rule refuses are listed in
docs/api-conformance.md."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Server

# Per-operation exceptions, each with its reason.
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "response_schema_conformance",
        "content_type_conformance",
        "negative_data_rejection",
        "unsupported_method",
        "allow_header_conformance",
    ]
)


# The run's own bound (subprocess timeout below), not the suite's 120 s per test: on a busy
# machine the ~5,400 requests take longer than that.
@pytest.mark.timeout(900)
def test_no_operation_answers_a_server_error_or_breaks_its_schema(
    embedded_server: Server,
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(CONFIG),
            "run",
            f"{embedded_server.url}/v1/openapi.json",
            "--url",
            embedded_server.url,
            "--header",
            f"Authorization: Bearer {embedded_server.admin_key}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--generation-deterministic",
            "--request-timeout",
            "20",
            "--no-color",
            # An answer that never ends (Server-Sent Events): its refusals are tested beside it
            # (services/notifications-api/tests/test_stream.py).
            "--exclude-path",
            "/v1/stream",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
