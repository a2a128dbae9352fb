"""Versions of a plan: circulated as immutable snapshots with the amendments they took in,
compared item by item, and endorsed once. Circulating version n supersedes the earlier drafts
still circulating; endorsing it supersedes every earlier version, including endorsed ones."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, InvalidInput, NotFound
from bp_common.events.outbox import Outbox
from bp_common.orm import utcnow
from bp_common.pagination import Page, cursor_int, page_of, read_cursor
from plan_api.activities.events import ActivityV1
from plan_api.activities.repository import ActivityRepository
from plan_api.amendments.repository import AmendmentRepository
from plan_api.amendments.service import changelog_entry
from plan_api.plans.models import Plan
from plan_api.plans.repository import PlanRepository
from plan_api.versions import events
from plan_api.versions.models import PlanVersion, VersionStatus
from plan_api.versions.repository import VersionRepository
from plan_api.versions.schemas import PlanContent, VersionDiff, VersionOut, VersionSummary
from plan_api.versions.snapshot import diff, plan_content

logger = logging.getLogger(__name__)


class VersionNotFound(NotFound):
    code = "version_not_found"


class VersionAlreadyEndorsed(Conflict):
    code = "version_already_endorsed"


class VersionSuperseded(Conflict):
    code = "version_superseded"


class ConcurrentCirculation(Conflict):
    code = "version_conflict"


class DiffBaseRequired(InvalidInput):
    code = "diff_base_required"


def version_out(version: PlanVersion) -> VersionOut:
    return VersionOut.model_validate(_version_fields(version) | {"content": version.content})


def version_summary(version: PlanVersion) -> VersionSummary:
    return VersionSummary.model_validate(_version_fields(version))


def _version_fields(version: PlanVersion) -> dict[str, Any]:
    return {
        "plan_id": version.plan_id,
        "number": version.number,
        "status": version.status,
        "circulated_at": version.circulated_at,
        "endorsed_at": version.endorsed_at,
        "endorsed_by_meeting_id": version.endorsed_by_meeting_id,
        "endorsed_by_decision_id": version.endorsed_by_decision_id,
        "changelog": version.changelog,
    }


class VersionService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.versions = VersionRepository(session)
        self.plans = PlanRepository(session)
        self.activities = ActivityRepository(session)
        self.amendments = AmendmentRepository(session)
        self.outbox = outbox

    # -- reading ---------------------------------------------------------------------------
    async def get(self, plan_id: uuid.UUID, number: int) -> PlanVersion:
        await self.plans.get_or_raise(plan_id)
        return await self._version(plan_id, number)

    async def page(
        self, plan_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page[VersionSummary]:
        await self.plans.get_or_raise(plan_id)
        after = read_cursor(cursor, cursor_int)
        rows = await self.versions.page(plan_id, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda v: (v.number,), version_summary)

    async def diff(self, plan_id: uuid.UUID, number: int, against: int | None) -> VersionDiff:
        """What changed from version ``against`` (by default the previous one) to ``number``."""
        await self.plans.get_or_raise(plan_id)
        base_number = number - 1 if against is None else against
        if base_number < 1:
            raise DiffBaseRequired("Version 1 has no previous version; give against=.")
        target = await self._version(plan_id, number)
        base = await self._version(plan_id, base_number)
        changes = diff(
            PlanContent.model_validate(base.content), PlanContent.model_validate(target.content)
        )
        return VersionDiff(plan_id=plan_id, version=number, against=base_number, changes=changes)

    # -- circulating -----------------------------------------------------------------------
    async def circulate(self, plan_id: uuid.UUID) -> PlanVersion:
        plan = await self.plans.get_or_raise(plan_id, for_update=True)
        content = await self._working_content(plan)
        accepted = await self.amendments.accepted_not_yet_circulated(plan.id)
        number = await self.versions.last_number(plan.id) + 1
        await self.versions.supersede_before(plan.id, number, [VersionStatus.CIRCULATED])
        version = PlanVersion(
            plan_id=plan.id,
            number=number,
            status=VersionStatus.CIRCULATED,
            content=content.model_dump(mode="json"),
            changelog=[changelog_entry(a).model_dump(mode="json") for a in accepted],
            circulated_at=utcnow(),
        )
        for amendment in accepted:
            amendment.included_in_version = number
        self.versions.add(version)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise ConcurrentCirculation("Another version was circulated meanwhile.") from exc
        await self.outbox.emit(
            self.session,
            events.VersionCirculatedV1(
                plan_id=plan.id,
                version=number,
                status=version.status,
                changelog=[changelog_entry(a) for a in accepted],
            ),
        )
        return version

    async def _working_content(self, plan: Plan) -> PlanContent:
        return plan_content(
            plan,
            await self.plans.goals([plan.id]),
            await self.plans.action_points([plan.id]),
            await self.activities.in_plan(plan.id),
        )

    # -- endorsing -------------------------------------------------------------------------
    async def endorse(
        self,
        plan_id: uuid.UUID,
        number: int,
        meeting_id: uuid.UUID | None,
        *,
        decision_id: uuid.UUID | None = None,
    ) -> PlanVersion:
        plan = await self.plans.get_or_raise(plan_id, for_update=True)
        version = await self._version(plan.id, number, for_update=True)
        if version.status is VersionStatus.ENDORSED:
            raise VersionAlreadyEndorsed(
                f"Version {number} is already endorsed; an endorsed version never changes."
            )
        if version.status is VersionStatus.SUPERSEDED:
            raise VersionSuperseded(f"Version {number} is superseded by a later version.")
        await self.versions.supersede_before(
            plan.id, number, [VersionStatus.CIRCULATED, VersionStatus.ENDORSED]
        )
        version.status = VersionStatus.ENDORSED
        version.endorsed_at, version.endorsed_by_meeting_id = utcnow(), meeting_id
        version.endorsed_by_decision_id = decision_id
        await self.session.flush()
        content = PlanContent.model_validate(version.content)
        await self.outbox.emit(
            self.session,
            events.PlanEndorsedV1(
                plan_id=plan.id,
                title=content.title,
                version=number,
                meeting_id=meeting_id,
                period_start=content.period_start,
                period_end=content.period_end,
                goals=[events.GoalV1(number=g.number, title=g.title) for g in content.goals],
                activities=[
                    ActivityV1.model_validate(a.model_dump(exclude={"description", "lead"}))
                    for a in content.activities
                ],
                decision_id=decision_id,
            ),
        )
        return version

    async def endorse_from_decision(
        self,
        plan_id: uuid.UUID,
        number: int | None,
        meeting_id: uuid.UUID,
        *,
        decision_id: uuid.UUID | None = None,
    ) -> None:
        """A meeting's endorsement of ``number`` (else the plan's latest version); the same
        decision heard again (or corrected once it endorsed) changes nothing."""
        if decision_id is not None:
            endorsed = await self.versions.endorsed_by_decision(decision_id)
            if endorsed is not None:
                if (endorsed.plan_id, endorsed.number) != (plan_id, number or endorsed.number):
                    logger.warning(
                        "decision %s endorsed version %s of plan %s already; its correction "
                        "naming another version is not applied: an endorsed version never "
                        "changes",
                        decision_id,
                        endorsed.number,
                        endorsed.plan_id,
                    )
                return
        plan = await self.plans.get_or_raise(plan_id)
        version = (
            await self.versions.latest(plan.id)
            if number is None
            else await self.versions.get(plan.id, number)
        )
        if version is None:
            raise VersionNotFound(f"The plan has no version {number or ''} to endorse.")
        if (
            version.status is VersionStatus.ENDORSED
            and version.endorsed_by_meeting_id == meeting_id
        ):
            return
        await self.endorse(plan.id, version.number, meeting_id, decision_id=decision_id)

    async def decision_withdrawn(self, decision_id: uuid.UUID) -> None:
        """A meeting's endorsement decision was withdrawn (or corrected into no endorsement).
        Once it endorsed a version nothing changes (an endorsed version never changes;
        meetings-api refuses such a change when it knows, this is the race it could not see);
        before, the version stays unendorsed and the decision, noted as withdrawn, will never
        endorse it (see the meeting record news)."""
        endorsed = await self.versions.endorsed_by_decision(decision_id)
        if endorsed is not None:
            logger.warning(
                "decision %s was withdrawn or is no endorsement any more, but it endorsed "
                "version %s of plan %s already: the version stays endorsed (an endorsed version "
                "never changes)",
                decision_id,
                endorsed.number,
                endorsed.plan_id,
            )

    # -- internals --------------------------------------------------------------------------
    async def _version(
        self, plan_id: uuid.UUID, number: int, *, for_update: bool = False
    ) -> PlanVersion:
        version = await self.versions.get(plan_id, number, for_update=for_update)
        if version is None:
            raise VersionNotFound(f"The plan has no version {number}.")
        return version
