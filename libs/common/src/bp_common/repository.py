"""One generic repository base (after Polar's ``kit/repository``): the by-id read, its
raise-if-missing twin and the row lock live here once, so a context's repository only adds the
queries that are its own."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import NotFound

Model = TypeVar("Model")


class Repository(Generic[Model]):
    """``model`` is the mapped class; ``not_found`` the refusal ``get_or_raise`` raises (a
    :class:`NotFound` subclass with the context's own code)."""

    model: ClassVar[type[Any]]
    not_found: ClassVar[type[NotFound]] = NotFound
    # How the refusal names the record: "No intervention with id …".
    noun: ClassVar[str] = "record"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, record: Model) -> None:
        self.session.add(record)

    async def get(self, record_id: uuid.UUID, *, for_update: bool = False) -> Model | None:
        statement = select(self.model).where(self.model.id == record_id)
        if for_update:
            statement = statement.with_for_update()
        record: Model | None = (await self.session.scalars(statement)).one_or_none()
        return record

    async def get_or_raise(self, record_id: uuid.UUID, *, for_update: bool = False) -> Model:
        record = await self.get(record_id, for_update=for_update)
        if record is None:
            raise self.not_found(f"No {self.noun} with id {record_id}.")
        return record

    async def flush(self) -> None:
        await self.session.flush()
