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
from bp_common.revisions import Precondition
from bp_common.security import Identity
from meetings_api.meetings.models import Delegation, Meeting, MeetingStatus, ParticipantType
from meetings_api.meetings.repository import (
    AgendaRepository,
    DelegationRepository,
    MeetingRepository,
)
from meetings_api.meetings.service import changes_of, require_status
from meetings_api.plan_facts.service import PlanFactsService
from meetings_api.proceedings import events
from meetings_api.proceedings.models import Decision, DecisionKind, Intervention, InterventionKind
from meetings_api.proceedings.repository import DecisionRepository, InterventionRepository
from meetings_api.proceedings.schemas import (
    DecisionCreate,
    DecisionOut,
    DecisionUpdate,
    InterventionCreate,
    InterventionFilters,
    InterventionOut,
    InterventionUpdate,
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
        fields = await self.checked_intervention(meeting, data, "recorded")
        intervention = Intervention(meeting_id=meeting.id, **fields)
        if (
            await self.interventions.with_fingerprint(meeting.id, intervention.fingerprint)
            is not None
        ):
            raise AlreadyRecorded("This intervention is recorded already; nothing was added.")
        await self._insert(intervention)
        await self.outbox.emit(self.session, events.InterventionRecordedV1.of(intervention))
        return intervention

    async def checked_intervention(
        self, meeting: Meeting, data: InterventionCreate, done: str
    ) -> dict[str, Any]:
        """The stored fields of ``data`` once it passes the rules of recording (a 422 naming
        each rule broken): the same for a new intervention and a corrected one."""
        speaker = data.delegation.upper()
        delegation = await self.delegations.find(meeting.id, speaker)
        errors = data.rule_violations() + await self._misplaced(meeting, data, delegation)
        if errors or delegation is None:
            raise InvalidInput(
                f"The intervention cannot be {done}; nothing was stored.",
                code="invalid_intervention",
                errors=errors,
            )
        content = data.model_dump(mode="json") | {"delegation": speaker}
        return data.model_dump(exclude={"delegation", "amendment"}) | {
            "delegation": speaker,
            "delegation_type": delegation.participant_type,
            "amendment": content["amendment"],
            "fingerprint": _fingerprint(content),
        }

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
        if (
            data.agenda_item_id
            and await self.agenda.on_agenda(meeting.id, data.agenda_item_id) is None
        ):
            message = "no such item on this meeting's agenda"
            errors.append(_body_error("agenda_item_id", "agenda_item_not_found", message))
        return errors

    async def interventions_of(
        self,
        meeting_id: uuid.UUID,
        filters: InterventionFilters,
        limit: int,
        cursor: str | None,
        include_withdrawn: bool = False,
    ) -> Page[InterventionOut]:
        meeting = await self.meetings.get_or_raise(meeting_id)
        after = read_cursor(cursor, cursor_datetime, cursor_uuid)
        rows = await self.interventions.list(
            meeting.id, filters, limit=limit + 1, after=after, include_withdrawn=include_withdrawn
        )
        return page_of(rows, limit, _cursor_key, InterventionOut.model_validate)

    # -- decisions --------------------------------------------------------------------------

    async def record_decision(self, meeting_id: uuid.UUID, data: DecisionCreate) -> Decision:
        meeting = await self._recordable(meeting_id, "record decisions")
        decision = Decision(
            meeting_id=meeting.id, **await self.checked_decision(meeting, data, "recorded")
        )
        if await self.decisions.with_fingerprint(meeting.id, decision.fingerprint) is not None:
            raise AlreadyRecorded("This decision is recorded already; nothing was added.")
        await self._insert(decision)
        await self.outbox.emit(self.session, events.DecisionRecordedV1.of(decision))
        return decision

    async def checked_decision(
        self, meeting: Meeting, data: DecisionCreate, done: str
    ) -> dict[str, Any]:
        """The stored fields of ``data`` once it passes the rules of recording."""
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
                f"The decision cannot be {done}; nothing was stored.",
                code="invalid_decision",
                errors=errors,
            )
        return data.model_dump() | {"fingerprint": _fingerprint(data.model_dump(mode="json"))}

    async def decisions_of(
        self,
        meeting_id: uuid.UUID,
        kind: DecisionKind | None,
        limit: int,
        cursor: str | None,
        include_withdrawn: bool = False,
    ) -> Page[DecisionOut]:
        meeting = await self.meetings.get_or_raise(meeting_id)
        after = read_cursor(cursor, cursor_datetime, cursor_uuid)
        rows = await self.decisions.list(
            meeting.id, kind, limit=limit + 1, after=after, include_withdrawn=include_withdrawn
        )
        return page_of(rows, limit, _cursor_key, DecisionOut.model_validate)

    # -- shared -----------------------------------------------------------------------------

    async def _recordable(self, meeting_id: uuid.UUID, action: str) -> Meeting:
        meeting = await self.meetings.get_or_raise(meeting_id)
        require_status(meeting, RECORDABLE, action)
        return meeting

    async def _insert(self, record: Intervention | Decision) -> None:
        self.session.add(record)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the same one, recorded concurrently
            raise AlreadyRecorded("This is recorded already; nothing was added.") from exc


