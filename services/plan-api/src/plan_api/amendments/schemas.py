from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bp_common.types import LongText
from bp_common.withdrawals import WithdrawnFields
from plan_api.amendments.models import AmendmentAction, AmendmentStatus, TargetType
from plan_api.fields import Proposer, VersionNumber


class AmendmentTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: TargetType
    ref: int | str | None = Field(
        default=None,
        description="The goal number for a goal, the item's id for an action point or an "
        "activity; none for the plan as a whole.",
        examples=[1],
    )

    @model_validator(mode="after")
    def _ref_fits_the_type(self) -> Self:
        if self.type is TargetType.PLAN:
            if self.ref is not None:
                raise ValueError("an amendment of the whole plan takes no ref")
        elif self.ref is None:
            raise ValueError(f"an amendment of a {self.type.value} needs its ref")
        elif self.type is TargetType.GOAL:
            self.ref = _goal_number(self.ref)
        else:
            try:
                self.ref = str(uuid.UUID(str(self.ref)))
            except ValueError:
                raise ValueError("ref must be the id of the targeted item") from None
        return self


def _goal_number(ref: int | str) -> int:
    number: object = ref
    if isinstance(ref, str) and ref.strip().isascii() and ref.strip().isdigit():
        number = int(ref.strip()) if len(ref.strip()) <= 4 else 0
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 99:
        raise ValueError("a goal is targeted by its number (1-99)")
    return number


class AmendmentProposal(BaseModel):
    """What is proposed. Once accepted: plan add = a new plan-level point; plan modify = the plan's
    title replaced; goal add = a new action point under the goal; goal modify = the goal's title
    replaced; goal delete = the goal and its points removed (refused while it has activities);
    action_point add = a new point beside it; action_point modify = its text replaced;
    action_point delete = the point removed; activity modify = its description replaced; activity
    delete = the activity cancelled, so it leaves the plan. A plan cannot be deleted, nor an
    activity added, by amendment (``amendment_not_applicable``)."""

    model_config = ConfigDict(extra="forbid")

    target: AmendmentTarget
    action: AmendmentAction
    text: LongText
    rationale: LongText | None = None


class AmendmentCreate(AmendmentProposal):
    model_config = ConfigDict(extra="forbid")

    version: VersionNumber
    proposer: Proposer


class AmendmentOut(WithdrawnFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    plan_id: uuid.UUID
    number: int
    version: int
    proposer: str
    target: AmendmentTarget
    action: AmendmentAction
    text: str
    rationale: str | None
    status: AmendmentStatus
    decided_at: datetime | None
    included_in_version: int | None
    meeting_id: uuid.UUID | None
    intervention_id: uuid.UUID | None
    revision: int
    created_at: datetime


class ChangelogEntry(BaseModel):
    amendment_id: uuid.UUID
    proposer: str
    target: AmendmentTarget
    action: AmendmentAction
    text: str


class AmendmentFilters(BaseModel):
    status: AmendmentStatus | None = None
    version: int | None = None
    proposer: str | None = None
    include_withdrawn: bool = False
