"""The event contracts, generated from the producers' event models (``make contracts``):

- ``libs/common/src/bp_common/contracts/events/<type>.json``: a JSON Schema per event type and
  version, its ``$id`` the URL every record names in ``ce_dataschema`` (``contracts/`` at the
  repository root links there; the package carries them into the images, the gateway serves them);
- ``.../contracts/asyncapi.json``: the AsyncAPI 3.0 document of the topics, their dead-letter
  topics, the messages with their headers, key and payload, and who sends and receives them;
- ``docs/events.md``: the catalogue for people.

``--check`` writes nothing: it fails if the committed files differ from a fresh generation, or if
a published schema changed in a way its consumers cannot follow (see :func:`compatibility`)."""

from __future__ import annotations

import argparse
import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bp_common.app import ServiceSpec
from bp_common.events.contract import ASYNCAPI_FILE, Event, EventReader, schema_url
from bp_common.events.envelope import JSON, SPEC_VERSION, dead_letter_topic, topic_for_type
from indicators_api.app import SPEC as INDICATORS
from meetings_api.app import SPEC as MEETINGS
from notifications_api.app import SPEC as NOTIFICATIONS
from plan_api.app import SPEC as PLAN

SERVICES: tuple[ServiceSpec, ...] = (MEETINGS, PLAN, INDICATORS, NOTIFICATIONS)
CONTRACTS_DIR = Path("libs/common/src/bp_common/contracts")
EVENTS_DIR = CONTRACTS_DIR / "events"
ASYNCAPI_PATH = CONTRACTS_DIR / ASYNCAPI_FILE
DOCS_PATH = Path("docs/events.md")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING_VERSION = "0.5.0"
PARTITIONS = 3
_COMPONENTS = "#/components/schemas/"

# CloudEvents attributes every record carries as Kafka headers (binary mode).
CORE_HEADERS = (
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_subject",
    "ce_time",
    "ce_dataschema",
    "content-type",
)
# Extension attributes: optional headers, so adding one (ce_actor, traceparent) is backward
# compatible for every consumer. Each is described once here and lands in every message.
EXTENSION_HEADERS: dict[str, dict[str, Any]] = {
    "ce_requestid": {
        "type": "string",
        "description": "The API request that caused the event (its X-Request-ID); absent when "
        "the event was caused by another event.",
    },
    "ce_actor": {
        "type": "string",
        "description": "The principal (API key) whose request caused the event; absent when the "
        "event was caused by another event.",
    },
    # CloudEvents distributed-tracing extension, under the W3C names every Kafka tracing client
    # reads (not ce_-prefixed).
    "traceparent": {
        "type": "string",
        "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        "description": "W3C Trace Context of the relay's publish span, in the trace of the "
        "request (or event) that wrote the event: a consumer's span continues it. Absent when "
        "the producer does not trace.",
    },
    "tracestate": {
        "type": "string",
        "description": "W3C Trace Context vendor state accompanying traceparent, when any.",
    },
}
DLQ_HEADERS: dict[str, str] = {
    "dlq_error": "The class of the error that made the consumer give up.",
    "dlq_error_detail": "The error's message.",
    "dlq_origin": "The topic the message came from.",
    "dlq_group": "The consumer group that gave up.",
    "dlq_position": "partition:offset of the original message.",
}


def service_name(spec: ServiceSpec) -> str:
    return f"{spec.name}-api"


def source_of(spec: ServiceSpec) -> str:
    return f"/{spec.name}"


@dataclass(frozen=True)
class Produced:
    spec: ServiceSpec
    model: type[Event]

    @property
    def type(self) -> str:
        return self.model.type

    @property
    def topic(self) -> str:
        return topic_for_type(self.model.type)


@dataclass(frozen=True)
class Consumed:
    spec: ServiceSpec
    event_type: str
    readers: tuple[type[EventReader], ...]


def produced() -> dict[str, Produced]:
    """Every event type by its type string; one producer model per type."""
    found: dict[str, Produced] = {}
    for spec in SERVICES:
        for model in spec.events:
            if model.type in found:
                raise ValueError(f"{model.type} is defined twice")
            found[model.type] = Produced(spec, model)
    return dict(sorted(found.items()))


def consumed() -> list[Consumed]:
    """Every binding of a consumer's handler table: the type string and the readers."""
    return [
        Consumed(spec, event_type, tuple(getattr(handler, "readers", ())))
        for spec in SERVICES
        for event_type, handler in sorted(spec.handlers.items())
    ]