class InterventionService:
    """One intervention by its id: read, corrected (by the rules of recording it), withdrawn;
    never an ``offer_to_host`` whose offer plan-api accepted."""

    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.meetings = MeetingRepository(session)
        self.interventions = InterventionRepository(session)
        self.plan_facts = PlanFactsService(session)
        self.recording = ProceedingsService(session, outbox)

    async def get_or_raise(self, intervention_id: uuid.UUID) -> Intervention:
        return await self.interventions.get_or_raise(intervention_id)

    async def update(
        self, intervention_id: uuid.UUID, data: InterventionUpdate, precondition: Precondition
    ) -> Intervention:
        intervention = await self.interventions.get_or_raise(intervention_id, for_update=True)
        meeting = await _correctable(self.meetings, intervention, precondition, "intervention")
        intervention.refuse_if_withdrawn("intervention")
        await self._refuse_if_offer_accepted(intervention, "corrected")
        corrected = InterventionCreate.model_validate(
            _intervention_content(intervention) | data.model_dump(exclude_unset=True)
        )
        fields = await self.recording.checked_intervention(meeting, corrected, "corrected")
        changes = changes_of(intervention, fields)
        changes.pop("fingerprint", None)
        if not changes:  # a repeated request
            return intervention
        same = await self.interventions.with_fingerprint(
            meeting.id, fields["fingerprint"], other_than=intervention.id
        )
        if same is not None:
            raise AlreadyRecorded(
                f"The intervention as corrected is recorded already ({same.id}); nothing was "
                "changed."
            )
        for name, value in fields.items():
            setattr(intervention, name, value)
        await _flush(self.session)
        await self.outbox.emit(
            self.session,
            events.InterventionCorrectedV1.of(intervention, changed=sorted(changes)),
        )
        return intervention

    async def withdraw(
        self,
        intervention_id: uuid.UUID,
        reason: str,
        identity: Identity,
        precondition: Precondition,
    ) -> Intervention:
        intervention = await self.interventions.get_or_raise(intervention_id, for_update=True)
        await _correctable(self.meetings, intervention, precondition, "intervention")
        intervention.refuse_if_withdrawn("intervention")
        await self._refuse_if_offer_accepted(intervention, "withdrawn")
        intervention.withdraw(by=identity.principal, reason=reason, what="intervention")
        await _flush(self.session)
        await self.outbox.emit(
            self.session,
            events.InterventionWithdrawnV1.of(intervention),
        )
        return intervention

    async def _refuse_if_offer_accepted(self, intervention: Intervention, action: str) -> None:
        if intervention.kind is InterventionKind.OFFER_TO_HOST:
            await self.plan_facts.refuse_if_offer_accepted(
                intervention.id, intervention.activity_id, intervention.delegation, action
            )


