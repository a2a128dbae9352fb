"""Amendments: proposed against a version that was never endorsed, decided once by the
Secretariat, and when accepted applied to the plan's working content (see
:class:`AmendmentProposal` for what each target and action does), to be listed in the next
version's changelog."""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, InvalidInput
from bp_common.events.outbox import Outbox
from bp_common.orm import utcnow
from bp_common.pagination import Page, cursor_int, page_of, read_cursor
from bp_common.revisions import Precondition
from bp_common.security import Identity
from plan_api.access import ensure_is_proposer
from plan_api.activities.models import Activity, ActivityStatus
from plan_api.activities.repository import ActivityRepository
from plan_api.activities.service import ActivityService
from plan_api.amendments import events
from plan_api.amendments.models import (
    Amendment,
    AmendmentAction,
    AmendmentStatus,
    TargetType,
)
from plan_api.amendments.repository import AmendmentRepository
from plan_api.amendments.schemas import (
    AmendmentCreate,
    AmendmentFilters,
    AmendmentOut,
    AmendmentProposal,
)
from plan_api.plans.models import ActionPoint, Goal, Plan
from plan_api.plans.repository import PlanRepository
from plan_api.versions.repository import VersionRepository

if TYPE_CHECKING:
    from plan_api.amendments.handlers import AmendmentRequestPayload


logger = logging.getLogger(__name__)


class UnknownVersion(InvalidInput):
    code = "unknown_version"


class UnknownTarget(InvalidInput):
    code = "unknown_amendment_target"


class NotApplicable(InvalidInput):
    code = "amendment_not_applicable"


class VersionEndorsed(Conflict):
    code = "version_endorsed"


class NoCirculatedVersion(Conflict):
    code = "no_circulated_version"


class DuplicateAmendment(Conflict):
    code = "duplicate_amendment"


class AmendmentAlreadyDecided(Conflict):
    code = "amendment_already_decided"


class AmendmentTargetGone(Conflict):
    code = "amendment_target_gone"


class GoalHasActivities(Conflict):
    code = "goal_has_activities"


def changelog_entry(amendment: Amendment) -> events.ChangelogEntryV1:
    return events.ChangelogEntryV1(
        amendment_id=amendment.id,
        proposer=amendment.proposer,
        target=events.AmendmentTargetV1.model_validate(amendment.target),
        action=amendment.action,
        text=amendment.text,
    )


def _fingerprint(version: int, proposer: str, proposal: AmendmentProposal) -> str:
    """The proposal's identity: same version, proposer, target, action and text (whitespace
    aside) is the same amendment however often it arrives."""
    key = [
        version,
        proposer,
        proposal.target.type.value,
        proposal.target.ref,
        proposal.action.value,
        " ".join(proposal.text.split()),
    ]
    return hashlib.sha256(orjson.dumps(key)).hexdigest()


Target = Goal | ActionPoint | Activity | None

# The stored fields as the events and the answers name them.
_PUBLIC_NAMES = {"target_type": "target", "target_ref": "target"}

PLAN_TITLE_MAX = 300


def _ensure_applicable(proposal: AmendmentProposal) -> None:
    target, action = proposal.target.type, proposal.action
    if target is TargetType.PLAN and action is AmendmentAction.DELETE:
        raise NotApplicable("A plan cannot be deleted by amendment.")
    if target is TargetType.ACTIVITY and action is AmendmentAction.ADD:
        raise NotApplicable(
            "A new activity needs a kind and a year: the Secretariat adds it with "
            "POST /v1/plans/{id}/activities."
        )
    if (
        target is TargetType.PLAN
        and action is AmendmentAction.MODIFY
        and len(proposal.text) > PLAN_TITLE_MAX
    ):
        raise NotApplicable(f"The text replaces the plan's title: at most {PLAN_TITLE_MAX} chars.")


