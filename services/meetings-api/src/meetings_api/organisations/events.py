"""Organisation events on ``meetings.events``: the registry's entries, for the services that
keep a copy (indicators-api needs the IATI identifiers)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Self

from bp_common.events.contract import Event, Examples
from meetings_api.organisations.models import Organisation, OrganisationType

ORGANISATION_EXAMPLE: dict[str, Any] = {
    "organisation_id": "0b6f3f53-6a3e-4d0e-9d4e-2f1c5a7b8c9d",
    "acronym": "IOM",
    "name": "International Organization for Migration",
    "organisation_type": "un_agency",
    "iati_id": "XM-DAC-47066",
    "revision": 1,
}


class OrganisationV1(Event):
    """The organisation as every organisation event carries it."""

    subject_field: ClassVar[str] = "organisation_id"
    key_field: ClassVar[str] = "organisation_id"

    organisation_id: uuid.UUID
    acronym: str
    name: str
    organisation_type: OrganisationType
    iati_id: str | None
    # The registry entry's revision: a copy ignores news at or below the one it holds.
    revision: int = 1

    @classmethod
    def of(cls, organisation: Organisation, **extra: Any) -> Self:
        return cls(
            organisation_id=organisation.id,
            acronym=organisation.acronym,
            name=organisation.name,
            organisation_type=organisation.type,
            iati_id=organisation.iati_id,
            revision=organisation.revision,
            **extra,
        )


class OrganisationRegisteredV1(OrganisationV1):
    """An organisation joined the registry."""

    type: ClassVar[str] = "meetings.organisation.registered.v1"
    examples: ClassVar[Examples] = (
        ORGANISATION_EXAMPLE,
        {
            **ORGANISATION_EXAMPLE,
            "acronym": "ICMPD",
            "organisation_type": "international_organisation",
            "iati_id": None,
        },
    )


class OrganisationUpdatedV1(OrganisationV1):
    """An organisation's entry changed (its name, type or IATI identifier; the acronym stays):
    the whole entry as it now stands, and the fields that changed."""

    type: ClassVar[str] = "meetings.organisation.updated.v1"
    examples: ClassVar[Examples] = (
        {
            # EASO became the European Union Agency for Asylum in 2022; the acronym is the key.
            **ORGANISATION_EXAMPLE,
            "organisation_id": "5d1c0e7a-3b8f-4c2e-9a61-7f0e2d4b6c8a",
            "acronym": "EASO",
            "name": "European Union Agency for Asylum",
            "organisation_type": "eu_institution",
            "iati_id": None,
            "revision": 2,
            "changed": ["name"],
        },
    )

    changed: list[str]


EVENTS: tuple[type[Event], ...] = (OrganisationRegisteredV1, OrganisationUpdatedV1)
