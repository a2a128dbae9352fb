"""The record of a meeting: interventions of the delegations and the decisions taken. Both are
published, so plan-api turns offers to host, amendment requests and endorsements into its own
records."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, FieldError, InvalidInput
from bp_common.events.outbox import Outbox
from bp_common.pagination import Page, cursor_datetime, cursor_uuid, page_of, read_cursor
from meetings_api.meetings.models import Delegation, Meeting, MeetingStatus, ParticipantType
from meetings_api.meetings.repository import (
    AgendaRepository,
    DelegationRepository,
    MeetingRepository,
)
from meetings_api.meetings.service import find_meeting, require_status
from meetings_api.proceedings import events
from meetings_api.proceedings.models import Decision, DecisionKind, Intervention, InterventionKind
from meetings_api.proceedings.repository import DecisionRepository, InterventionRepository
from meetings_api.proceedings.schemas import (
    DecisionCreate,
    DecisionOut,
    InterventionCreate,
    InterventionFilters,
    InterventionOut,
)

# What happened at a meeting is recorded during it or after it, never once it is cancelled.
RECORDABLE = (MeetingStatus.PLANNED, MeetingStatus.HELD)


class AlreadyRecorded(Conflict):
    code = "already_recorded"


def _fingerprint(content: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _cursor_key(record: Intervention | Decision) -> tuple[str, str]:
    return record.created_at.isoformat(), str(record.id)


def _body_error(loc: str | tuple[str | int, ...], code: str, message: str) -> FieldError:
    path = (loc,) if isinstance(loc, str) else loc
    return FieldError(loc=["body", *path], code=code, message=message)


class ProceedingsService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.meetings = MeetingRepository(session)
        self.delegations = DelegationRepository(session)
        self.agenda = AgendaRepository(session)
        self.interventions = InterventionRepository(session)
        self.decisions = DecisionRepository(session)

    # -- interventions ----------------------------------------------------------------------

    async def record_intervention(
        self, meeting_id: uuid.UUID, data: InterventionCreate
    ) -> Intervention:
        meeting = await self._recordable(meeting_id, "record interventions")
        speaker = data.delegation.upper()
        delegation = await self.delegations.find(meeting.id, speaker)
        errors = data.rule_violations() + await self._misplaced(meeting, data, delegation)
        if errors or delegation is None:
            raise InvalidInput(
                "The intervention cannot be recorded; nothing was stored.",
                code="invalid_intervention",
                errors=errors,
            )
        content = data.model_dump(mode="json") | {"delegation": speaker}
        intervention = Intervention(
            meeting_id=meeting.id,
            **data.model_dump(exclude={"delegation", "amendment"}),
            delegation=speaker,
            delegation_type=delegation.participant_type,
            amendment=content["amendment"],
            fingerprint=_fingerprint(content),
        )
        if (
            await self.interventions.with_fingerprint(meeting.id, intervention.fingerprint)
            is not None
        ):
            raise AlreadyRecorded("This intervention is recorded already; nothing was added.")
        await self._insert(intervention)
        await self.outbox.emit(
            self.session,
            events.InterventionRecordedV1(
                intervention_id=intervention.id,
                meeting_id=intervention.meeting_id,
                delegation=intervention.delegation,
                delegation_type=intervention.delegation_type,
                kind=intervention.kind,
                text=intervention.text,
                agenda_item_id=intervention.agenda_item_id,
                plan_id=intervention.plan_id,
                plan_version=intervention.plan_version,
                activity_id=intervention.activity_id,
                year=intervention.year,
                amendment=(
                    None
                    if intervention.amendment is None
                    else events.RequestedAmendmentV1.model_validate(intervention.amendment)
                ),
            ),
        )
        return intervention

    async def _misplaced(
        self, meeting: Meeting, data: InterventionCreate, delegation: Delegation | None
    ) -> list[FieldError]:
        """What does not fit the meeting: the speaker, the year offered, the agenda item."""
        errors = []
        offer = data.kind is InterventionKind.OFFER_TO_HOST
        if delegation is None:
            errors.append(
                _body_error(
                    "delegation", "delegation_not_at_meeting", "no delegation at the meeting"
                )
            )
        elif offer and delegation.participant_type is not ParticipantType.STATE:
            errors.append(
                _body_error("delegation", "host_must_be_a_state", "only a state offers to host")
            )
        if offer and data.year is not None and data.year < meeting.starts_on.year:
            message = f"an offer made in {meeting.starts_on.year} is for that year or later"
            errors.append(_body_error("year", "year_in_past", message))
        if data.agenda_item_id and await self.agenda.get(meeting.id, data.agenda_item_id) is None:
            message = "no such item on this meeting's agenda"
            errors.append(_body_error("agenda_item_id", "agenda_item_not_found", message))
        return errors

    async def interventions_of(
        self,
        meeting_id: uuid.UUID,
        filters: InterventionFilters,
        limit: int,
        cursor: str | None,
    ) -> Page[InterventionOut]:
        meeting = await find_meeting(self.meetings, meeting_id)
        after = read_cursor(cursor, cursor_datetime, cursor_uuid)
        rows = await self.interventions.list(meeting.id, filters, limit=limit + 1, after=after)
        return page_of(rows, limit, _cursor_key, InterventionOut.model_validate)

    # -- decisions --------------------------------------------------------------------------

    async def record_decision(self, meeting_id: uuid.UUID, data: DecisionCreate) -> Decision:
        meeting = await self._recordable(meeting_id, "record decisions")
        errors = data.rule_violations()
        states = {
            d.participant
            for d in await self.delegations.of_meeting(meeting.id)
            if d.participant_type is ParticipantType.STATE
        }
        errors += [
            _body_error(
                ("reservations", index), "reservation_not_at_meeting", f"{country} is absent"
            )
            for index, country in enumerate(data.reservations)
            if country not in states
        ]
        if errors:
            raise InvalidInput(
                "The decision cannot be recorded; nothing was stored.",
                code="invalid_decision",
                errors=errors,
            )
        decision = Decision(
            meeting_id=meeting.id,
            **data.model_dump(),
            fingerprint=_fingerprint(data.model_dump(mode="json")),
        )
        if await self.decisions.with_fingerprint(meeting.id, decision.fingerprint) is not None:
            raise AlreadyRecorded("This decision is recorded already; nothing was added.")
        await self._insert(decision)
        await self.outbox.emit(
            self.session,
            events.DecisionRecordedV1(
                decision_id=decision.id,
                meeting_id=decision.meeting_id,
                kind=decision.kind,
                text=decision.text,
                plan_id=decision.plan_id,
                plan_version=decision.plan_version,
                reservations=decision.reservations,
            ),
        )
        return decision

    async def decisions_of(
        self, meeting_id: uuid.UUID, kind: DecisionKind | None, limit: int, cursor: str | None
    ) -> Page[DecisionOut]:
        meeting = await find_meeting(self.meetings, meeting_id)
        after = read_cursor(cursor, cursor_datetime, cursor_uuid)
        rows = await self.decisions.list(meeting.id, kind, limit=limit + 1, after=after)
        return page_of(rows, limit, _cursor_key, DecisionOut.model_validate)

    # -- shared -----------------------------------------------------------------------------

    async def _recordable(self, meeting_id: uuid.UUID, action: str) -> Meeting:
        meeting = await find_meeting(self.meetings, meeting_id)
        require_status(meeting, RECORDABLE, action)
        return meeting

    async def _insert(self, record: Intervention | Decision) -> None:
        self.session.add(record)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the same one, recorded concurrently
            raise AlreadyRecorded("This is recorded already; nothing was added.") from exc
