from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UTCDateTime, UUIDPrimaryKey, enum_type
from bp_common.revisions import Revisioned
from meetings_api.base import Base


class OrganisationType(StrEnum):
    EU_INSTITUTION = "eu_institution"
    INTERNATIONAL_ORGANISATION = "international_organisation"
    UN_AGENCY = "un_agency"
    REGIONAL_ORGANISATION = "regional_organisation"
    OTHER = "other"


class Organisation(UUIDPrimaryKey, Revisioned, Timestamps, Base):
    """An organisation that can send a delegation; states are ISO 3166-1 codes instead."""

    __tablename__ = "organisation"

    acronym: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[OrganisationType] = mapped_column(enum_type(OrganisationType, 30))
    iati_id: Mapped[str | None] = mapped_column(String(60), unique=True)
    # When the registry first published it (registered.v1): the organisations the migrations
    # seeded have none until the service's first start announces them.
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
