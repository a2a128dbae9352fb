from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import JSONType, Timestamps, UUIDPrimaryKey
from bp_common.withdrawals import Withdrawable
from indicators_api.base import Base


class Result(UUIDPrimaryKey, Timestamps, Withdrawable, Base):
    """One value a partner reported for an indicator of a project, identified by the partner's
    own ``external_id`` so repeated pushes update it in place. A withdrawn result is a tombstone:
    out of the rollups and the lists, readable by id; pushed again, it stands again."""

    __tablename__ = "result"
    __table_args__ = (
        UniqueConstraint("organisation", "external_id"),
        # The rollup group's rows, recomputed when one of them changes.
        Index("ix_result_group", "indicator", "organisation", "project", "year"),
    )

    organisation: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    project: Mapped[str] = mapped_column(ForeignKey("project.code"), index=True)
    indicator: Mapped[str] = mapped_column(ForeignKey("indicator.code"))
    period: Mapped[str] = mapped_column(String(7))
    year: Mapped[int]
    period_key: Mapped[int]  # periods.Period.key: orders periods for "latest"
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    disaggregation: Mapped[dict[str, str] | None] = mapped_column(JSONType)
    # A number, or text for a qualitative indicator.
    value_number: Mapped[float | None]
    value_text: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)

    @property
    def value(self) -> Any:
        return self.value_text if self.value_text is not None else self.value_number


class ResultImport(UUIDPrimaryKey, Timestamps, Base):
    """One import (not dry runs): its counts, and under an ``Idempotency-Key`` the answer
    given, returned verbatim when the key is replayed."""

    __tablename__ = "result_import"
    __table_args__ = (UniqueConstraint("organisation", "idempotency_key"),)

    organisation: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[int]
    updated: Mapped[int]
    unchanged: Mapped[int]
    rejected: Mapped[int]
    # Rows of the organisation a ``mode=replace`` import withdrew.
    withdrawn: Mapped[int] = mapped_column(default=0, server_default="0")
    response: Mapped[str | None] = mapped_column(Text)  # the exact bytes answered


class ResultWithdrawal(UUIDPrimaryKey, Timestamps, Base):
    """One withdrawal by external ids: its counts, and under an ``Idempotency-Key`` the answer
    given, returned verbatim when the key is replayed (as for imports)."""

    __tablename__ = "result_withdrawal"
    __table_args__ = (UniqueConstraint("organisation", "idempotency_key"),)

    organisation: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    withdrawn_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    withdrawn: Mapped[int]
    unchanged: Mapped[int]
    rejected: Mapped[int]
    response: Mapped[str | None] = mapped_column(Text)
