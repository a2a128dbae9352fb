from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bp_common.security import Role
from bp_common.types import CountryCode, IsoDateTime

# A partner pushing large batches may get more than the gateway's default, a dashboard less.
RateLimit = Annotated[
    int,
    Field(
        ge=1,
        le=1_000_000,
        description="Requests per minute for this key; absent or null: the gateway's default.",
        examples=[6000],
    ),
]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["IOM results integration"])
    role: Role
    organisation: str | None = Field(
        default=None, pattern=r"^[A-Za-z][A-Za-z0-9.\-]{0,39}$", examples=["IOM"]
    )
    country: CountryCode | None = None
    expires_at: IsoDateTime | None = None
    rate_limit_per_minute: RateLimit | None = None

    @model_validator(mode="after")
    def _binding_matches_role(self) -> Self:
        if self.organisation:
            self.organisation = self.organisation.upper()
        if self.role is Role.PARTNER and not self.organisation:
            raise ValueError("a partner key is bound to an organisation")
        if self.role is Role.MEMBER and not self.country:
            raise ValueError("a member key is bound to a country")
        if self.role is not Role.PARTNER and self.organisation:
            raise ValueError("only partner keys are bound to an organisation")
        if self.role is not Role.MEMBER and self.country:
            raise ValueError("only member keys are bound to a country")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at must carry a time zone")
        return self


class ApiKeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate_limit_per_minute: RateLimit | None = Field(
        description="The new limit, applied from the key's next request; null: the default."
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key_id: str
    name: str
    role: Role
    organisation: str | None
    country: str | None
    rate_limit_per_minute: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedApiKey(ApiKeyOut):
    key: str = Field(
        description="The secret key. Shown once: it is not stored and cannot be read again."
    )
