"""Who may hear what: the one rule shared by the stream and the webhooks.

A subscriber hears exactly the events about resources its key could read through the API.
Today every role reads every domain resource; events about API keys and webhook endpoints are
read only by the Secretariat and the key or endpoint's owner. When reads become restricted,
this function changes and both the stream and the webhooks follow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bp_common.security import Identity, Role

# Events about credentials and subscriptions: their data names the owner's principal.
PRIVATE_TYPE_PREFIXES = ("gateway.key.", "notifications.endpoint.")
OWNER_FIELD = "owner"


@dataclass(frozen=True)
class Listener:
    """Whoever receives events: a stream's caller, or the owner of a webhook endpoint."""

    principal: str
    role: Role
    organisation: str | None = None
    country: str | None = None

    @classmethod
    def of(cls, identity: Identity) -> Listener:
        return cls(identity.principal, identity.role, identity.organisation, identity.country)


def is_private(event_type: str) -> bool:
    return event_type.startswith(PRIVATE_TYPE_PREFIXES)


def may_hear(listener: Listener, event_type: str, data: Mapping[str, Any]) -> bool:
    if not is_private(event_type):
        return True
    return listener.role is Role.SECRETARIAT or data.get(OWNER_FIELD) == listener.principal
