"""Meetings, their delegations and agenda. Lifecycle planned -> held | cancelled; a planned
meeting may be rescheduled (its previous dates are kept). Every transition is guarded, so a
request or an event repeated changes nothing it should not."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
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
from bp_common.revisions import Precondition
from bp_common.security import Identity
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
    AgendaItemUpdate,
    Attendance,
    DelegationIn,
    DelegationOut,
    DelegationsOut,
    DelegationUpdate,
    MeetingCreate,
    MeetingFilters,
    MeetingOut,
    MeetingUpdate,
)
from meetings_api.organisations.repository import OrganisationRepository
from meetings_api.proceedings.repository import DecisionRepository, InterventionRepository


class MeetingStateConflict(Conflict):
    code = "meeting_state_conflict"


class AgendaPositionTaken(Conflict):
    code = "agenda_position_taken"


class AgendaBeyondDates(Conflict):
    code = "agenda_beyond_dates"


class DelegationNotFound(NotFound):
    code = "delegation_not_found"


class DelegationHasRecords(Conflict):
    code = "delegation_has_records"


# A meeting's records are corrected while it is planned or once held, never once cancelled
# (the same rule as recording them).
CORRECTABLE = (MeetingStatus.PLANNED, MeetingStatus.HELD)


def changes_of(record: object, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``values`` other than the record's."""
    return {name: value for name, value in values.items() if getattr(record, name) != value}


def require_status(meeting: Meeting, allowed: Collection[MeetingStatus], action: str) -> None:
    if meeting.status not in allowed:
        expected = " or ".join(status.value for status in allowed)
        raise MeetingStateConflict(
            f"The meeting is {meeting.status.value}; only a {expected} meeting can {action}."
        )


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
        return await self._view(await self.meetings.get_or_raise(meeting_id))

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

    async def update(
        self, meeting_id: uuid.UUID, data: MeetingUpdate, precondition: Precondition
    ) -> MeetingOut:
        meeting = await self.meetings.get_or_raise(meeting_id, for_update=True)
        precondition.check(meeting.revision, "meeting")
        require_status(meeting, [MeetingStatus.PLANNED], "be changed")
        changes = changes_of(meeting, data.model_dump(exclude_unset=True))
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
        meeting = await self.meetings.get_or_raise(meeting_id, for_update=True)
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

    async def delegations_of(
        self, meeting_id: uuid.UUID, include_withdrawn: bool = False
    ) -> DelegationsOut:
        meeting = await self.meetings.get_or_raise(meeting_id)
        return await self._delegations_out(meeting.id, include_withdrawn)

    async def replace_delegations(
        self, meeting_id: uuid.UUID, items: list[DelegationIn]
    ) -> DelegationsOut:
        meeting = await self.meetings.get_or_raise(meeting_id, for_update=True)
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
            await self._replace(meeting.id, wanted)
        return await self._delegations_out(meeting.id)

    async def _replace(
        self, meeting_id: uuid.UUID, wanted: list[tuple[str, ParticipantType, int, str | None]]
    ) -> None:
        """The list made ``wanted``: an entry kept is changed in place (its revision grows, so
        an ETag read before stays stale), a new one added, one left out removed (a planned
        meeting's list is a draft). Tombstones stay."""
        standing = {d.participant: d for d in await self.delegations.of_meeting(meeting_id)}
        listed = {participant for participant, *_ in wanted}
        await self.delegations.remove(
            [d for participant, d in standing.items() if participant not in listed]
        )
        await self.session.flush()
        for position, (participant, participant_type, headcount, head) in enumerate(wanted):
            delegation = standing.get(participant)
            if delegation is None:
                self.delegations.add(
                    Delegation(
                        meeting_id=meeting_id,
                        participant=participant,
                        participant_type=participant_type,
                        headcount=headcount,
                        head_of_delegation=head,
                        position=position,
                    )
                )
            else:
                delegation.participant_type = participant_type
                delegation.headcount = headcount
                delegation.head_of_delegation = head
                delegation.position = position
        await self.session.flush()

    async def republish_attendance(self, meeting: Meeting) -> None:
        """The meeting's attendance follows its delegations: re-published, as an update of a
        planned meeting, as a correction of the attendance a held one reported."""
        meeting.revision += 1
        await self.session.flush()
        if meeting.status is MeetingStatus.HELD:
            await self._announce(events.MeetingAttendanceCorrectedV1, meeting)
        else:
            await self._announce(events.MeetingUpdatedV1, meeting, changed=["attendance"])

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

    async def _delegations_out(
        self, meeting_id: uuid.UUID, include_withdrawn: bool = False
    ) -> DelegationsOut:
        delegations = await self.delegations.of_meeting(
            meeting_id, include_withdrawn=include_withdrawn
        )
        attendance = (await self.delegations.attendance([meeting_id]))[meeting_id]
        return DelegationsOut(
            items=[DelegationOut.model_validate(d) for d in delegations], attendance=attendance
        )

    # -- agenda -----------------------------------------------------------------------------

    async def add_agenda_item(self, meeting_id: uuid.UUID, data: AgendaItemCreate) -> AgendaItem:
        meeting = await self.meetings.get_or_raise(meeting_id, for_update=True)
        # The held event reported the goals the agenda covered.
        require_status(meeting, [MeetingStatus.PLANNED], "have its agenda changed")
        _refuse_day_outside(meeting, data.day)
        taken = _position_taken(data.day, data.position)
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
        self,
        meeting_id: uuid.UUID,
        day: int | None,
        limit: int,
        cursor: str | None,
        include_withdrawn: bool = False,
    ) -> Page[AgendaItemOut]:
        meeting = await self.meetings.get_or_raise(meeting_id)
        after = read_cursor(cursor, cursor_int, cursor_int, cursor_uuid)
        rows = await self.agenda.list(
            meeting.id, day, limit=limit + 1, after=after, include_withdrawn=include_withdrawn
        )
        return page_of(
            rows, limit, lambda i: (i.day, i.position, str(i.id)), AgendaItemOut.model_validate
        )


