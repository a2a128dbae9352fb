from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import cross_field, refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.revisions import IfMatchOptional, answer_with_etag
from bp_common.types import CountryCode, GoalNumber, Year
from plan_api.activities.models import ActivityKind, ActivityStatus
from plan_api.activities.schemas import (
    ActivityCreate,
    ActivityFilters,
    ActivityOut,
    ActivityUpdate,
)
from plan_api.activities.service import ActivityService

router = APIRouter(tags=["activities"])


async def _service(session: SessionDep, outbox: OutboxDep) -> ActivityService:
    return ActivityService(session, outbox)


ServiceDep = Annotated[ActivityService, Depends(_service)]


@router.post(
    "/v1/plans/{plan_id}/activities",
    status_code=status.HTTP_201_CREATED,
    response_model=ActivityOut,
    responses=refusals(
        {
            422: {
                "unknown_goal": "the plan has no such goal.",
                "year_outside_plan_period": "`year` is outside the plan's period.",
            }
        }
    ),
)
async def create_activity(
    plan_id: uuid.UUID,
    body: ActivityCreate,
    service: ServiceDep,
    _: SecretariatDep,
    response: Response,
) -> ActivityOut:
    return answer_with_etag(response, await service.create(plan_id, body), ActivityOut)


@router.get("/v1/plans/{plan_id}/activities", response_model=Page[ActivityOut])
async def list_activities(
    plan_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    goal: GoalNumber | None = None,
    year: Year | None = None,
    status_: Annotated[ActivityStatus | None, Query(alias="status")] = None,
    host: Annotated[CountryCode | None, Query(description="An accepted host country.")] = None,
    kind: ActivityKind | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ActivityOut]:
    filters = ActivityFilters(goal=goal, year=year, status=status_, host=host, kind=kind)
    return await service.page(plan_id, filters, limit, cursor)


@router.get("/v1/activities/{activity_id}", response_model=ActivityOut)
async def get_activity(
    activity_id: uuid.UUID, service: ServiceDep, _: IdentityDep, response: Response
) -> ActivityOut:
    return answer_with_etag(response, await service.get(activity_id), ActivityOut)


@router.patch(
    "/v1/activities/{activity_id}",
    response_model=ActivityOut,
    responses=refusals(
        {
            422: cross_field("`ends_on` is before `starts_on`")
            | {
                "unknown_goal": "the plan has no such goal.",
                "year_outside_plan_period": "`year` is outside the plan's period.",
                "invalid_schedule": "the dates do not fall in the activity's year (and quarter).",
            },
            409: {"activity_closed": "a held or cancelled activity does not change."},
            412: {"stale_revision": "If-Match names an older revision; nothing was changed."},
        }
    ),
)
async def update_activity(
    activity_id: uuid.UUID,
    body: ActivityUpdate,
    service: ServiceDep,
    _: SecretariatDep,
    precondition: IfMatchOptional,
    response: Response,
) -> ActivityOut:
    """Checks `If-Match` when sent (older clients send none); answers the new `ETag`."""
    activity = await service.update(activity_id, body, precondition)
    return answer_with_etag(response, activity, ActivityOut)


@router.post(
    "/v1/activities/{activity_id}/cancel",
    response_model=ActivityOut,
    responses=refusals(
        {409: {"activity_transition_not_allowed": "a held activity is not cancelled."}}
    ),
)
async def cancel_activity(
    activity_id: uuid.UUID, service: ServiceDep, _: SecretariatDep, response: Response
) -> ActivityOut:
    return answer_with_etag(response, await service.cancel(activity_id), ActivityOut)
