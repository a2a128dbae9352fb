"""The meeting's summary, in the structure of the Secretariat's own (the SOM Istanbul 2019
summary): attendance, one numbered paragraph per agenda item with the interventions grouped as
the source groups them, the decisions, the coming year's activities from the event-fed calendar
and the results as presented, from indicators-api's snapshot kept here. Read from this
service's records only: nothing is asked of another service at request time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, InvalidInput, NotFound
from meetings_api.calendar.models import CalendarEntry
from meetings_api.calendar.repository import CalendarRepository
from meetings_api.calendar.schemas import CalendarFilters
from meetings_api.meetings.models import AgendaItem, Delegation, Meeting, MeetingStatus
from meetings_api.meetings.models import ParticipantType as Participant
from meetings_api.meetings.repository import (
    AgendaRepository,
    DelegationRepository,
    MeetingRepository,
)
from meetings_api.organisations.repository import OrganisationRepository
from meetings_api.proceedings.models import Decision, DecisionKind, Intervention, InterventionKind
from meetings_api.proceedings.repository import DecisionRepository, InterventionRepository
from meetings_api.reports.countries import alphabetical, country_name
from meetings_api.reports.repository import ResultsSnapshotRepository
from meetings_api.reports.schemas import (
    ComingActivity,
    DecisionLine,
    InterventionGroup,
    Paragraph,
    Report,
    ResultsSnapshotOut,
    SnapshotTaken,
    Statement,
)

# What one report may hold: beyond it, rendering would take minutes and megabytes.
MAX_REPORT_RECORDS = 5_000

# Said one after the other under their agenda item, as the source tells the opening and the
# presentations.
SPOKEN = (InterventionKind.STATEMENT, InterventionKind.PRESENTATION)
# Grouped under their agenda item, in this order, as the source tells the plenary.
GROUPED = {
    InterventionKind.SUPPORT: "Support",
    InterventionKind.COMMITMENT: "Commitments",
    InterventionKind.OFFER_TO_HOST: "Offers to host",
    InterventionKind.AMENDMENT_REQUEST: "Requests for amendments",
    InterventionKind.RESERVATION: "Reservations",
}
DECISION_KINDS = {
    DecisionKind.ENDORSEMENT: "Endorsement",
    DecisionKind.ADOPTION: "Adoption",
    DecisionKind.TAKE_NOTE: "Taken note of",
    DecisionKind.OTHER: "Decision",
}


class MeetingCancelled(Conflict):
    code = "meeting_cancelled"


class ResultsSnapshotNotFound(NotFound):
    code = "results_snapshot_not_found"


class ReportTooLarge(InvalidInput):
    code = "report_too_large"


def period_text(starts_on: date, ends_on: date) -> str:
    """4-5 December 2019; 30 November-1 December 2019; 30 December 2019-2 January 2020."""
    end = f"{ends_on.day} {ends_on:%B %Y}"
    if starts_on == ends_on:
        return end
    if (starts_on.year, starts_on.month) == (ends_on.year, ends_on.month):
        return f"{starts_on.day}-{end}"
    if starts_on.year == ends_on.year:
        return f"{starts_on.day} {starts_on:%B}-{end}"
    return f"{starts_on.day} {starts_on:%B %Y}-{end}"


def _when(entry: CalendarEntry) -> str:
    if entry.starts_on is not None and entry.ends_on is not None:
        return period_text(entry.starts_on, entry.ends_on)
    return f"Q{entry.quarter} {entry.year}" if entry.quarter else str(entry.year)


def join_list(items: Sequence[str]) -> str:
    """a, b and c (as the source lists countries)."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _results_note(results: ResultsSnapshotOut | None, draft: bool) -> str:
    if results is not None:
        note = (
            "The Results-oriented Learning Tool's indicators by goal and year as they stood "
            f"when the meeting was held ({results.taken_at.day} {results.taken_at:%B %Y})."
        )
        return note if results.rows else f"{note} No results were recorded then."
    if draft:
        return "Frozen from the Results-oriented Learning Tool when the meeting is held."
    return "The Results-oriented Learning Tool's snapshot for this meeting has not arrived yet."


