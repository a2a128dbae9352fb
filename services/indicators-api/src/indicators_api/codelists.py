"""Shared codelists of the results framework: disaggregation dimensions and their values."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bp_common.types import CountryCode


class Dimension(StrEnum):
    SEX = "sex"
    AGE_BAND = "age_band"
    NATIONALITY = "nationality"  # an ISO 3166-1 alpha-2 country code
    MIGRATION_STATUS = "migration_status"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class AgeBand(StrEnum):
    CHILD = "0-17"
    YOUTH = "18-24"
    ADULT = "25-59"
    OLDER = "60+"
    UNKNOWN = "unknown"


class MigrationStatus(StrEnum):
    MIGRANT = "migrant"
    REFUGEE = "refugee"
    ASYLUM_SEEKER = "asylum_seeker"
    RETURNEE = "returnee"
    IDP = "idp"
    STATELESS = "stateless"
    HOST_COMMUNITY = "host_community"
    UNKNOWN = "unknown"


class Disaggregation(BaseModel):
    """The slice of a population a result value counts; absent dimensions are not split."""

    model_config = ConfigDict(extra="forbid")

    sex: Sex | None = None
    age_band: AgeBand | None = None
    nationality: CountryCode | None = None
    migration_status: MigrationStatus | None = None

    def canonical(self) -> dict[str, str] | None:
        """Stored form: only the dimensions given, in a fixed key order (so equal slices compare
        equal in the database)."""
        values = self.model_dump(mode="json", exclude_none=True)
        return values or None
