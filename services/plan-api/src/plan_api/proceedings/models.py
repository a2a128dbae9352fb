from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, enum_type
from plan_api.base import Base


class RecordKind(StrEnum):
    INTERVENTION = "intervention"
    DECISION = "decision"


class MeetingRecordNews(Timestamps, Base):
    """The latest news plan-api applied of a meetings-api record (an intervention or a
    decision): its revision, and whether it was withdrawn. Older news (a dead letter re-driven
    after a correction, a replay) is ignored, and a withdrawn record is never applied again."""

    __tablename__ = "meeting_record_news"

    # The intervention's or the decision's id, as meetings-api gave it.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[RecordKind] = mapped_column(enum_type(RecordKind, 20))
    revision: Mapped[int]
    withdrawn_at: Mapped[datetime | None]