class ReportService:
    def __init__(self, session: AsyncSession) -> None:
        self.meetings = MeetingRepository(session)
        self.delegations = DelegationRepository(session)
        self.agenda = AgendaRepository(session)
        self.organisations = OrganisationRepository(session)
        self.interventions = InterventionRepository(session)
        self.decisions = DecisionRepository(session)
        self.calendar = CalendarRepository(session)
        self.snapshots = ResultsSnapshotRepository(session)

    # -- the results as presented -------------------------------------------------------------

    async def keep_snapshot(self, snapshot: SnapshotTaken) -> None:
        await self.snapshots.keep(
            {
                "meeting_id": snapshot.meeting_id,
                "taken_at": snapshot.taken_at,
                "rows": [row.model_dump() for row in snapshot.rows],
            }
        )

    async def results_snapshot(self, meeting_id: uuid.UUID) -> ResultsSnapshotOut:
        await self.meetings.get_or_raise(meeting_id)
        snapshot = await self.snapshots.of_meeting(meeting_id)
        if snapshot is None:
            raise ResultsSnapshotNotFound(
                f"No results snapshot for meeting {meeting_id}: it is not held, or "
                "indicators-api's snapshot has not arrived yet."
            )
        return ResultsSnapshotOut.model_validate(snapshot)

    # -- the summary --------------------------------------------------------------------------

    async def report(self, meeting_id: uuid.UUID, dialogue: str) -> Report:
        meeting = await self.meetings.get_or_raise(meeting_id)
        if meeting.status is MeetingStatus.CANCELLED:
            raise MeetingCancelled("The meeting was cancelled: it has no summary.")
        delegations = await self.delegations.of_meeting(meeting.id)
        agenda = await self.agenda.of_meeting(meeting.id)
        interventions = await self.interventions.of_meeting(meeting.id)
        decisions = await self.decisions.of_meeting(meeting.id)
        records = len(delegations) + len(agenda) + len(interventions) + len(decisions)
        if records > MAX_REPORT_RECORDS:
            raise ReportTooLarge(
                f"The meeting has {records} records; a summary holds at most {MAX_REPORT_RECORDS}."
            )
        names = self._speakers(delegations, interventions)
        activities = await self._activity_titles(interventions)
        paragraphs = self._paragraphs(agenda, interventions, names, activities, first=2)
        after = (paragraphs[-1].number if paragraphs else 1) + 1
        coming_year = meeting.starts_on.year + 1
        snapshot = await self.snapshots.of_meeting(meeting.id)
        results = None if snapshot is None else ResultsSnapshotOut.model_validate(snapshot)
        countries = sorted(
            (names[d.participant] for d in delegations if d.participant_type is Participant.STATE),
            key=alphabetical,
        )
        organisations = await self._organisations(delegations)
        draft = meeting.status is not MeetingStatus.HELD
        attendance = (
            f"The {meeting.title} {'is attended by' if draft else 'gathered'} "
            f"{sum(d.headcount for d in delegations)} participants from {len(countries)} "
            f"countries {join_list(countries)}"
        )
        if organisations:
            attendance += (
                f" as well as {len(organisations)} organisations: {join_list(organisations)}"
            )
        return Report(
            dialogue=dialogue,
            title=meeting.title,
            place=f"{meeting.city}, {country_name(meeting.country)}",
            dates=period_text(meeting.starts_on, meeting.ends_on),
            chair=meeting.chair,
            co_chair=meeting.co_chair,
            draft=draft,
            participants=sum(d.headcount for d in delegations),
            countries=countries,
            organisations=organisations,
            attendance_number=1,
            attendance=attendance + ".",
            results_note=_results_note(results, draft),
            paragraphs=paragraphs,
            decisions_number=after,
            decisions=[self._decision(d) for d in decisions],
            coming_year=coming_year,
            coming_number=after + 1,
            coming_activities=await self._coming(meeting, coming_year),
            results_number=after + 2,
            results=results,
        )

    @staticmethod
    def _speakers(
        delegations: Sequence[Delegation], interventions: Sequence[Intervention]
    ) -> dict[str, str]:
        """Each delegation by the name the report gives it: a state by the Process's name, an
        organisation by its acronym (the attendance names it in full)."""
        speakers = [(d.participant, d.participant_type) for d in delegations]
        speakers += [(i.delegation, i.delegation_type) for i in interventions]
        return {
            code: country_name(code) if kind is Participant.STATE else code
            for code, kind in speakers
        }

    async def _organisations(self, delegations: Sequence[Delegation]) -> list[str]:
        """In the order of the delegation list, by full name with the acronym, as the source."""
        acronyms = [
            d.participant for d in delegations if d.participant_type is Participant.ORGANISATION
        ]
        registry = await self.organisations.by_acronyms(acronyms)
        return [f"the {registry[a].name} ({a})" if a in registry else a for a in acronyms]

    async def _activity_titles(self, interventions: Sequence[Intervention]) -> dict[uuid.UUID, str]:
        titles = {}
        for activity_id in {i.activity_id for i in interventions if i.activity_id is not None}:
            entry = await self.calendar.get(activity_id)
            if entry is not None:
                titles[activity_id] = entry.title
        return titles

    def _paragraphs(
        self,
        agenda: Sequence[AgendaItem],
        interventions: Sequence[Intervention],
        names: dict[str, str],
        activities: dict[uuid.UUID, str],
        *,
        first: int,
    ) -> list[Paragraph]:
        by_item: dict[uuid.UUID | None, list[Intervention]] = {}
        for intervention in interventions:
            by_item.setdefault(intervention.agenda_item_id, []).append(intervention)
        known = {item.id for item in agenda}
        unplaced = [i for key, said in by_item.items() if key not in known for i in said]
        paragraphs = [
            self._paragraph(
                first + n, item.title, by_item.get(item.id, []), names, activities
            ).model_copy(update={"day": item.day, "presenter": item.presenter})
            for n, item in enumerate(agenda)
        ]
        if unplaced:
            number = first + len(paragraphs)
            paragraphs.append(
                self._paragraph(number, "Other interventions", unplaced, names, activities)
            )
        return paragraphs

    def _paragraph(
        self,
        number: int,
        title: str,
        said: Sequence[Intervention],
        names: dict[str, str],
        activities: dict[uuid.UUID, str],
    ) -> Paragraph:
        groups = [
            InterventionGroup(
                heading=heading,
                statements=[self._statement(i, names, activities) for i in said if i.kind is kind],
            )
            for kind, heading in GROUPED.items()
        ]
        return Paragraph(
            number=number,
            title=title,
            statements=[self._statement(i, names, activities) for i in said if i.kind in SPOKEN],
            groups=[group for group in groups if group.statements],
        )

    @staticmethod
    def _statement(
        intervention: Intervention, names: dict[str, str], activities: dict[uuid.UUID, str]
    ) -> Statement:
        speaker = names[intervention.delegation]
        text = intervention.text
        if intervention.kind is InterventionKind.OFFER_TO_HOST:
            title = activities.get(intervention.activity_id) if intervention.activity_id else None
            what = f"“{title}”" if title else "an activity"
            year = f" in {intervention.year}" if intervention.year else ""
            return Statement(speaker=speaker, lead=f"offered to host {what}{year}", text=text)
        if intervention.kind is InterventionKind.AMENDMENT_REQUEST:
            proposed = (intervention.amendment or {}).get("text")
            if proposed:
                text = f"{text} Proposed text: {proposed}"
            return Statement(speaker=speaker, lead="asked for an amendment", text=text)
        if intervention.kind is InterventionKind.RESERVATION:
            return Statement(speaker=speaker, lead="entered a reservation", text=text)
        return Statement(speaker=speaker, text=text)

    @staticmethod
    def _decision(decision: Decision) -> DecisionLine:
        return DecisionLine(
            kind=DECISION_KINDS[decision.kind],
            text=decision.text,
            plan_version=decision.plan_version,
            reservations=[country_name(code) for code in decision.reservations],
        )

    async def _coming(self, meeting: Meeting, year: int) -> list[ComingActivity]:
        """The meetings and plan activities of the coming year as the calendar has them (from
        plan-api's and this service's events), with their hosts."""
        filters = CalendarFilters(from_=date(year, 1, 1), to=date(year, 12, 31))
        return [
            ComingActivity(
                title=entry.title,
                when=_when(entry),
                hosts=[country_name(code) for code in entry.host_countries],
                status=entry.status.replace("_", " "),
            )
            for entry, _ in await self.calendar.list(filters)
            if entry.id != meeting.id and entry.status != MeetingStatus.CANCELLED
        ]
