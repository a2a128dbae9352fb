from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import JSONType, Timestamps
from indicators_api.base import Base


class IatiMapping(Timestamps, Base):
    """How one partner's IATI vocabulary maps onto the framework (the partner maintains it)."""

    __tablename__ = "iati_mapping"

    organisation: Mapped[str] = mapped_column(String(20), primary_key=True)
    # "<vocabulary>:<code>" or an indicator's title -> a framework indicator code.
    indicators: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    # "<dimension name>" -> a dimension of ours; "<name>:<value>" -> "<dimension>:<code>".
    dimensions: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)


class IatiOrganisation(Timestamps, Base):
    """Copy of meetings-api's registry: the organisations' IATI identifiers."""

    __tablename__ = "iati_organisation"

    acronym: Mapped[str] = mapped_column(String(20), primary_key=True)
    iati_id: Mapped[str | None] = mapped_column(String(60))
    name: Mapped[str | None] = mapped_column(String(300))
    # The registry entry's revision as last kept: older news changes nothing.
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
