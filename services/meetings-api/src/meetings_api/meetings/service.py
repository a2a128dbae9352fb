"""Meetings, their delegations and agenda. Lifecycle planned -> held | cancelled; a planned
meeting may be rescheduled (its previous dates are kept). Every transition is guarded, so a
request or an event repeated changes nothing it should not."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, FieldError, InvalidInput, NotFound
from bp_common.events.outbox import Outbox
from bp_common.pagination import (
    Page,
    SortOrder,
    cursor_date,
    cursor_int,
    cursor_uuid,
    page_of,
    read_cursor,
)
from bp_common.types import is_country_code
from meetings_api.meetings import events
from meetings_api.meetings.models import (
    AgendaItem,
    Delegation,
    Meeting,
    MeetingStatus,
    ParticipantType,
)
from meetings_api.meetings.repository import (
    AgendaRepository,
    DelegationRepository,
    MeetingRepository,
)
from meetings_api.meetings.schemas import (
    AgendaItemCreate,
    AgendaItemOut,
    Attendance,
    DelegationIn,
    DelegationOut,
    DelegationsOut,
    MeetingCreate,
    MeetingFilters,
    MeetingOut,
    MeetingUpdate,
)
from meetings_api.organisations.repository import OrganisationRepository


class MeetingNotFound(NotFound):
    code = "meeting_not_found"


class MeetingStateConflict(Conflict):
    code = "meeting_state_conflict"


class AgendaPositionTaken(Conflict):
    code = "agenda_position_taken"


class AgendaBeyondDates(Conflict):
    code = "agenda_beyond_dates"


def require_status(meeting: Meeting, allowed: Collection[MeetingStatus], action: str) -> None:
    if meeting.status not in allowed:
        expected = " or ".join(status.value for status in allowed)
        raise MeetingStateConflict(
            f"The meeting is {meeting.status.value}; only a {expected} meeting can {action}."
        )


async def find_meeting(
    meetings: MeetingRepository, meeting_id: uuid.UUID, *, for_update: bool = False
) -> Meeting:
    meeting = await meetings.get(meeting_id, for_update=for_update)
    if meeting is None:
        raise MeetingNotFound(f"No meeting with id {meeting_id}.")
    return meeting


class MeetingService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.meetings = MeetingRepository(session)
        self.delegations = DelegationRepository(session)
        self.agenda = AgendaRepository(session)
        self.organisations = OrganisationRepository(session)

    # -- the meeting ------------------------------------------------------------------------

    async def schedule(self, data: MeetingCreate) -> MeetingOut:
        meeting = Meeting(
            **data.model_dump(), status=MeetingStatus.PLANNED, revision=0, previous_dates=[]
        )
        self.meetings.add(meeting)
        await self.session.flush()
        return await self._announce(events.MeetingScheduledV1, meeting)

    async def get(self, meeting_id: uuid.UUID) -> MeetingOut:
        return await self._view(await find_meeting(self.meetings, meeting_id))

    async def list_meetings(
        self, filters: MeetingFilters, order: SortOrder, limit: int, cursor: str | None
    ) -> Page[MeetingOut]:
        after = read_cursor(cursor, cursor_date, cursor_uuid)
        rows = await self.meetings.list(filters, limit=limit + 1, after=after, order=order)
        shown = [meeting.id for meeting in rows[:limit]]
        attendance = await self.delegations.attendance(shown)
        goals = await self.agenda.goals(shown)
        return page_of(
            rows,
            limit,
            lambda m: (m.starts_on.isoformat(), str(m.id)),
            lambda m: _meeting_out(m, attendance[m.id], goals[m.id]),
        )

    async def update(self, meeting_id: uuid.UUID, data: MeetingUpdate) -> MeetingOut:
        meeting = await find_meeting(self.meetings, meeting_id, for_update=True)
        require_status(meeting, [MeetingStatus.PLANNED], "be changed")
        changes = {
            name: value
            for name, value in data.model_dump(exclude_unset=True).items()
            if getattr(meeting, name) != value
        }
        if not changes:  # a repeated request
            return await self._view(meeting)
        starts_on = changes.get("starts_on", meeting.starts_on)
        ends_on = changes.get("ends_on", meeting.ends_on)
        if ends_on < starts_on:
            raise InvalidInput(
                "The meeting would end before it starts; nothing was changed.",
                code="dates_out_of_order",
                errors=[
                    FieldError(
                        loc=["body", "ends_on"],
                        code="dates_out_of_order",
                        message=f"ends_on {ends_on} is before starts_on {starts_on}",
                    )
                ],
            )
        rescheduled = "starts_on" in changes or "ends_on" in changes
        days = (ends_on - starts_on).days + 1
        if rescheduled and await self.agenda.last_day(meeting.id) > days:
            raise AgendaBeyondDates(
                f"The agenda has items after day {days} of the new dates; move them first."
            )
        previous = events.DatesV1(starts_on=meeting.starts_on, ends_on=meeting.ends_on)
        for name, value in changes.items():
            setattr(meeting, name, value)
        meeting.revision += 1
        if not rescheduled:
            await self.session.flush()
            return await self._announce(events.MeetingUpdatedV1, meeting, changed=sorted(changes))
        meeting.previous_dates = [
            *meeting.previous_dates,
            previous.model_dump(mode="json") | {"replaced_at": datetime.now(UTC).isoformat()},
        ]
        await self.session.flush()
        return await self._announce(events.MeetingRescheduledV1, meeting, previous=previous)

    async def hold(self, meeting_id: uuid.UUID) -> MeetingOut:
        return await self._transition(
            meeting_id, MeetingStatus.HELD, events.MeetingHeldV1, "be held"
        )

    async def cancel(self, meeting_id: uuid.UUID) -> MeetingOut:
        return await self._transition(
            meeting_id, MeetingStatus.CANCELLED, events.MeetingCancelledV1, "be cancelled"
        )

    async def _transition(
        self,
        meeting_id: uuid.UUID,
        to: MeetingStatus,
        event: type[events.MeetingV1],
        action: str,
    ) -> MeetingOut:
        meeting = await find_meeting(self.meetings, meeting_id, for_update=True)
        require_status(meeting, [MeetingStatus.PLANNED], action)
        meeting.status = to
        meeting.revision += 1
        await self.session.flush()
        return await self._announce(event, meeting)

    async def _announce(
        self, event: type[events.MeetingV1], meeting: Meeting, **extra: Any
    ) -> MeetingOut:
        """Emit ``event`` with the meeting as it now is, in the caller's transaction."""
        view = await self._view(meeting)
        await self.outbox.emit(
            self.session, event.of(meeting, view.attendance, view.goals, **extra)
        )
        return view

    async def _view(self, meeting: Meeting) -> MeetingOut:
        attendance = (await self.delegations.attendance([meeting.id]))[meeting.id]
        goals = (await self.agenda.goals([meeting.id]))[meeting.id]
        return _meeting_out(meeting, attendance, goals)

    # -- delegations ------------------------------------------------------------------------

    async def delegations_of(self, meeting_id: uuid.UUID) -> DelegationsOut:
        meeting = await find_meeting(self.meetings, meeting_id)
        return await self._delegations_out(meeting.id)

    async def replace_delegations(
        self, meeting_id: uuid.UUID, items: list[DelegationIn]
    ) -> DelegationsOut:
        meeting = await find_meeting(self.meetings, meeting_id, for_update=True)
        # The held event reported the attendance: it stays what was reported.
        require_status(meeting, [MeetingStatus.PLANNED], "have its delegations changed")
        types = await self._participant_types([item.participant for item in items])
        wanted = [
            (participant, participant_type, item.headcount, item.head_of_delegation)
            for item, (participant, participant_type) in zip(items, types, strict=True)
        ]
        current = [
            (d.participant, d.participant_type, d.headcount, d.head_of_delegation)
            for d in await self.delegations.of_meeting(meeting.id)
        ]
        if wanted != current:
            await self.delegations.replace(
                meeting.id,
                [
                    Delegation(
                        meeting_id=meeting.id,
                        participant=participant,
                        participant_type=participant_type,
                        headcount=headcount,
                        head_of_delegation=head,
                        position=index,
                    )
                    for index, (participant, participant_type, headcount, head) in enumerate(wanted)
                ],
            )
        return await self._delegations_out(meeting.id)

    async def _participant_types(
        self, participants: list[str]
    ) -> list[tuple[str, ParticipantType]]:
        """Each participant normalised and typed; every unknown or repeated one is reported."""
        codes = [participant.upper() for participant in participants]
        registered = await self.organisations.registered(set(codes))
        typed: list[tuple[str, ParticipantType]] = []
        errors: list[FieldError] = []
        seen: set[str] = set()
        for index, code in enumerate(codes):
            loc: list[str | int] = ["body", index, "participant"]
            if code in seen:
                errors.append(
                    FieldError(
                        loc=loc, code="duplicate_participant", message=f"{code} is listed twice"
                    )
                )
            seen.add(code)
            # An acronym of the registry wins: the registry refuses acronyms that are country
            # codes, except the Commission's historical "EC".
            if code in registered:
                typed.append((code, ParticipantType.ORGANISATION))
            elif is_country_code(code):
                typed.append((code, ParticipantType.STATE))
            else:
                errors.append(
                    FieldError(
                        loc=loc,
                        code="unknown_participant",
                        message=f"'{code}' is neither an ISO 3166-1 alpha-2 country code "
                        "nor the acronym of a registered organisation",
                    )
                )
        if errors:
            raise InvalidInput(
                "Some delegations name no known state or organisation; nothing was stored.",
                code="invalid_delegations",
                errors=errors,
            )
        return typed

    async def _delegations_out(self, meeting_id: uuid.UUID) -> DelegationsOut:
        delegations = await self.delegations.of_meeting(meeting_id)
        attendance = (await self.delegations.attendance([meeting_id]))[meeting_id]
        return DelegationsOut(
            items=[DelegationOut.model_validate(d) for d in delegations], attendance=attendance
        )

    # -- agenda -----------------------------------------------------------------------------

    async def add_agenda_item(self, meeting_id: uuid.UUID, data: AgendaItemCreate) -> AgendaItem:
        meeting = await find_meeting(self.meetings, meeting_id, for_update=True)
        # The held event reported the goals the agenda covered.
        require_status(meeting, [MeetingStatus.PLANNED], "have its agenda changed")
        if data.day > meeting.days:
            raise InvalidInput(
                f"The meeting lasts {meeting.days} day(s).",
                code="day_outside_meeting",
                errors=[
                    FieldError(
                        loc=["body", "day"],
                        code="day_outside_meeting",
                        message=f"day {data.day} is after the meeting's last day ({meeting.days})",
                    )
                ],
            )
        taken = AgendaPositionTaken(
            f"Day {data.day} already has an item at position {data.position}."
        )
        if await self.agenda.at(meeting.id, data.day, data.position) is not None:
            raise taken
        item = AgendaItem(meeting_id=meeting.id, **data.model_dump())
        self.agenda.add(item)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # added concurrently
            raise taken from exc
        return item

    async def agenda_of(
        self, meeting_id: uuid.UUID, day: int | None, limit: int, cursor: str | None
    ) -> Page[AgendaItemOut]:
        meeting = await find_meeting(self.meetings, meeting_id)
        after = read_cursor(cursor, cursor_int, cursor_int)
        rows = await self.agenda.list(meeting.id, day, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda i: (i.day, i.position), AgendaItemOut.model_validate)


def _meeting_out(meeting: Meeting, attendance: Attendance, goals: list[int]) -> MeetingOut:
    stored = {name: getattr(meeting, name) for name in MeetingOut.model_fields.keys() - _DERIVED}
    return MeetingOut.model_validate(stored | {"attendance": attendance, "goals": goals})


_DERIVED = {"attendance", "goals"}
