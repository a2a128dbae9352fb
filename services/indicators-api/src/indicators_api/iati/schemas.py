from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import EventReader
from indicators_api.results.schemas import ImportCounts


class MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicators: dict[str, str] = Field(
        default_factory=dict,
        description='"<vocabulary>:<code>" or an indicator title -> a framework indicator code.',
        examples=[{"1:IOM-OUT-3.1": "1.1", "Returnees assisted": "2.4"}],
    )
    dimensions: dict[str, str] = Field(
        default_factory=dict,
        description='"<name>" -> one of our dimensions (or "country"); "<name>:<value>" -> '
        '"<dimension>:<code>".',
        examples=[{"gender": "sex", "gender:F": "sex:female"}],
    )


class MappingOut(MappingIn):
    organisation: str


class IatiProblem(BaseModel):
    activity: str | None = Field(description="The activity's iati-identifier.")
    xpath: str
    code: str
    message: str


class IatiImportOutcome(ImportCounts):
    """The import's report: ``rejected`` counts the elements refused, each in ``errors``."""

    errors: list[IatiProblem]


class OrganisationPublished(EventReader):
    """What this service reads of ``meetings.organisation.registered.v1`` and ``.updated.v1``
    (the whole entry either way): its copy of the registry's IATI identifiers (the import's
    prefix rule, the export's reporting-org)."""

    acronym: str
    name: str | None = None
    iati_id: str | None = None
    # Absent from the registrations published before revisions: the first.
    revision: int = 1
