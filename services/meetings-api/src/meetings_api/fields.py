"""Field types of this service's input schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def _without_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text: refuse it here, as a 422, rather than fail on insert.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Trimmed free text; give each field its bounds with Field(min_length=..., max_length=...).
Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_without_nul)]
