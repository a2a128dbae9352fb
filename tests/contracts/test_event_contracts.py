"""The event stream as a published contract: the committed contracts are those the models
generate, the AsyncAPI document is valid AsyncAPI 3.0, every consumer's reader accepts what its
producer publishes, and no published schema changes in a way its consumers cannot follow."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from bp_common.events.contract import Consumer, Event, EventReader
from bpctl import contracts
from bpctl.contracts import Consumed, consumed, event_schema, produced
from meetings_api.proceedings import schemas as proceedings_schemas
from plan_api.amendments import models as amendment_models

ROOT = Path(__file__).resolve().parents[2]
VENDOR = Path(__file__).parent / "vendor"


# -- the committed contracts -----------------------------------------------------------------------


def test_the_committed_contracts_equal_a_fresh_generation() -> None:
    stale = contracts.stale_files(ROOT)
    assert not stale, f"{stale}: run `make contracts` and commit the result"


def test_contracts_at_the_repository_root_are_the_packaged_ones() -> None:
    assert (ROOT / "contracts").resolve() == (ROOT / contracts.CONTRACTS_DIR).resolve()


def test_the_asyncapi_document_is_valid_against_the_official_asyncapi_3_0_schema() -> None:
    official = json.loads((VENDOR / "asyncapi-3.0.0.schema.json").read_text())
    document = json.loads((ROOT / contracts.ASYNCAPI_PATH).read_text())
    errors = [
        f"{'/'.join(map(str, error.instance_path))}: {error.message[:300]}"
        for error in jsonschema_rs.Draft7Validator(official).iter_errors(document)
    ]
    assert not errors, "\n".join(errors)


@pytest.mark.skipif(shutil.which("node") is None, reason="the official parser runs on Node.js")
def test_the_asyncapi_document_is_accepted_by_the_official_parser() -> None:
    done = subprocess.run(
        ["node", str(VENDOR / "parse.cjs"), str(ROOT / contracts.ASYNCAPI_PATH)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


def test_the_asyncapi_document_describes_every_topic_its_dead_letters_and_who_uses_them() -> None:
    document = json.loads((ROOT / contracts.ASYNCAPI_PATH).read_text())
    addresses = {channel["address"] for channel in document["channels"].values()}
    topics = {"meetings.events", "plan.events", "indicators.events", "notifications.events"}
    assert addresses == topics | {f"{topic}.dlq" for topic in topics}
    messages = document["components"]["messages"]
    assert {message["name"] for message in messages.values()} == set(produced())
    for message in messages.values():
        headers = message["headers"]
        assert set(contracts.CORE_HEADERS) <= set(headers["required"])
        assert headers["properties"]["ce_type"]["const"] == message["name"]
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
    operations = document["operations"].values()
    received = {
        (op["title"].split()[0], message["$ref"].rsplit("/", 1)[1])
        for op in operations
        if op["action"] == "receive"
        for message in op["messages"]
    }
    bound = {(f"{b.spec.name}-api", produced()[b.event_type].model.__name__) for b in consumed()}
    assert received == bound


def test_every_event_schema_is_valid_and_its_examples_match_it() -> None:
    for event_type, item in produced().items():
        schema = event_schema(item.model)
        assert schema["$id"].endswith(f"/v1/events/schemas/{event_type}.json")
        assert schema["examples"], f"{event_type} publishes no example"
        validator = jsonschema_rs.validator_for(schema)
        for example in schema["examples"]:
            validator.validate(example)


def test_each_event_model_is_named_after_its_type_version() -> None:
    for event_type, item in produced().items():
        version = re.fullmatch(r".*\.v(\d+)", event_type)
        assert version is not None
        assert item.model.__name__.endswith(f"V{version.group(1)}"), item.model.__name__
        assert item.model.__doc__, f"{item.model.__name__} does not say when it is emitted"
        assert {item.model.subject_field, item.model.key_field} <= set(item.model.model_fields)


# -- consumers against producers ------------------------------------------------------------------


def test_every_handler_table_entry_names_its_readers() -> None:
    """Else a consumer would escape the contract tests below."""
    for binding in consumed():
        handler = binding.spec.handlers[binding.event_type]
        assert isinstance(handler, Consumer), f"{binding.spec.name}: {binding.event_type}"
        assert binding.readers, f"{binding.spec.name}: {binding.event_type} has no reader"


def _pairs() -> list[Any]:
    return [
        pytest.param(
            binding, reader, id=f"{binding.event_type}->{binding.spec.name}:{reader.__name__}"
        )
        for binding in consumed()
        for reader in binding.readers
    ]


def reader_problems(producer: type[Event], reader: type[EventReader]) -> list[str]:
    """What ``reader`` expects that ``producer``'s published schema and examples do not give."""
    schema = event_schema(producer)
    published = set(schema["properties"])
    problems = [
        f"{reader.__name__} reads '{field.alias or name}', which {producer.type} does not publish"
        for name, field in reader.model_fields.items()
        if (field.alias or name) not in published
    ]
    concerned = [example for example in schema["examples"] if reader.concerns(example)]
    if not concerned:
        problems.append(f"no example of {producer.type} concerns {reader.__name__}")
    for example in concerned:
        try:
            reader.model_validate(example)
        except ValueError as exc:
            problems.append(f"{reader.__name__} refuses an example of {producer.type}: {exc}")
    return problems


@pytest.mark.parametrize(("binding", "reader"), _pairs())
def test_the_consumer_reads_what_the_producer_publishes(
    binding: Consumed, reader: type[EventReader]
) -> None:
    producer = produced().get(binding.event_type)
    assert producer is not None, f"{binding.spec.name} consumes {binding.event_type}: no producer"
    # A service may read its own events too: its read models are fed like any other consumer's
    # (the calendar from meetings.events, the dashboard from indicators.events).
    problems = reader_problems(producer.model, reader)
    assert not problems, "\n".join(problems)


