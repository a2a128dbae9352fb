"""Who may write to the plan (API.md "Access"): the Secretariat records anything; a member key
proposes amendments and offers to host in its own country's name only; partner and viewer keys
only read the plan."""

from __future__ import annotations

from bp_common.errors import Forbidden
from bp_common.security import Identity, Role


class NotOwnCountry(Forbidden):
    code = "not_own_country"


class PlanWriteForbidden(Forbidden):
    code = "plan_write_forbidden"


def ensure_speaks_for(identity: Identity, party: str) -> None:
    """Refuse unless ``identity`` may act in the name of ``party`` (a country or organisation)."""
    if identity.role is Role.SECRETARIAT:
        return
    if identity.role is Role.MEMBER:
        if identity.country is not None and party == identity.country.upper():
            return
        raise NotOwnCountry(
            f"A member key of {identity.country or 'no country'} may act only in its own "
            f"country's name, not for {party}."
        )
    raise PlanWriteForbidden(f"A {identity.role.value} key cannot write to the plan.")


class NotTheProposer(Forbidden):
    code = "not_the_proposer"


def ensure_is_proposer(identity: Identity, proposer: str) -> None:
    """Refuse unless ``identity`` speaks for the amendment's proposer: the Secretariat, a member
    key of the proposing state, or the partner key of the proposing organisation (an
    organisation proposes at meetings)."""
    if identity.role is Role.SECRETARIAT:
        return
    bound = {Role.MEMBER: identity.country, Role.PARTNER: identity.organisation}.get(identity.role)
    if identity.role not in (Role.MEMBER, Role.PARTNER):
        raise PlanWriteForbidden(f"A {identity.role.value} key cannot write to the plan.")
    if bound is not None and bound.upper() == proposer:
        return
    raise NotTheProposer(
        f"Only {proposer} (or the Secretariat) may withdraw its amendment, not a key of "
        f"{bound or 'no party'}."
    )
