from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bp_common.orm import JSONType, Timestamps, UUIDPrimaryKey, enum_type
from bp_common.revisions import Revisioned
from indicators_api.base import Base


class ComponentKind(StrEnum):
    FACILITY = "facility"
    FLAGSHIP = "flagship"
    GRANT = "grant"
    OTHER = "other"


class Project(UUIDPrimaryKey, Timestamps, Revisioned, Base):
    """A project under the dialogue's umbrella, implemented by partner organisations; corrected
    by the Secretariat against its revision (``ETag``)."""

    __tablename__ = "project"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates_ordered"),)

    code: Mapped[str] = mapped_column(String(50), unique=True)
    # The activity's identifier in IATI, the key of the IATI import and export.
    iati_identifier: Mapped[str | None] = mapped_column(String(150), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    donor: Mapped[str | None] = mapped_column(String(200))
    budget_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    budget_currency: Mapped[str | None] = mapped_column(String(3))
    starts_on: Mapped[date]
    ends_on: Mapped[date]

    # Link tables rather than JSON lists: "projects of IOM / in AF / under goal 5" are filters.
    organisation_links: Mapped[list[ProjectOrganisation]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ProjectOrganisation.organisation"
    )
    country_links: Mapped[list[ProjectCountry]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ProjectCountry.country"
    )
    goal_links: Mapped[list[ProjectGoal]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ProjectGoal.goal"
    )
    components: Mapped[list[ProjectComponent]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ProjectComponent.code"
    )

    @property
    def implementing_organisations(self) -> list[str]:
        return [link.organisation for link in self.organisation_links]

    @property
    def countries(self) -> list[str]:
        return [link.country for link in self.country_links]

    @property
    def goals(self) -> list[int]:
        return [link.goal for link in self.goal_links]

    @property
    def budget(self) -> dict[str, object] | None:
        if self.budget_amount is None:
            return None
        return {"amount": self.budget_amount, "currency": self.budget_currency}


class ProjectOrganisation(Base):
    __tablename__ = "project_organisation"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    organisation: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)


class ProjectCountry(Base):
    __tablename__ = "project_country"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class ProjectGoal(Base):
    __tablename__ = "project_goal"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    goal: Mapped[int] = mapped_column(primary_key=True, index=True)


class ProjectComponent(UUIDPrimaryKey, Timestamps, Base):
    """A part of a project: a Facility (awarding grants), a flagship initiative, a grant."""

    __tablename__ = "project_component"
    __table_args__ = (UniqueConstraint("project_id", "code"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[ComponentKind] = mapped_column(enum_type(ComponentKind, 20))
    description: Mapped[str | None] = mapped_column(Text)
    goal: Mapped[int | None]
    # Code of the component this one belongs to (a grant awarded by a facility).
    parent: Mapped[str | None] = mapped_column(String(50))
    countries: Mapped[list[str]] = mapped_column(JSONType, default=list)
