"""Bounds of this service's own fields; the value types every service shares are
bp_common.types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema

from bp_common.types import bounded_text, stripped_upper

Title = Annotated[str, bounded_text(300)]
GoalTitle = Annotated[str, bounded_text(1000)]
Label = Annotated[str, bounded_text(120)]
Lead = Annotated[str, bounded_text(200)]
# A participating state's ISO code or an organisation's acronym ("RS", "IOM", "GLO.ACT").
# In any case (stored upper case), as bp_common.types.Acronym says why.
Proposer = Annotated[
    Annotated[
        str,
        StringConstraints(pattern=r"^[A-Z][A-Z0-9.&-]{1,19}$"),
        WithJsonSchema(
            {
                "type": "string",
                "pattern": "^[A-Za-z][A-Za-z0-9.&-]{1,19}$",
                "examples": ["RS", "MK", "IOM"],
            }
        ),
    ],
    BeforeValidator(stripped_upper),
]
VersionNumber = Annotated[int, Field(ge=1, le=1_000_000)]