def test_a_field_a_consumer_reads_removed_by_its_producer_is_caught() -> None:
    from meetings_api.meetings.events import MeetingHeldV1
    from plan_api.activities.handlers import MeetingPayload

    assert reader_problems(MeetingHeldV1, MeetingPayload) == []
    fields = {
        name: (field.annotation, field)
        for name, field in MeetingHeldV1.model_fields.items()
        if name != "starts_on"
    }
    renamed = type(
        "MeetingHeldV1",
        (Event,),
        {
            "__annotations__": {name: annotation for name, (annotation, _) in fields.items()}
            | {"start_date": Any},
            **{name: field for name, (_, field) in fields.items()},
            "__doc__": MeetingHeldV1.__doc__,
            "type": MeetingHeldV1.type,
            "subject_field": "meeting_id",
            "key_field": "meeting_id",
            "examples": [
                {k: v for k, v in e.items() if k != "starts_on"} | {"start_date": e["starts_on"]}
                for e in MeetingHeldV1.examples
            ],
        },
    )
    problems = reader_problems(renamed, MeetingPayload)
    assert any("reads 'starts_on'" in problem for problem in problems), problems
    assert any("refuses an example" in problem for problem in problems), problems


def test_vocabularies_shared_by_meetings_and_plan_are_equal() -> None:
    """An amendment asked for at a meeting becomes plan-api's amendment: same targets, actions."""
    assert {v.value for v in proceedings_schemas.AmendmentTargetType} == {
        v.value for v in amendment_models.TargetType
    }
    assert {v.value for v in proceedings_schemas.AmendmentAction} == {
        v.value for v in amendment_models.AmendmentAction
    }


def test_the_kinds_plan_api_acts_on_are_kinds_meetings_api_publishes() -> None:
    intervention = event_schema(produced()["meetings.intervention.recorded.v1"].model)
    decision = event_schema(produced()["meetings.decision.recorded.v1"].model)
    assert {"offer_to_host", "amendment_request"} <= set(
        intervention["$defs"]["InterventionKind"]["enum"]
    )
    assert "endorsement" in decision["$defs"]["DecisionKind"]["enum"]


# -- compatibility with the first published version ----------------------------------------------


def test_no_published_event_schema_changed_incompatibly() -> None:
    problems = contracts.compatibility_problems(ROOT)
    assert not problems, "\n".join(problems)


BASE: dict[str, Any] = {
    "$defs": {
        "Dates": {
            "properties": {"starts_on": {"type": "string", "format": "date"}},
            "required": ["starts_on"],
            "type": "object",
        }
    },
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "kind": {"enum": ["a", "b"], "type": "string"},
        "year": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "previous": {"$ref": "#/$defs/Dates"},
        "hosts": {"items": {"type": "string"}, "type": "array"},
    },
    "required": ["id", "kind", "year", "previous", "hosts"],
    "type": "object",
}


def changed(change: Any) -> dict[str, Any]:
    schema = json.loads(json.dumps(BASE))
    change(schema)
    return schema


def test_compatible_changes_pass() -> None:
    def add_optional(s: dict[str, Any]) -> None:
        s["properties"]["note"] = {"type": "string"}

    def widen_enum(s: dict[str, Any]) -> None:
        s["properties"]["kind"]["enum"].append("c")

    def describe(s: dict[str, Any]) -> None:
        s["properties"]["id"]["description"] = "The id."

    for change in (add_optional, widen_enum, describe):
        assert contracts.compatibility(BASE, changed(change)) == [], change.__name__


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["properties"].pop("year"), "field 'year' was removed"),
        (
            lambda s: s["properties"].update(year={"type": "integer"}),
            "field 'year' was retyped",
        ),
        (
            lambda s: s["properties"].update(hosts={"items": {"type": "integer"}, "type": "array"}),
            "field 'hosts' was retyped",
        ),
        (
            lambda s: (
                s["properties"].update(note={"type": "string"}),
                s["required"].append("note"),
            ),
            "field 'note' is newly required",
        ),
        (
            lambda s: s["$defs"]["Dates"]["properties"].pop("starts_on"),
            "field 'previous.starts_on' was removed",
        ),
    ],
)
def test_breaking_changes_are_named(change: Any, message: str) -> None:
    problems = contracts.compatibility(BASE, changed(change))
    assert any(problem.startswith(message) for problem in problems), problems


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_the_baseline_is_the_commit_on_main_that_added_the_schema(tmp_path: Path) -> None:
    repo, path = tmp_path / "repo", Path("contracts/events/x.v1.json")
    (repo / path.parent).mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    assert contracts.first_published(repo, path) is None  # no history at all
    for version in (1, 2, 3):
        (repo / path).write_text(json.dumps({"version": version}))
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", f"v{version}")
    first = contracts.first_published(repo, path)
    assert first is not None
    assert first.schema == {"version": 1}
    # A fresh shallow clone sees only its last commit: that is the oldest version it can use.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    shallow = contracts.first_published(clone, path)
    assert shallow is not None
    assert shallow.schema == {"version": 3}
    assert "shallow" in shallow.origin
    # On a branch of its own, not on main yet: no baseline (the working copy is compared).
    git(repo, "checkout", "-q", "-b", "feature")
    other = Path("contracts/events/y.v1.json")
    (repo / other).write_text("{}")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "y")
    assert contracts.first_published(repo, other) is None
