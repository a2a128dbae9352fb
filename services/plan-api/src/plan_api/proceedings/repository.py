from __future__ import annotations

import uuid
from datetime import datetime

from bp_common.repository import Repository
from plan_api.proceedings.models import MeetingRecordNews, RecordKind


class MeetingRecordNewsRepository(Repository[MeetingRecordNews]):
    model = MeetingRecordNews
    noun = "meeting record"

    async def heard(
        self,
        record_id: uuid.UUID,
        kind: RecordKind,
        revision: int,
        *,
        withdrawn_at: datetime | None = None,
    ) -> bool:
        """Note the news of a record; False when it is older than (or as old as) what was
        applied, or the record was withdrawn already: the caller then changes nothing. A
        withdrawal (``withdrawn_at``) is final, whatever revision it carries."""
        known = await self.get(record_id, for_update=True)
        if known is None:
            self.add(
                MeetingRecordNews(
                    id=record_id, kind=kind, revision=revision, withdrawn_at=withdrawn_at
                )
            )
            await self.flush()
            return True
        if known.withdrawn_at is not None or (withdrawn_at is None and revision <= known.revision):
            return False
        known.revision, known.withdrawn_at = max(revision, known.revision), withdrawn_at
        await self.flush()
        return True