class DecisionService:
    """One decision by its id: read, corrected (by the rules of recording it), withdrawn; never
    in what it endorsed once plan-api endorsed that version."""

    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.meetings = MeetingRepository(session)
        self.decisions = DecisionRepository(session)
        self.plan_facts = PlanFactsService(session)
        self.recording = ProceedingsService(session, outbox)

    async def get_or_raise(self, decision_id: uuid.UUID) -> Decision:
        return await self.decisions.get_or_raise(decision_id)

    async def update(
        self, decision_id: uuid.UUID, data: DecisionUpdate, precondition: Precondition
    ) -> Decision:
        decision = await self.decisions.get_or_raise(decision_id, for_update=True)
        meeting = await _correctable(self.meetings, decision, precondition, "decision")
        decision.refuse_if_withdrawn("decision")
        corrected = DecisionCreate.model_validate(
            _decision_content(decision) | data.model_dump(exclude_unset=True)
        )
        fields = await self.recording.checked_decision(meeting, corrected, "corrected")
        changes = changes_of(decision, fields)
        changes.pop("fingerprint", None)
        if not changes:  # a repeated request
            return decision
        # What an endorsement endorsed stays; its text and reservations are the meeting's own.
        if (
            decision.kind is DecisionKind.ENDORSEMENT
            and {
                "kind",
                "plan_id",
                "plan_version",
            }
            & changes.keys()
        ):
            await self.plan_facts.refuse_if_endorsed(
                decision.plan_id, decision.plan_version, "changed in what it endorsed"
            )
        same = await self.decisions.with_fingerprint(
            meeting.id, fields["fingerprint"], other_than=decision.id
        )
        if same is not None:
            raise AlreadyRecorded(
                f"The decision as corrected is recorded already ({same.id}); nothing was changed."
            )
        for name, value in fields.items():
            setattr(decision, name, value)
        await _flush(self.session)
        await self.outbox.emit(
            self.session,
            events.DecisionCorrectedV1.of(decision, changed=sorted(changes)),
        )
        return decision

    async def withdraw(
        self, decision_id: uuid.UUID, reason: str, identity: Identity, precondition: Precondition
    ) -> Decision:
        decision = await self.decisions.get_or_raise(decision_id, for_update=True)
        await _correctable(self.meetings, decision, precondition, "decision")
        decision.refuse_if_withdrawn("decision")
        if decision.kind is DecisionKind.ENDORSEMENT:
            await self.plan_facts.refuse_if_endorsed(
                decision.plan_id, decision.plan_version, "withdrawn"
            )
        decision.withdraw(by=identity.principal, reason=reason, what="decision")
        await _flush(self.session)
        await self.outbox.emit(
            self.session,
            events.DecisionWithdrawnV1.of(decision),
        )
        return decision


async def _correctable(
    meetings: MeetingRepository,
    record: Intervention | Decision,
    precondition: Precondition,
    what: str,
) -> Meeting:
    """The meeting of ``record`` (which the caller read locked), once the record matches
    ``If-Match`` and its meeting's records may still be corrected (a cancelled meeting's may
    not, as they may not be recorded)."""
    precondition.check(record.revision, what)
    meeting = await meetings.get_or_raise(record.meeting_id)
    require_status(meeting, RECORDABLE, f"have its {what}s corrected")
    return meeting


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:  # the same content recorded concurrently
        raise AlreadyRecorded("The record as corrected is recorded already.") from exc


def _intervention_content(intervention: Intervention) -> dict[str, Any]:
    """The intervention as a recording request would state it."""
    return {
        "delegation": intervention.delegation,
        "kind": intervention.kind,
        "text": intervention.text,
        "agenda_item_id": intervention.agenda_item_id,
        "plan_id": intervention.plan_id,
        "plan_version": intervention.plan_version,
        "activity_id": intervention.activity_id,
        "year": intervention.year,
        "amendment": intervention.amendment,
    }


def _decision_content(decision: Decision) -> dict[str, Any]:
    return {
        "kind": decision.kind,
        "text": decision.text,
        "plan_id": decision.plan_id,
        "plan_version": decision.plan_version,
        "reservations": decision.reservations,
    }
