"""If-Match against a record's revision: the rules every correction endpoint relies on."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import Response
from pydantic import BaseModel, ConfigDict

from bp_common.revisions import (
    Precondition,
    PreconditionFailed,
    PreconditionRequired,
    _optional,
    _required,
    answer_with_etag,
    etag,
)


def test_the_etag_is_the_quoted_revision() -> None:
    assert etag(7) == '"7"'


@pytest.mark.parametrize("header", ['"3"', '"1", "3"', "*", ' "3" '])
def test_a_current_tag_passes(header: str) -> None:
    Precondition(header.strip()).check(3)


@pytest.mark.parametrize("header", ['"2"', 'W/"3"', '"33"', "3"])
def test_a_stale_weak_or_unquoted_tag_is_refused_with_the_current_etag(header: str) -> None:
    with pytest.raises(PreconditionFailed) as refused:
        Precondition(header).check(3, "intervention")
    assert refused.value.status == 412
    assert refused.value.headers == {"ETag": '"3"'}
    assert "intervention" in refused.value.detail


def test_no_header_passes_an_optional_check() -> None:
    Precondition(None).check(3)


async def test_a_required_header_missing_or_blank_is_428() -> None:
    for header in (None, "", "  "):
        with pytest.raises(PreconditionRequired) as refused:
            await _required(header)
        assert refused.value.status == 428
    assert (await _required('"1"')).header == '"1"'


async def test_an_optional_blank_header_counts_as_absent() -> None:
    assert (await _optional("  ")).header is None


@dataclass
class _Row:
    title: str
    revision: int


class _RowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    title: str
    revision: int


def test_an_answer_carries_its_revision_as_etag() -> None:
    response = Response()
    answer = answer_with_etag(response, _Row("Istanbul", 4), _RowOut)
    assert answer == _RowOut(title="Istanbul", revision=4)
    assert response.headers["ETag"] == '"4"'


def test_an_answer_already_built_is_answered_as_it_is() -> None:
    built = _RowOut(title="Istanbul", revision=2)
    response = Response()
    assert answer_with_etag(response, built, _RowOut) is built
    assert response.headers["ETag"] == '"2"'
