"""Standard Webhooks signatures (https://www.standardwebhooks.com), made with the library
partners verify with."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_headers(
    message_id: str, body: str, secrets_: Sequence[str], at: datetime
) -> dict[str, str]:
    """The three headers of one attempt; with several secrets (a rotation's overlap) the
    signature header lists one signature per secret, and a receiver accepts any."""
    at = at.astimezone(UTC)  # the library reads the time as UTC whatever its zone
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(message_id, at, body) for s in secrets_),
    }
