from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bp_common.types import COUNTRY_PATTERN, bounded_text, stripped_upper
from meetings_api.organisations.models import OrganisationType

# The registry's own rule, not bp_common.types.Acronym's: two characters at least, and a digit
# may come first or a "/" within.
# Not a country code either (the service answers `acronym_is_country_code`; `not` says it here).
RegisteredAcronym = Annotated[
    Annotated[
        str,
        Field(
            min_length=2,
            max_length=20,
            pattern=r"^[A-Z0-9][A-Z0-9.&/-]*$",
            examples=["IOM", "ICMPD"],
            json_schema_extra={"not": {"pattern": COUNTRY_PATTERN}},
        ),
    ],
    BeforeValidator(stripped_upper),
]
IatiOrganisationId = Annotated[
    str,
    Field(
        max_length=60,
        pattern=r"^[A-Z]{2}-[A-Z0-9]+-[A-Za-z0-9._-]+$",
        examples=["XM-DAC-47066"],
        description="IATI organisation identifier (registration agency prefix, then the id).",
    ),
]


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acronym: RegisteredAcronym
    name: Annotated[str, bounded_text(200)]
    type: OrganisationType
    iati_id: IatiOrganisationId | None = None


class OrganisationUpdate(BaseModel):
    """The fields sent change; the acronym names the organisation everywhere (delegations, keys,
    results) and stays. ``iati_id: null`` removes the identifier."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, bounded_text(200)] | None = None
    type: OrganisationType | None = None
    iati_id: IatiOrganisationId | None = None

    @model_validator(mode="after")
    def _name_and_type_stay_set(self) -> Self:
        for field in ("name", "type"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be removed, only changed")
        return self


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    acronym: str
    name: str
    type: OrganisationType
    iati_id: str | None
    revision: int
    created_at: datetime
