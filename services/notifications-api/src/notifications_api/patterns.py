"""Event type patterns of subscriptions: a type (``plan.activity.hosted.v1``), a prefix ending in
``*`` (``plan.activity.*``, ``meetings.*``) or ``*`` for every type."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bp_common.errors import FieldError, InvalidInput
from bp_common.events.contract import published_event_types

_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$")
MAX_PATTERNS = 50


def matches(pattern: str, event_type: str) -> bool:
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def matches_any(patterns: Iterable[str], event_type: str) -> bool:
    return any(matches(pattern, event_type) for pattern in patterns)


def check_patterns(patterns: Sequence[str], loc: list[str | int]) -> list[str]:
    """``patterns`` deduplicated in order; each must be well formed and name at least one
    published event type (a typo would otherwise subscribe to nothing, silently)."""
    if not patterns:
        raise _invalid(loc, "no_event_types", "name at least one event type or pattern")
    if len(patterns) > MAX_PATTERNS:
        raise _invalid(loc, "too_many_event_types", f"at most {MAX_PATTERNS} patterns")
    known = published_event_types()
    for index, pattern in enumerate(patterns):
        if not _PATTERN.match(pattern) or not any(matches(pattern, t) for t in known):
            raise _invalid(
                [*loc, index],
                "unknown_event_type",
                f"{pattern!r} matches no published event type (see /v1/asyncapi.json)",
            )
    return list(dict.fromkeys(patterns))


def _invalid(loc: list[str | int], code: str, message: str) -> InvalidInput:
    return InvalidInput(
        message[0].upper() + message[1:] + ".",
        code=code,
        errors=[FieldError(loc=loc, code=code, message=message)],
    )
