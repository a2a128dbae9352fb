from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    acronym: str
    name: str
    type: OrganisationType
    iati_id: str | None
    created_at: datetime
