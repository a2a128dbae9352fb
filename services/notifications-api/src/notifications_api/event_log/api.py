from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from bp_common.app import IdentityDep, SessionDep
from bp_common.pagination import DEFAULT_LIMIT, Limit, Page
from notifications_api.access import Listener
from notifications_api.event_log import service
from notifications_api.event_log.schemas import HistoryEntry

router = APIRouter(prefix="/v1/history", tags=["history"])


@router.get("", response_model=Page[HistoryEntry])
async def history(
    session: SessionDep,
    identity: IdentityDep,
    subject: Annotated[str, Query(min_length=1, max_length=200)],
    type: Annotated[list[str] | None, Query()] = None,
    since: AwareDatetime | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[HistoryEntry]:
    """The events about one record (their `subject`), oldest first: when, what, and who."""
    return await service.history(
        session, Listener.of(identity), subject, type or [], since, cursor, limit
    )
