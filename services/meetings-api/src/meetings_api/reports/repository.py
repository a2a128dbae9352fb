from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import dialect_insert
from meetings_api.reports.models import ResultsSnapshot


class ResultsSnapshotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def keep(self, values: dict[str, Any]) -> None:
        """Stores the meeting's snapshot; one already kept stays as it was."""
        statement = (
            dialect_insert(self.session, ResultsSnapshot.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["meeting_id"])
        )
        await self.session.execute(statement)

    async def of_meeting(self, meeting_id: uuid.UUID) -> ResultsSnapshot | None:
        return await self.session.get(ResultsSnapshot, meeting_id)
