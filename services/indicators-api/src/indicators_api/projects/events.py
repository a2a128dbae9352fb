"""Events of the projects on ``indicators.events``."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Self

from pydantic import Field

from bp_common.events.contract import Event, Examples
from indicators_api.projects.models import Project


class ProjectCorrectedV1(Event):
    """The Secretariat corrected a project (its title, dates, implementers, countries, goals,
    budget or components): the project as it now stands, its new revision and the fields
    changed. Results already reported stay valid (a correction that would strand them is
    refused)."""

    type: ClassVar[str] = "indicators.project.corrected.v1"
    subject_field: ClassVar[str] = "code"
    key_field: ClassVar[str] = "code"
    examples: ClassVar[Examples] = (
        {
            "code": "IMM-SR",
            "iati_identifier": "XM-DAC-47066-IMM-SR",
            "title": "Improving Migration Management in the Silk Routes Region",
            "implementing_organisations": ["ICMPD", "IOM"],
            "countries": ["AF", "IQ", "PK"],
            "goals": [1, 2, 5],
            "starts_on": "2019-01-01",
            "ends_on": "2024-06-30",
            "revision": 2,
            "changed": ["ends_on"],
        },
    )

    code: str = Field(description="The project's code.")
    iati_identifier: str | None
    title: str
    implementing_organisations: list[str]
    countries: list[str]
    goals: list[int]
    starts_on: date
    ends_on: date
    revision: int = Field(ge=1, description="The project's revision after the correction.")
    changed: list[str] = Field(description="The fields changed, sorted.")

    @classmethod
    def of(cls, project: Project, changed: list[str]) -> Self:
        """``project`` with its links loaded."""
        return cls(
            code=project.code,
            iati_identifier=project.iati_identifier,
            title=project.title,
            implementing_organisations=project.implementing_organisations,
            countries=project.countries,
            goals=project.goals,
            starts_on=project.starts_on,
            ends_on=project.ends_on,
            revision=project.revision,
            changed=changed,
        )


EVENTS = (ProjectCorrectedV1,)
