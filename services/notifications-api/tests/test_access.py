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
ENDPOINT_TYPES = [t for t in published_event_types() if t.startswith("notifications.webhook.")]
DOMAIN_TYPES = [t for t in published_event_types() if t not in ENDPOINT_TYPES]
PRIVATE_TYPES = ["gateway.key.issued.v1", *ENDPOINT_TYPES]
# Private data as an IOM partner's endpoint carries it.
IOM_ENDPOINT = {"owner": OWNER, "organisation": "IOM", "country": None}


def test_the_catalogue_holds_domain_events_and_the_webhook_endpoints_events() -> None:
    assert DOMAIN_TYPES
    assert {t.split(".")[2] for t in ENDPOINT_TYPES} >= {
        "created",
        "updated",
        "disabled",
        "secret_rotated",
    }
    assert not any(is_private(t) for t in DOMAIN_TYPES)
    assert all(is_private(t) for t in ENDPOINT_TYPES)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("event_type", DOMAIN_TYPES)
def test_every_role_hears_every_domain_event(event_type: str, role: Role) -> None:
    assert may_hear(LISTENERS[role], event_type, {"owner": OWNER})


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("event_type", PRIVATE_TYPES)
def test_events_about_keys_and_endpoints_reach_the_secretariat_and_the_owner(
    event_type: str, role: Role
) -> None:
    listener = LISTENERS[role]
    assert may_hear(listener, event_type, IOM_ENDPOINT) is (role is Role.SECRETARIAT)
    owner = Listener(OWNER, role, organisation="IOM", country="BG")
    assert may_hear(owner, event_type, IOM_ENDPOINT)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("event_type", PRIVATE_TYPES)
def test_who_manages_an_endpoint_hears_about_it_and_no_other_organisation(
    event_type: str, role: Role
) -> None:
    """Partner keys of the endpoint's organisation and member keys of its country manage it
    (GET /v1/webhooks/{id}), so they hear about it; a key of the same role elsewhere does not."""
    same = Listener("key-colleague", role, organisation="IOM", country="BG")
    other = Listener("key-stranger", role, organisation="UNODC", country="HU")
    by_country = {"owner": "key-of-bg", "organisation": None, "country": "BG"}
    managing = {Role.SECRETARIAT, Role.PARTNER}
    assert may_hear(same, event_type, IOM_ENDPOINT) is (role in managing)
    assert may_hear(same, event_type, by_country) is (role in {Role.SECRETARIAT, Role.MEMBER})
    assert may_hear(other, event_type, IOM_ENDPOINT) is (role is Role.SECRETARIAT)
    assert may_hear(other, event_type, by_country) is (role is Role.SECRETARIAT)
