"""Bounded value types of this service's schemas: every string is stripped, length-limited and free
of the NUL character PostgreSQL cannot store; every number has a range the database can hold."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

_NO_NUL = r"^[^\x00]*$"


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=_NO_NUL)
]
GoalTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000, pattern=_NO_NUL)
]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=_NO_NUL)
]
Lead = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_NUL)
]
# As long as a statement recorded by meetings-api, which amendments and offers may come from.
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000, pattern=_NO_NUL)
]
# A participating state's ISO code or an organisation's acronym ("RS", "IOM", "GLO.ACT").
Proposer = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(pattern=r"^[A-Z][A-Z0-9.&-]{1,19}$"),
    Field(examples=["RS", "MK", "IOM"]),
]
Year = Annotated[int, Field(ge=1900, le=2200)]
Quarter = Annotated[int, Field(ge=1, le=4)]
GoalNumber = Annotated[int, Field(ge=1, le=99)]
VersionNumber = Annotated[int, Field(ge=1, le=1_000_000)]
