from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from bp_common.types import Acronym, CountryCode, CurrencyCode, GoalNumber, IsoDate, unclearable
from indicators_api.fields import Code, IatiIdentifier, UniqueList, unique
from indicators_api.projects.models import ComponentKind


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2, examples=[12000000])
    currency: CurrencyCode


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    title: str = Field(min_length=1, max_length=300)
    kind: ComponentKind
    description: str | None = Field(default=None, max_length=4000)
    goal: GoalNumber | None = None
    parent: Code | None = Field(default=None, description="Code of the component it belongs to.")
    countries: UniqueList[CountryCode] = []


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    iati_identifier: IatiIdentifier | None = Field(
        default=None, description="The project's IATI activity identifier (unique)."
    )
    title: str = Field(min_length=1, max_length=300)
    donor: str | None = Field(default=None, max_length=200)
    budget: Budget | None = None
    implementing_organisations: UniqueList[Acronym] = Field(min_length=1)
    countries: UniqueList[CountryCode] = Field(min_length=1)
    goals: UniqueList[GoalNumber] = Field(min_length=1)
    starts_on: IsoDate
    ends_on: IsoDate
    components: list[ComponentIn] = []

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        codes = [component.code for component in self.components]
        unique(codes)
        for component in self.components:
            if component.parent is not None and (
                component.parent == component.code or component.parent not in codes
            ):
                raise ValueError(f"component {component.code}: parent is not another component")
            if component.goal is not None and component.goal not in self.goals:
                raise ValueError(f"component {component.code}: goal is not one of the project's")
            if not set(component.countries) <= set(self.countries):
                raise ValueError(f"component {component.code}: countries outside the project's")
        return self


class ProjectUpdate(BaseModel):
    """Fields to correct; a field left out is kept, ``null`` clears an optional one. Lists
    replace the project's (components are matched by code). The code never changes: results
    and the frozen snapshots name the project by it."""

    model_config = ConfigDict(extra="forbid")

    iati_identifier: IatiIdentifier | None = None
    title: Annotated[str, Field(min_length=1, max_length=300)] | None = unclearable()
    donor: str | None = Field(default=None, max_length=200)
    budget: Budget | None = None
    implementing_organisations: Annotated[UniqueList[Acronym], Field(min_length=1)] | None = (
        unclearable()
    )
    countries: Annotated[UniqueList[CountryCode], Field(min_length=1)] | None = unclearable()
    goals: Annotated[UniqueList[GoalNumber], Field(min_length=1)] | None = unclearable()
    starts_on: IsoDate | None = unclearable()
    ends_on: IsoDate | None = unclearable()
    components: list[ComponentIn] | None = unclearable()

    @model_validator(mode="before")
    @classmethod
    def _code_is_kept(cls, data: Any) -> Any:
        if isinstance(data, dict) and "code" in data:
            raise ValueError(
                "code never changes: results and the frozen snapshots name the project by it"
            )
        return data

    # Validators run on given values only: these refuse an explicit null for a required field.
    @field_validator(
        "title",
        "implementing_organisations",
        "countries",
        "goals",
        "starts_on",
        "ends_on",
        "components",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be changed but not cleared")
        return value


class BudgetOut(BaseModel):
    # A JSON number, whatever the scale the database returns the decimal with.
    amount: Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
    currency: str


class ComponentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    title: str
    kind: ComponentKind
    description: str | None
    goal: int | None
    parent: str | None
    countries: list[str]


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    iati_identifier: str | None
    title: str
    donor: str | None
    budget: BudgetOut | None
    implementing_organisations: list[str]
    countries: list[str]
    goals: list[int]
    starts_on: date
    ends_on: date
    components: list[ComponentOut]
    created_at: datetime
    updated_at: datetime


class ProjectFilters(BaseModel):
    organisation: str | None = None
    country: str | None = None
    goal: int | None = None