class DelegationService:
    """One delegation's entry, by its meeting and participant: read, corrected, withdrawn (also
    a held meeting's); the meeting's attendance is published again after each change."""

    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.meetings = MeetingRepository(session)
        self.delegations = DelegationRepository(session)
        self.meeting_service = MeetingService(session, outbox)

    async def get_or_raise(self, meeting_id: uuid.UUID, participant: str) -> Delegation:
        """The participant's delegation: the one standing, else its latest tombstone."""
        meeting = await self.meetings.get_or_raise(meeting_id)
        code = participant.upper()
        found = await self.delegations.find(meeting.id, code)
        if found is None:
            found = await self.delegations.last_withdrawn(meeting.id, code)
        if found is None:
            raise DelegationNotFound(f"No delegation of {code} at meeting {meeting_id}.")
        return found

    async def update(
        self,
        meeting_id: uuid.UUID,
        participant: str,
        data: DelegationUpdate,
        precondition: Precondition,
    ) -> Delegation:
        meeting, delegation = await self._standing_delegation(meeting_id, participant)
        precondition.check(delegation.revision, "delegation")
        changes = changes_of(delegation, data.model_dump(exclude_unset=True))
        if not changes:  # a repeated request
            return delegation
        for name, value in changes.items():
            setattr(delegation, name, value)
        await self.meeting_service.republish_attendance(meeting)
        corrected = events.DelegationCorrectedV1.of(
            delegation, meeting.revision, changed=sorted(changes)
        )
        await self.outbox.emit(self.session, corrected)
        return delegation

    async def withdraw(
        self,
        meeting_id: uuid.UUID,
        participant: str,
        reason: str,
        identity: Identity,
        precondition: Precondition,
    ) -> Delegation:
        meeting, delegation = await self._standing_delegation(meeting_id, participant)
        precondition.check(delegation.revision, "delegation")
        # What it said or reserved would name a delegation that was not there.
        if await self._has_records(meeting.id, delegation.participant):
            raise DelegationHasRecords(
                f"{delegation.participant} has interventions or reservations recorded at this "
                "meeting: withdraw or correct them first. Nothing was changed."
            )
        delegation.withdraw(by=identity.principal, reason=reason, what="delegation")
        await self.meeting_service.republish_attendance(meeting)
        withdrawn = events.DelegationWithdrawnV1.of(delegation, meeting.revision)
        await self.outbox.emit(self.session, withdrawn)
        return delegation

    async def _has_records(self, meeting_id: uuid.UUID, participant: str) -> bool:
        if await InterventionRepository(self.session).by_delegation(meeting_id, participant):
            return True
        decisions = await DecisionRepository(self.session).of_meeting(meeting_id)
        return any(participant in decision.reservations for decision in decisions)

    async def _standing_delegation(
        self, meeting_id: uuid.UUID, participant: str
    ) -> tuple[Meeting, Delegation]:
        meeting = await self.meetings.get_or_raise(meeting_id, for_update=True)
        code = participant.upper()
        delegation = await self.delegations.find(meeting.id, code, for_update=True)
        if delegation is None:
            if (tombstone := await self.delegations.last_withdrawn(meeting.id, code)) is not None:
                tombstone.refuse_if_withdrawn("delegation")
            raise DelegationNotFound(f"No delegation of {code} at meeting {meeting_id}.")
        require_status(meeting, CORRECTABLE, "have its delegations corrected")
        return meeting, delegation