class AmendmentService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.amendments = AmendmentRepository(session)
        self.plans = PlanRepository(session)
        self.versions = VersionRepository(session)
        self.activity_rows = ActivityRepository(session)
        self.activities = ActivityService(session, outbox)
        self.outbox = outbox

    # -- reading ---------------------------------------------------------------------------
    async def get(self, amendment_id: uuid.UUID) -> Amendment:
        return await self.amendments.get_or_raise(amendment_id)

    async def page(
        self, plan_id: uuid.UUID, filters: AmendmentFilters, limit: int, cursor: str | None
    ) -> Page[AmendmentOut]:
        await self.plans.get_or_raise(plan_id)
        after = read_cursor(cursor, cursor_int)
        rows = await self.amendments.page(plan_id, filters, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda a: (a.number,), AmendmentOut.model_validate)

    # -- proposing -------------------------------------------------------------------------
    async def propose(self, plan_id: uuid.UUID, data: AmendmentCreate) -> Amendment:
        plan = await self.plans.get_or_raise(plan_id, for_update=True)
        fingerprint = _fingerprint(data.version, data.proposer, data)
        if await self.amendments.by_fingerprint(plan.id, fingerprint) is not None:
            raise DuplicateAmendment(f"{data.proposer} has already proposed this amendment.")
        return await self._record(plan, data.version, data.proposer, data, fingerprint)

    async def propose_from_meeting(
        self,
        plan_id: uuid.UUID,
        version: int | None,
        proposer: str,
        proposal: AmendmentProposal,
        *,
        meeting_id: uuid.UUID,
        intervention_id: uuid.UUID,
    ) -> None:
        """An amendment requested at a meeting, against ``version`` or else the latest circulated
        one; a replay (same intervention, or the same proposal already recorded) changes nothing."""
        plan = await self.plans.get_or_raise(plan_id, for_update=True)
        if await self.amendments.by_intervention(intervention_id) is not None:
            return
        if version is None:
            latest = await self.versions.latest_circulated(plan.id)
            if latest is None:
                raise NoCirculatedVersion("The plan has no circulated version to amend.")
            version = latest.number
        fingerprint = _fingerprint(version, proposer, proposal)
        if await self.amendments.by_fingerprint(plan.id, fingerprint) is not None:
            return
        await self._record(
            plan,
            version,
            proposer,
            proposal,
            fingerprint,
            meeting_id=meeting_id,
            intervention_id=intervention_id,
        )

    async def _record(
        self,
        plan: Plan,
        version_number: int,
        proposer: str,
        proposal: AmendmentProposal,
        fingerprint: str,
        *,
        meeting_id: uuid.UUID | None = None,
        intervention_id: uuid.UUID | None = None,
    ) -> Amendment:
        ref = await self._checked(plan.id, version_number, proposal)
        target = proposal.target
        amendment = Amendment(
            plan_id=plan.id,
            number=await self.amendments.last_number(plan.id) + 1,
            version=version_number,
            proposer=proposer,
            target_type=target.type,
            target_ref=ref,
            action=proposal.action,
            text=proposal.text,
            rationale=proposal.rationale,
            status=AmendmentStatus.PROPOSED,
            meeting_id=meeting_id,
            intervention_id=intervention_id,
            fingerprint=fingerprint,
        )
        self.amendments.add(amendment)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a concurrent identical proposal won the race
            raise DuplicateAmendment("This amendment was proposed concurrently.") from exc
        return amendment

    async def _checked(
        self, plan_id: uuid.UUID, version_number: int, proposal: AmendmentProposal
    ) -> str | None:
        """Refuses a proposal the plan cannot take; answers its target's ref as stored."""
        version = await self.versions.get(plan_id, version_number)
        if version is None:
            raise UnknownVersion(f"The plan has no version {version_number}.")
        # A superseded draft still takes comments (they may arrive after the next version was
        # circulated); a version once endorsed never changes.
        if version.endorsed_at is not None:
            raise VersionEndorsed(
                f"Version {version_number} was endorsed and never changes; circulate a new "
                "version to amend the plan."
            )
        _ensure_applicable(proposal)
        target = proposal.target
        ref = None if target.ref is None else str(target.ref)
        if ref is not None and await self._target(plan_id, target.type, ref) is None:
            raise UnknownTarget(f"The plan has no {target.type.value} {ref} to amend.")
        return ref

    # -- corrections from meetings and withdrawals ----------------------------------------------
    async def revise_from_meeting(
        self,
        amendment: Amendment,
        version: int | None,
        proposer: str,
        proposal: AmendmentProposal,
    ) -> None:
        """The ``amendment_request`` that made a pending amendment was corrected: the amendment
        follows (its proposer, version, target, action, text, rationale). A decided one stays as
        decided (logged). Every refusal comes before the first change."""
        if amendment.status is not AmendmentStatus.PROPOSED:
            logger.warning(
                "amendment %s was %s already: the correction of its request %s is not applied",
                amendment.id,
                amendment.status.value,
                amendment.intervention_id,
            )
            return
        version = amendment.version if version is None else version
        ref = await self._checked(amendment.plan_id, version, proposal)
        fingerprint = _fingerprint(version, proposer, proposal)
        twin = await self.amendments.by_fingerprint(amendment.plan_id, fingerprint)
        if twin is not None and twin.id != amendment.id:
            raise DuplicateAmendment(
                f"Amendment {twin.number} already proposes this; the correction is not applied."
            )
        wanted: dict[str, Any] = {
            "version": version,
            "proposer": proposer,
            "target_type": proposal.target.type,
            "target_ref": ref,
            "action": proposal.action,
            "text": proposal.text,
            "rationale": proposal.rationale,
        }
        changed = {name for name, value in wanted.items() if getattr(amendment, name) != value}
        if not changed:
            return
        for name in changed:
            setattr(amendment, name, wanted[name])
        amendment.fingerprint = fingerprint
        await self.session.flush()
        await self.outbox.emit(
            self.session,
            events.AmendmentRevisedV1.of(
                amendment, changed=sorted({_PUBLIC_NAMES.get(name, name) for name in changed})
            ),
        )

    async def follow_intervention(
        self,
        intervention_id: uuid.UUID,
        wanted: AmendmentRequestPayload | None,
        *,
        by: str,
        reason: str,
    ) -> None:
        """The intervention was corrected: its amendment follows. Still a request on the same
        plan: the pending amendment is revised. On another plan, or no request any more: the
        pending amendment is withdrawn and the new one (if any) proposed. A decided amendment
        stays (logged), and no second amendment is made for the intervention."""
        amendment = await self.amendments.by_intervention(intervention_id, for_update=True)
        if amendment is not None and wanted is not None and wanted.plan_id == amendment.plan_id:
            await self.revise_from_meeting(
                amendment, wanted.plan_version, wanted.delegation, wanted.amendment
            )
            return
        if amendment is not None:
            await self.withdraw_for_intervention(intervention_id, by=by, reason=reason)
            if amendment.status is not AmendmentStatus.PROPOSED:
                return
        if wanted is not None:
            await self.propose_from_meeting(
                wanted.plan_id,
                wanted.plan_version,
                wanted.delegation,
                wanted.amendment,
                meeting_id=wanted.meeting_id,
                intervention_id=intervention_id,
            )

    async def withdraw(
        self,
        amendment_id: uuid.UUID,
        precondition: Precondition,
        identity: Identity,
        reason: str,
    ) -> Amendment:
        """The proposer (or the Secretariat) takes a pending amendment back."""
        amendment = await self.amendments.get_or_raise(amendment_id, for_update=True)
        ensure_is_proposer(identity, amendment.proposer)
        precondition.check(amendment.revision, "amendment")
        await self._withdraw(amendment, by=identity.principal, reason=reason)
        return amendment

    async def withdraw_for_intervention(
        self, intervention_id: uuid.UUID, *, by: str, reason: str
    ) -> None:
        """The request that made a pending amendment was withdrawn or corrected away; a decided
        amendment stays as decided (logged)."""
        amendment = await self.amendments.by_intervention(intervention_id, for_update=True)
        if amendment is None:
            return
        if amendment.status is not AmendmentStatus.PROPOSED:
            logger.warning(
                "amendment %s was %s already: the withdrawal of its request %s is not applied",
                amendment.id,
                amendment.status.value,
                intervention_id,
            )
            return
        await self._withdraw(amendment, by=by, reason=reason)

    async def _withdraw(self, amendment: Amendment, *, by: str, reason: str) -> None:
        if amendment.status is not AmendmentStatus.PROPOSED:
            raise AmendmentAlreadyDecided(
                f"The amendment was {amendment.status.value}; a decided amendment is not "
                "withdrawn. Nothing was changed."
            )
        amendment.withdraw(by=by, reason=reason, what="amendment")
        await self.session.flush()
        await self.outbox.emit(
            self.session,
            events.AmendmentWithdrawnV1.of(amendment),
        )

    # -- deciding --------------------------------------------------------------------------
    async def accept(self, amendment_id: uuid.UUID) -> Amendment:
        amendment = await self._undecided(amendment_id)
        await self._apply(amendment)
        return await self._decide(amendment, AmendmentStatus.ACCEPTED)

    async def reject(self, amendment_id: uuid.UUID) -> Amendment:
        amendment = await self._undecided(amendment_id)
        return await self._decide(amendment, AmendmentStatus.REJECTED)

    async def _decide(self, amendment: Amendment, status: AmendmentStatus) -> Amendment:
        amendment.status, amendment.decided_at = status, utcnow()
        await self.session.flush()
        await self.outbox.emit(
            self.session,
            events.AmendmentDecidedV1(
                **dict(changelog_entry(amendment)),
                plan_id=amendment.plan_id,
                version=amendment.version,
                status=status,
            ),
        )
        return amendment

    async def _undecided(self, amendment_id: uuid.UUID) -> Amendment:
        amendment = await self.amendments.get_or_raise(amendment_id, for_update=True)
        amendment.refuse_if_withdrawn("amendment")
        if amendment.status is not AmendmentStatus.PROPOSED:
            raise AmendmentAlreadyDecided(f"The amendment was already {amendment.status.value}.")
        return amendment

    async def _apply(self, amendment: Amendment) -> None:
        """Change the working content; every refusal comes before the first change."""
        plan_id, action, text = amendment.plan_id, amendment.action, amendment.text
        if amendment.target_type is TargetType.PLAN:
            if action is AmendmentAction.ADD:
                await self._add_point(plan_id, None, text)
            else:
                (await self.plans.get_or_raise(plan_id, for_update=True)).title = text
            await self.session.flush()
            return
        target = await self._target(plan_id, amendment.target_type, amendment.target_ref)
        if target is None:
            raise AmendmentTargetGone(
                f"The {amendment.target_type.value} {amendment.target_ref} is no longer in the "
                "plan; reject this amendment."
            )
        if isinstance(target, Activity):
            if action is AmendmentAction.MODIFY:
                await self.activities.describe(target, text)
            else:
                await self.activities.cancel_activity(target)
        elif isinstance(target, Goal):
            if action is AmendmentAction.ADD:
                await self._add_point(plan_id, target.number, text)
            elif action is AmendmentAction.MODIFY:
                target.title = text
            else:
                if await self.activity_rows.any_under_goal(plan_id, target.number):
                    raise GoalHasActivities(
                        f"Goal {target.number} has activities; it cannot be deleted."
                    )
                await self.plans.delete_goal(target)
        elif action is AmendmentAction.ADD:
            await self._add_point(plan_id, target.goal, text)
        elif action is AmendmentAction.MODIFY:
            target.text = text
        else:
            await self.plans.delete_action_point(target)
        await self.session.flush()

    async def _add_point(self, plan_id: uuid.UUID, goal: int | None, text: str) -> None:
        position = await self.plans.next_position(plan_id, goal)
        self.plans.add_all(ActionPoint(plan_id=plan_id, goal=goal, text=text, position=position))

    async def _target(self, plan_id: uuid.UUID, kind: TargetType, ref: str | None) -> Target:
        """The goal, action point or activity ``ref`` names in the working content, if there."""
        if ref is None or kind is TargetType.PLAN:
            return None
        if kind is TargetType.GOAL:
            return await self.plans.goal(plan_id, int(ref))
        if kind is TargetType.ACTIVITY:
            activity = await self.activity_rows.get(uuid.UUID(ref), for_update=True)
            if activity is None or activity.plan_id != plan_id:
                return None
            return None if activity.status is ActivityStatus.CANCELLED else activity
        return await self.plans.action_point(plan_id, uuid.UUID(ref))