# -- JSON Schema ----------------------------------------------------------------------------------


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def event_schema(model: type[Event]) -> dict[str, Any]:
    """The published JSON Schema of ``model``: what its producer promises. It leaves additional
    properties open (the producer may add optional fields within a version), its examples are
    the model's own, checked by the model."""
    schema = model.model_json_schema()
    for node in _walk(schema):
        if node.get("additionalProperties") is False:
            del node["additionalProperties"]
    examples = [model.model_validate(example).data() for example in model.examples]
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_url(model.type),
        "x-cloudevents-type": model.type,
        "x-subject": model.subject_field,
        "x-key": model.key_field,
        **schema,
        "examples": examples,
    }


# -- AsyncAPI 3.0 ---------------------------------------------------------------------------------


def _channel_id(topic: str) -> str:
    return topic.replace(".", "-")


def _message_id(model: type[Event]) -> str:
    return model.__name__


def _channel_message(topic: str, model: type[Event]) -> dict[str, str]:
    return {"$ref": f"#/channels/{_channel_id(topic)}/messages/{_message_id(model)}"}


def _components_schema(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` moved to the document's components (refs rewritten)."""
    body = copy.deepcopy(schema)
    for key in ("$schema", "$id", "x-cloudevents-type", "x-subject", "x-key", "examples"):
        body.pop(key, None)
    definitions = body.pop("$defs", {})
    for node in _walk([body, definitions]):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = _COMPONENTS + ref.removeprefix("#/$defs/")
    for name, definition in definitions.items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are named {name}: rename one model")
    return body


def _headers(item: Produced) -> dict[str, Any]:
    model = item.model
    properties: dict[str, Any] = {
        "ce_specversion": {"type": "string", "const": SPEC_VERSION},
        "ce_id": {
            "type": "string",
            "format": "uuid",
            "description": "Unique per event: consumers apply an event once by its id.",
        },
        "ce_source": {"type": "string", "const": source_of(item.spec)},
        "ce_type": {"type": "string", "const": model.type},
        "ce_subject": {
            "type": "string",
            "description": f"The record the event is about: `{model.subject_field}` of the data.",
        },
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_dataschema": {"type": "string", "format": "uri", "const": schema_url(model.type)},
        "content-type": {"type": "string", "const": JSON},
        **EXTENSION_HEADERS,
    }
    return {"type": "object", "required": list(CORE_HEADERS), "properties": properties}


def _example_headers(item: Produced, example: Mapping[str, Any]) -> dict[str, str]:
    return {
        "ce_specversion": SPEC_VERSION,
        "ce_id": "0b7e1b8e-2f4d-4c55-9a39-6f1f3c2d9e01",
        "ce_source": source_of(item.spec),
        "ce_type": item.type,
        "ce_subject": str(example[item.model.subject_field]),
        "ce_time": "2019-12-05T10:00:00+00:00",
        "ce_dataschema": schema_url(item.type),
        "content-type": JSON,
    }


def asyncapi_document() -> dict[str, Any]:
    events = produced()
    bindings = consumed()
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    topics = sorted({item.topic for item in events.values()})
    by_topic = {t: [item for item in events.values() if item.topic == t] for t in topics}

    for item in events.values():
        model, schema = item.model, event_schema(item.model)
        name = _message_id(model)
        schemas[name] = _components_schema(schema, schemas)
        messages[name] = {
            "name": model.type,
            "title": name,
            "summary": (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
            "contentType": JSON,
            "headers": _headers(item),
            "payload": {"$ref": _COMPONENTS + name},
            "bindings": {
                "kafka": {
                    "key": {
                        "type": "string",
                        "description": f"The aggregate: `{model.key_field}` of the data. One "
                        "aggregate's events stay in order on one partition.",
                    },
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
            "examples": [
                {"headers": _example_headers(item, example), "payload": example}
                for example in schema["examples"]
            ],
        }

    for topic in topics:
        producer = service_name(by_topic[topic][0].spec)
        refs = {
            _message_id(i.model): {"$ref": f"#/components/messages/{_message_id(i.model)}"}
            for i in by_topic[topic]
        }
        dlq = dead_letter_topic(topic)
        for address, description in (
            (topic, f"The events of {producer}, keyed by their aggregate."),
            (
                dlq,
                f"Messages of {topic} a consumer could not handle after its bounded retries (or "
                "could not parse), as they were, with these headers added: "
                + "; ".join(f"`{h}`: {text}" for h, text in DLQ_HEADERS.items()),
            ),
        ):
            channels[_channel_id(address)] = {
                "address": address,
                "description": description
                + " Topics are prefixed by the deployment's KAFKA_NAMESPACE.",
                "messages": refs,
                "bindings": {
                    "kafka": {
                        "topic": address,
                        "partitions": PARTITIONS,
                        "bindingVersion": KAFKA_BINDING_VERSION,
                    }
                },
            }
        channel = {"$ref": f"#/channels/{_channel_id(topic)}"}
        operations[f"{producer}_sends_{_channel_id(topic)}"] = {
            "action": "send",
            "title": f"{producer} publishes {topic}",
            "summary": "From its transactional outbox, once the change is committed.",
            "channel": channel,
            "messages": [_channel_message(topic, i.model) for i in by_topic[topic]],
        }
        for spec in SERVICES:
            received = [
                events[b.event_type].model
                for b in bindings
                if b.spec is spec and topic_for_type(b.event_type) == topic
            ]
            if not received:
                continue
            consumer = service_name(spec)
            operations[f"{consumer}_receives_{_channel_id(topic)}"] = {
                "action": "receive",
                "title": f"{consumer} consumes {topic}",
                "summary": f"Consumer group `{spec.name}`; each event applied once (inbox).",
                "channel": channel,
                "messages": [_channel_message(topic, model) for model in received],
            }
            operations[f"{consumer}_dead_letters_{_channel_id(topic)}"] = {
                "action": "send",
                "title": f"{consumer} dead-letters what it cannot handle to {dlq}",
                "channel": {"$ref": f"#/channels/{_channel_id(dlq)}"},
                "messages": [_channel_message(dlq, model) for model in received],
            }

    return {
        "asyncapi": "3.0.0",
        "id": "urn:budapestprocess:platform:events",
        "info": {
            "title": "Budapest Process platform events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in Kafka binary mode: the attributes as `ce_*` "
            "headers, the data as the JSON value, the aggregate id as the key. Generated from "
            "the producers' event models; the JSON Schema of each event is at its "
            "`ce_dataschema` URL.",
        },
        "defaultContentType": JSON,
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "The deployment's KAFKA_BOOTSTRAP_SERVERS.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.items())), "messages": messages},
    }


# -- docs/events.md -------------------------------------------------------------------------------

PREAMBLE = """\
# Event catalogue

<!-- Generated by `make contracts` from the event models (bpctl/contracts.py): do not edit. -->

Every event is a CloudEvent 1.0 published in Kafka binary mode on the topic `<service>.events`:
the attributes are headers (`ce_specversion`, `ce_id`, `ce_source`, `ce_type`, `ce_subject`,
`ce_time`, `ce_dataschema`, `content-type`, the extensions `ce_requestid` and `ce_actor` (the
request and the API key's principal) when an API request caused it, and the W3C `traceparent`
(and `tracestate`) of the distributed-tracing extension when the producer traces), the data is
the JSON value.

- **Key and subject.** The Kafka key is the aggregate id, so one aggregate's events stay in order
  on one partition; `ce_subject` is the id of the record the event is about (an intervention, not
  its meeting), so each record has its own history.
- **Schemas.** Each type has a JSON Schema, `ce_dataschema` names its URL; the gateway serves it at
  `GET /v1/events/schemas/<type>.json` and the AsyncAPI 3.0 document of the topics at
  `GET /v1/asyncapi.json` (both in `contracts/`).
- **Versions.** Types end in `.v<n>`. Within a version a producer may only add optional fields;
  removing, renaming or retyping a field, or adding a required one, is a new type `.v<n+1>`
  published beside the old one for a documented deprecation period (`make test` enforces this
  against each schema's first version on `main`).
- **Consumers** read only the fields they use and ignore the rest; they are idempotent (an inbox
  per consumer group), and replaying a topic from offset 0 rebuilds the same read models.
- **Dead letters.** A message a consumer cannot handle after its bounded retries (or cannot parse)
  is copied to `<topic>.dlq` with its key, value and headers, plus `dlq_error`,
  `dlq_error_detail`, `dlq_origin`, `dlq_group` and `dlq_position`; the partition keeps flowing.

Dates are ISO 8601 strings, ids UUID strings, countries ISO 3166-1 alpha-2, organisations by
acronym.
"""


def _type_text(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        text = " or ".join(_type_text(s) for s in options)
        return text + " or null" if len(options) < len(schema["anyOf"]) else text
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if schema.get("type") == "array":
        return f"list of {_type_text(schema.get('items', {}))}"
    kind = str(schema.get("type", "any"))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _fields_table(schema: Mapping[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, field in schema.get("properties", {}).items():
        description = field.get("description", "").replace("\n", " ")
        lines.append(
            f"| `{name}` | {_type_text(field)} | {'yes' if name in required else 'no'} "
            f"| {description} |"
        )
    return lines


def _prose(text: str | None) -> str:
    """A docstring as one Markdown paragraph (reST literals as Markdown code)."""
    return " ".join((text or "").split()).replace("``", "`")


def _first_paragraph(text: str | None) -> str:
    return _prose((text or "").strip().split("\n\n")[0])


def events_markdown() -> str:
    events = produced()
    bindings = consumed()
    lines = [PREAMBLE]
    definitions: dict[str, Any] = {}
    for topic in sorted({item.topic for item in events.values()}):
        items = [item for item in events.values() if item.topic == topic]
        lines += [
            f"## {topic} ({service_name(items[0].spec)})",
            "",
            "| type | subject | key | emitted when | consumed by |",
            "|---|---|---|---|---|",
        ]
        for item in items:
            consumers = ", ".join(
                service_name(b.spec) for b in bindings if b.event_type == item.type
            )
            lines.append(
                f"| [`{item.type}`](#{item.type.replace('.', '')}) | `{item.model.subject_field}` "
                f"| `{item.model.key_field}` | {_first_paragraph(item.model.__doc__)} "
                f"| {consumers or '—'} |"
            )
        lines.append("")
        for item in items:
            schema = event_schema(item.model)
            definitions.update(schema.get("$defs", {}))
            lines += [
                f"### `{item.type}`",
                "",
                _prose(item.model.__doc__),
                "",
                f"Schema: <{schema_url(item.type)}>; model `{item.model.__name__}` of "
                f"{service_name(item.spec)}.",
                "",
                *_fields_table(schema),
                "",
            ]
            readers = [
                f"- {service_name(binding.spec)} reads "
                + ", ".join(f"`{name}`" for name in reader.model_fields)
                + f" (`{reader.__name__}`): {_prose(reader.__doc__)}"
                for binding in bindings
                if binding.event_type == item.type
                for reader in binding.readers
            ]
            lines += [
                *([*readers, ""] if readers else []),
                "```json",
                json.dumps(schema["examples"][0], indent=2, ensure_ascii=False),
                "```",
                "",
            ]
    lines += ["## Shared shapes", ""]
    for name, definition in sorted(definitions.items()):
        if "properties" not in definition:
            continue
        lines += [f"### {name}", "", _first_paragraph(definition.get("description")), ""]
        lines += [*_fields_table(definition), ""]
    return "\n".join(lines).rstrip() + "\n"


# -- files, freshness, compatibility --------------------------------------------------------------


def _json_text(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[Path, str]:
    """Every generated file by its path in the repository."""
    files = {
        EVENTS_DIR / f"{event_type}.json": _json_text(event_schema(item.model))
        for event_type, item in produced().items()
    }
    files[ASYNCAPI_PATH] = _json_text(asyncapi_document())
    files[DOCS_PATH] = events_markdown()
    return files


def write(root: Path) -> list[Path]:
    files = generate()
    for stale in (root / EVENTS_DIR).glob("*.json"):
        if stale.relative_to(root) not in files:
            stale.unlink()
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, "utf-8")
    return sorted(files)


def stale_files(root: Path) -> list[str]:
    """What differs between the committed contracts and a fresh generation."""
    files = generate()
    problems = [
        f"{path} is out of date"
        for path, text in files.items()
        if not (root / path).is_file() or (root / path).read_text("utf-8") != text
    ]
    problems += [
        f"{stale.relative_to(root)} has no event model any more"
        for stale in sorted((root / EVENTS_DIR).glob("*.json"))
        if stale.relative_to(root) not in files
    ]
    return problems


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@dataclass(frozen=True)
class Baseline:
    schema: dict[str, Any]
    origin: str


def first_published(root: Path, path: Path, branch: str = "main") -> Baseline | None:
    """The version of ``path`` in the commit on ``branch`` that added it; None when it is not on
    ``branch`` yet, or when there is no usable history (no git, no such branch). In a shallow
    clone the oldest commit available is taken: its boundary looks like the file's addition."""
    ref = next(
        (r for r in (branch, f"origin/{branch}") if _git(root, "rev-parse", "--verify", "-q", r)),
        None,
    )
    if ref is None:
        return None
    added = _git(root, "log", ref, "--diff-filter=A", "--format=%H", "--", str(path))
    commits = (added or "").split()
    if not commits:
        return None
    commit = commits[-1]
    text = _git(root, "show", f"{commit}:{path}")
    if text is None:
        return None
    shallow = (_git(root, "rev-parse", "--is-shallow-repository") or "").strip() == "true"
    origin = f"{ref}@{commit[:10]}" + (" (shallow clone: oldest available)" if shallow else "")
    return Baseline(json.loads(text), origin)


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: Mapping[str, Any] = root.get("$defs", {})[ref.removeprefix("#/$defs/")]
        return _resolve(resolved, root)
    return schema


def _shape(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """What a reader relies on of a value: its JSON types and formats, recursively; constraints,
    enums (a new value is allowed within a version) and descriptions aside."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return sorted(json.dumps(_shape(s, root), sort_keys=True) for s in schema["anyOf"])
    if "enum" in schema and "type" not in schema:
        return sorted({type(value).__name__ for value in schema["enum"]})
    shape: dict[str, Any] = {"type": schema.get("type"), "format": schema.get("format")}
    if schema.get("type") == "array":
        shape["items"] = _shape(schema.get("items", {}), root)
    return shape


def compatibility(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Why payloads valid under ``new`` may break a consumer built on ``old``: a field removed
    (or renamed), retyped, or newly required; nested objects are compared field by field."""
    problems: list[str] = []

    def compare(before: Mapping[str, Any], after: Mapping[str, Any], path: str) -> None:
        before, after = _resolve(before, old), _resolve(after, new)
        old_fields, new_fields = before.get("properties", {}), after.get("properties", {})
        for name, field in old_fields.items():
            where = f"{path}{name}"
            if name not in new_fields:
                problems.append(f"field '{where}' was removed (or renamed)")
                continue
            if _shape(field, old) != _shape(new_fields[name], new):
                problems.append(f"field '{where}' was retyped")
                continue
            inner_old, inner_new = _resolve(field, old), _resolve(new_fields[name], new)
            if "properties" in inner_old:
                compare(inner_old, inner_new, f"{where}.")
            elif inner_old.get("type") == "array" and "items" in inner_old:
                compare(inner_old["items"], inner_new.get("items", {}), f"{where}[].")
        newly_required = set(after.get("required", [])) - set(before.get("required", []))
        problems.extend(
            f"field '{path}{name}' is newly required" for name in sorted(newly_required)
        )

    compare(old, new, "")
    return problems


def _next_version(event_type: str) -> str:
    stem, version = re.fullmatch(r"(.*)\.v(\d+)", event_type).groups()  # type: ignore[union-attr]
    return f"{stem}.v{int(version) + 1}"


def compatibility_problems(root: Path, branch: str = "main") -> list[str]:
    """Each event schema compared with its first published version (the commit on ``branch``
    that added it; until it is there, with the committed working copy)."""
    problems = []
    for event_type, item in produced().items():
        path = EVENTS_DIR / f"{event_type}.json"
        baseline = first_published(root, path, branch)
        if baseline is None and (root / path).is_file():
            baseline = Baseline(json.loads((root / path).read_text("utf-8")), "working copy")
        if baseline is None:
            continue
        found = compatibility(baseline.schema, event_schema(item.model))
        if found:
            problems.append(
                f"{event_type} is not backward compatible with its first published version "
                f"({baseline.origin}): {'; '.join(found)}. Publish {_next_version(event_type)} "
                f"(a new model beside {item.model.__name__}) instead, and keep emitting "
                f"{event_type} for the deprecation period."
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpctl.contracts", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; fail on stale or breaking contracts"
    )
    args = parser.parse_args(argv)
    root: Path = args.root
    if not args.check:
        schemas_before = sorted((root / EVENTS_DIR).glob("*.json"))
        for path in write(root):
            print(path)
        if sorted((root / EVENTS_DIR).glob("*.json")) != schemas_before:
            # notifications-api subscribes to every published schema, read from these files when
            # it is imported: a new type is among its subscriptions only in a fresh process.
            return subprocess.run(
                [sys.executable, "-m", "bpctl.contracts", *(argv or sys.argv[1:])], check=False
            ).returncode
        return 0
    problems = stale_files(root)
    if problems:
        problems.append("run `make contracts` and commit the result")
    problems += compatibility_problems(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
