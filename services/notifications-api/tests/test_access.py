"""The rule of who may hear what, in the access-matrix style: every event type x every role."""

from __future__ import annotations

import pytest

from bp_common.events.contract import published_event_types
from bp_common.security import Role
from notifications_api.access import Listener, is_private, may_hear

OWNER = "key-of-iom"
LISTENERS = {
    Role.SECRETARIAT: Listener("key-secretariat", Role.SECRETARIAT),
    Role.PARTNER: Listener("key-unodc", Role.PARTNER, organisation="UNODC"),
    Role.MEMBER: Listener("key-bg", Role.MEMBER, country="BG"),
    Role.VIEWER: Listener("key-viewer", Role.VIEWER),
}
PRIVATE_TYPES = ["gateway.key.issued.v1", "notifications.endpoint.disabled.v1"]


def test_the_catalogue_holds_domain_events_only() -> None:
    assert published_event_types()
    assert not any(is_private(t) for t in published_event_types())


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("event_type", published_event_types())
def test_every_role_hears_every_domain_event(event_type: str, role: Role) -> None:
    assert may_hear(LISTENERS[role], event_type, {"owner": OWNER})


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("event_type", PRIVATE_TYPES)
def test_events_about_keys_and_endpoints_reach_the_secretariat_and_the_owner(
    event_type: str, role: Role
) -> None:
    listener = LISTENERS[role]
    assert may_hear(listener, event_type, {"owner": OWNER}) is (role is Role.SECRETARIAT)
    owner = Listener(OWNER, role, organisation="IOM", country="BG")
    assert may_hear(owner, event_type, {"owner": OWNER})