class AgendaItemService:
    """One agenda item by its id: read, corrected, withdrawn (a planned or held meeting's)."""

    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.meetings = MeetingRepository(session)
        self.agenda = AgendaRepository(session)

    async def get_or_raise(self, item_id: uuid.UUID) -> AgendaItem:
        return await self.agenda.get_or_raise(item_id)

    async def update(
        self, item_id: uuid.UUID, data: AgendaItemUpdate, precondition: Precondition
    ) -> AgendaItem:
        meeting, item = await self._correctable(item_id, precondition)
        item.refuse_if_withdrawn("agenda item")
        changes = changes_of(item, data.model_dump(exclude_unset=True))
        if not changes:  # a repeated request
            return item
        day, position = changes.get("day", item.day), changes.get("position", item.position)
        _refuse_day_outside(meeting, day)
        if {"day", "position"} & changes.keys():
            other = await self.agenda.at(meeting.id, day, position)
            if other is not None and other.id != item.id:
                raise _position_taken(day, position)
        goals_before = (await self.agenda.goals([meeting.id]))[meeting.id]
        for name, value in changes.items():
            setattr(item, name, value)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the place taken concurrently
            raise _position_taken(day, position) from exc
        await self._refuse_goals_changed_if_held(meeting, goals_before)
        await self.outbox.emit(self.session, events.AgendaItemCorrectedV1.of(item, sorted(changes)))
        return item

    async def withdraw(
        self, item_id: uuid.UUID, reason: str, identity: Identity, precondition: Precondition
    ) -> AgendaItem:
        meeting, item = await self._correctable(item_id, precondition)
        goals_before = (await self.agenda.goals([meeting.id]))[meeting.id]
        item.withdraw(by=identity.principal, reason=reason, what="agenda item")
        await self.session.flush()
        await self._refuse_goals_changed_if_held(meeting, goals_before)
        await self.outbox.emit(self.session, events.AgendaItemWithdrawnV1.of(item))
        return item

    async def _correctable(
        self, item_id: uuid.UUID, precondition: Precondition
    ) -> tuple[Meeting, AgendaItem]:
        item = await self.agenda.get_or_raise(item_id, for_update=True)
        meeting = await self.meetings.get_or_raise(item.meeting_id, for_update=True)
        precondition.check(item.revision, "agenda item")
        require_status(meeting, CORRECTABLE, "have its agenda corrected")
        return meeting, item

    async def _refuse_goals_changed_if_held(self, meeting: Meeting, before: list[int]) -> None:
        """A held meeting reported the goals its agenda covered: those stay (the refusal rolls
        the request's transaction back)."""
        if meeting.status is not MeetingStatus.HELD:
            return
        after = (await self.agenda.goals([meeting.id]))[meeting.id]
        if after != before:
            raise MeetingStateConflict(
                f"The meeting was held covering goals {before}; this would make them {after}. "
                "A held meeting's goals stay as reported; nothing was changed."
            )


def _refuse_day_outside(meeting: Meeting, day: int) -> None:
    if day > meeting.days:
        raise InvalidInput(
            f"The meeting lasts {meeting.days} day(s).",
            code="day_outside_meeting",
            errors=[
                FieldError(
                    loc=["body", "day"],
                    code="day_outside_meeting",
                    message=f"day {day} is after the meeting's last day ({meeting.days})",
                )
            ],
        )


def _position_taken(day: int, position: int) -> AgendaPositionTaken:
    return AgendaPositionTaken(f"Day {day} already has an item at position {position}.")


def _meeting_out(meeting: Meeting, attendance: Attendance, goals: list[int]) -> MeetingOut:
    stored = {name: getattr(meeting, name) for name in MeetingOut.model_fields.keys() - _DERIVED}
    return MeetingOut.model_validate(stored | {"attendance": attendance, "goals": goals})


_DERIVED = {"attendance", "goals"}
