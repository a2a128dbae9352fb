from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bp_common.errors import FieldError
from bp_common.types import CountryCode, LongText, Year, bounded_text, unclearable
from bp_common.withdrawals import WithdrawnFields
from meetings_api.meetings.models import ParticipantType
from meetings_api.proceedings.models import DecisionKind, InterventionKind

PlanVersion = Annotated[int, Field(ge=1, le=100_000)]


class AmendmentTargetType(StrEnum):
    PLAN = "plan"
    GOAL = "goal"
    ACTION_POINT = "action_point"
    ACTIVITY = "activity"


class AmendmentAction(StrEnum):
    ADD = "add"
    MODIFY = "modify"
    DELETE = "delete"


class AmendmentTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: AmendmentTargetType
    ref: Annotated[str, bounded_text(100)] | None = Field(
        default=None, description="The goal number or the item's id; none for the whole plan."
    )

    @model_validator(mode="after")
    def _ref_fits_the_type(self) -> Self:
        if self.type is AmendmentTargetType.PLAN:
            if self.ref is not None:
                raise ValueError("an amendment of the whole plan takes no ref")
        elif self.ref is None:
            raise ValueError(f"an amendment of a {self.type.value} needs its ref")
        elif self.type is AmendmentTargetType.GOAL and not self.ref.isdigit():
            raise ValueError("the ref of a goal is its number")
        return self


class Amendment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: AmendmentTarget
    action: AmendmentAction
    text: LongText
    rationale: LongText | None = None


class InterventionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delegation: Annotated[
        str,
        bounded_text(20, min_length=2),
        Field(
            description="A delegation at the meeting: country code or organisation acronym.",
        ),
    ]
    kind: InterventionKind
    text: LongText
    agenda_item_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    plan_version: PlanVersion | None = None
    activity_id: uuid.UUID | None = None
    year: Year | None = None
    amendment: Amendment | None = None

    def rule_violations(self) -> list[FieldError]:
        """What the kind of intervention requires (a 422 naming each field)."""
        errors: list[FieldError] = []

        def missing(field: str, why: str) -> None:
            errors.append(FieldError(loc=["body", field], code="required_for_kind", message=why))

        if self.kind is InterventionKind.AMENDMENT_REQUEST:
            if self.amendment is None:
                missing("amendment", "an amendment_request states the amendment")
            if self.plan_id is None:
                missing("plan_id", "an amendment_request names the plan it amends")
        elif self.amendment is not None:
            errors.append(
                FieldError(
                    loc=["body", "amendment"],
                    code="not_allowed_for_kind",
                    message="only an amendment_request carries an amendment",
                )
            )
        if self.kind is InterventionKind.OFFER_TO_HOST:
            if self.activity_id is None:
                missing("activity_id", "an offer_to_host names the activity to host")
            if self.year is None:
                missing("year", "an offer_to_host names the year")
        if self.plan_version is not None and self.plan_id is None:
            missing("plan_id", "a plan_version belongs to a plan")
        return errors


class InterventionUpdate(BaseModel):
    """Fields to correct; a field left out is kept, ``null`` clears an optional one. The
    intervention as corrected must pass the rules of recording it."""

    model_config = ConfigDict(extra="forbid")

    delegation: Annotated[str, bounded_text(20, min_length=2)] | None = unclearable()
    kind: InterventionKind | None = unclearable()
    text: LongText | None = unclearable()
    agenda_item_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    plan_version: PlanVersion | None = None
    activity_id: uuid.UUID | None = None
    year: Year | None = None
    amendment: Amendment | None = None

    @field_validator("delegation", "kind", "text")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be changed but not cleared")
        return value


class InterventionOut(WithdrawnFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    meeting_id: uuid.UUID
    delegation: str
    delegation_type: ParticipantType
    kind: InterventionKind
    text: str
    agenda_item_id: uuid.UUID | None
    plan_id: uuid.UUID | None
    plan_version: int | None
    activity_id: uuid.UUID | None
    year: int | None
    amendment: dict[str, Any] | None
    revision: int = Field(description="The intervention's revision, also its `ETag`.")
    created_at: datetime


class InterventionFilters(BaseModel):
    kind: InterventionKind | None = None
    delegation: str | None = None
    agenda_item_id: uuid.UUID | None = None


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DecisionKind
    text: LongText
    plan_id: uuid.UUID | None = None
    plan_version: PlanVersion | None = None
    reservations: list[CountryCode] = Field(
        default_factory=list,
        max_length=200,
        description="States at the meeting that did not join the decision.",
    )

    def rule_violations(self) -> list[FieldError]:
        errors: list[FieldError] = []
        if self.kind is DecisionKind.ENDORSEMENT:
            for field in ("plan_id", "plan_version"):
                if getattr(self, field) is None:
                    errors.append(
                        FieldError(
                            loc=["body", field],
                            code="required_for_kind",
                            message="an endorsement names the plan and the version it endorses",
                        )
                    )
        elif self.plan_version is not None and self.plan_id is None:
            errors.append(
                FieldError(
                    loc=["body", "plan_id"],
                    code="required_for_kind",
                    message="a plan_version belongs to a plan",
                )
            )
        seen: set[str] = set()
        for index, country in enumerate(self.reservations):
            if country in seen:
                errors.append(
                    FieldError(
                        loc=["body", "reservations", index],
                        code="duplicate_reservation",
                        message=f"{country} is listed twice",
                    )
                )
            seen.add(country)
        return errors


class DecisionUpdate(BaseModel):
    """Fields to correct; a field left out is kept, ``null`` clears an optional one. The
    decision as corrected must pass the rules of recording it."""

    model_config = ConfigDict(extra="forbid")

    kind: DecisionKind | None = unclearable()
    text: LongText | None = unclearable()
    plan_id: uuid.UUID | None = None
    plan_version: PlanVersion | None = None
    reservations: (
        Annotated[
            list[CountryCode],
            Field(
                max_length=200,
                description="States at the meeting that did not join it (the whole list).",
            ),
        ]
        | None
    ) = unclearable()

    @field_validator("kind", "text", "reservations")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be changed but not cleared")
        return value


class DecisionOut(WithdrawnFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    meeting_id: uuid.UUID
    kind: DecisionKind
    text: str
    plan_id: uuid.UUID | None
    plan_version: int | None
    reservations: list[str]
    revision: int = Field(description="The decision's revision, also its `ETag`.")
    created_at: datetime
