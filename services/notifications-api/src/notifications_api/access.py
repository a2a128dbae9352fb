"""Who may hear what: the one rule shared by the stream, the webhooks and the history.

A subscriber hears exactly the events about resources its key could read through the API.
Today every role reads every domain resource. Events about API keys and webhook endpoints are
read only by the Secretariat and by those who manage the key or endpoint: its owner, partner keys
of its organisation, member keys of its country (the scope of ``/v1/webhooks``). When reads become
restricted, this module changes and the stream, the webhooks and the history follow (the history
applies the same claims in its query: ``event_log.repository.hearable``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bp_common.security import Identity, Role

# Events about credentials and subscriptions: their data names who manages the resource.
PRIVATE_TYPE_PREFIXES = ("gateway.key.", "notifications.webhook.")
OWNER_FIELD = "owner"
ORGANISATION_FIELD = "organisation"
COUNTRY_FIELD = "country"


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

    @property
    def hears_every_private_event(self) -> bool:
        return self.role is Role.SECRETARIAT

    def claims(self) -> list[tuple[str, str]]:
        """The (data field, value) pairs of which one makes a private event this listener's:
        its own principal, and the organisation or country whose endpoints its role manages."""
        found = [(OWNER_FIELD, self.principal)]
        if self.role is Role.PARTNER and self.organisation:
            found.append((ORGANISATION_FIELD, self.organisation))
        if self.role is Role.MEMBER and self.country:
            found.append((COUNTRY_FIELD, self.country))
        return found


def is_private(event_type: str) -> bool:
    return event_type.startswith(PRIVATE_TYPE_PREFIXES)


def may_hear(listener: Listener, event_type: str, data: Mapping[str, Any]) -> bool:
    if not is_private(event_type) or listener.hears_every_private_event:
        return True
    return any(data.get(field) == value for field, value in listener.claims())
