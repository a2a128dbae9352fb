"""Optimistic concurrency for editable records: each carries a ``revision``, answered as its
``ETag``; a correction names the revision it was made against in ``If-Match``, so two officers
editing the same record cannot overwrite each other silently (RFC 9110 §13.1.1).

The new correction operations (``PATCH``/``DELETE``/withdraw on by-id routes) *require*
``If-Match`` (428 without it); the ``PATCH`` endpoints that existed before check it when sent, so
their current clients keep working."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Header, Response
from pydantic import BaseModel
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from bp_common.errors import DomainError

IF_MATCH_DESCRIPTION = (
    "The record's `ETag` as last read (its revision). A stale one is refused with 412 and "
    "changes nothing; `*` matches any current revision."
)


class PreconditionFailed(DomainError):
    status = 412
    code = "stale_revision"


class PreconditionRequired(DomainError):
    status = 428
    code = "if_match_required"


class Revisioned:
    """A ``revision`` the ORM bumps on every UPDATE of the row and checks in its ``WHERE``
    (``version_id_col``): a write based on a row changed meanwhile fails instead of winning."""

    revision: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.revision}


def etag(revision: int) -> str:
    return f'"{revision}"'


class HasRevision(Protocol):
    @property
    def revision(self) -> int: ...


AnswerT = TypeVar("AnswerT", bound=BaseModel)


def answer_with_etag(response: Response, record: HasRevision, answer: type[AnswerT]) -> AnswerT:
    """``record`` (a row, or its answer already built) as ``answer``, with its revision as the
    response's ``ETag``: what a correction then names in ``If-Match``."""
    response.headers["ETag"] = etag(record.revision)
    return answer.model_validate(record)


def _parse(header: str) -> frozenset[str] | None:
    """The entity tags listed; ``None`` for ``*``. Weak tags never match (If-Match compares
    strongly), so they are dropped."""
    if header.strip() == "*":
        return None
    tags = (part.strip() for part in header.split(","))
    return frozenset(tag for tag in tags if tag and not tag.startswith("W/"))


@dataclass(frozen=True)
class Precondition:
    """The ``If-Match`` of the request, checked against the record once it is read (locked)."""

    header: str | None

    def check(self, revision: int, what: str = "record") -> None:
        if self.header is None:
            return
        tags = _parse(self.header)
        if tags is not None and etag(revision) not in tags:
            raise PreconditionFailed(
                f"The {what} changed since it was read: it is at revision {revision} "
                f"(ETag {etag(revision)}), not {self.header}. Read it again and retry; "
                "nothing was changed.",
                headers={"ETag": etag(revision)},
            )


IfMatchHeader = Annotated[
    str | None, Header(alias="If-Match", description=IF_MATCH_DESCRIPTION, max_length=200)
]


async def _required(if_match: IfMatchHeader = None) -> Precondition:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "This correction needs the record's current ETag in If-Match (read the record "
            "first); nothing was changed."
        )
    return Precondition(if_match)


async def _optional(if_match: IfMatchHeader = None) -> Precondition:
    return Precondition(if_match.strip() if if_match and if_match.strip() else None)


# For the correction operations: 428 without If-Match.
IfMatchRequired = Annotated[Precondition, Depends(_required)]
# For the PATCH endpoints older clients use: checked only when sent.
IfMatchOptional = Annotated[Precondition, Depends(_optional)]


# The ``refusals`` entries of every operation that takes ``If-Match``:
# ``refusals({409: {...}, **PRECONDITION_REFUSALS})``.
PRECONDITION_REFUSALS: dict[int, dict[str, str]] = {
    412: {"stale_revision": "`If-Match` is not the record's current `ETag`; nothing changed."},
    428: {"if_match_required": "`If-Match` is missing (read the record first); nothing changed."},
}
