"""Events as a published contract.

A producer owns each of its events as a small frozen model, one per type and version
(``ActivityHostedV1``): the model is the data of the CloudEvent, its class attributes say the
type, which field is the subject (the record the event is about) and which the Kafka key (the
aggregate, whose events stay in order). The JSON Schemas and the AsyncAPI document are generated
from these models (``make contracts``).

A consumer never imports another service's models: it keeps an :class:`EventReader` of only the
fields it uses, tolerant of anything else, and binds it to the type string in its handler table
with :func:`consumes`. The contract tests check every such binding against the producer's schema.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.envelope import CloudEvent

Examples = Sequence[Mapping[str, Any]]
# The stable identifier of every event schema, and where the gateway serves it.
SCHEMA_BASE_URL = "https://api.budapestprocess.org/v1/events/schemas/"
_TYPE_PATTERN = re.compile(r"^[a-z]+(\.[a-z_]+)+\.v[1-9][0-9]*$")


def schema_url(event_type: str) -> str:
    return f"{SCHEMA_BASE_URL}{event_type}.json"


class Event(BaseModel):
    """The data of one event type and version, as its producer publishes it. A subclass sets
    ``type`` and names its ``subject_field`` and ``key_field``; its docstring says when it is
    emitted; ``examples`` are published with its schema and feed the contract tests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    # The field holding the id of the record the event is about (``ce_subject``).
    subject_field: ClassVar[str]
    # The field holding the aggregate id (the Kafka key: one aggregate's events stay in order).
    key_field: ClassVar[str]
    examples: ClassVar[Examples] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if event_type is not None and not _TYPE_PATTERN.match(event_type):
            raise TypeError(f"{cls.__name__}.type {event_type!r} is not <topic>.<...>.v<n>")

    @property
    def subject(self) -> str:
        return str(getattr(self, self.subject_field))

    @property
    def key(self) -> str:
        return str(getattr(self, self.key_field))

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class EventReader(BaseModel):
    """What a consumer reads of another service's event: only the fields it uses. Unknown fields
    are ignored, so a producer may add fields without breaking it."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def concerns(cls, data: Mapping[str, Any]) -> bool:
        """Whether the consumer acts on this event at all (say, only on one kind of it)."""
        return True

    @classmethod
    def read(cls, event: CloudEvent) -> Self | None:
        """The fields read, None for an event the consumer leaves alone; raises on a malformed
        payload (retried, then dead-lettered)."""
        return cls.model_validate(event.data) if cls.concerns(event.data) else None


R = TypeVar("R", bound=EventReader)
ReadHandler = Callable[[AsyncSession, R, CloudEvent], Awaitable[None]]


@dataclass(frozen=True)
class Route(Generic[R]):
    """A handler and the reader whose fields it gets."""

    reader: type[R]
    handler: ReadHandler[R]


class Consumer:
    """One entry of a consumer's handler table: the event is read by each route's reader that
    concerns it and handed to that route's handler. The contract tests read ``readers``."""

    def __init__(self, *routes: Route[Any]) -> None:
        self.routes = routes

    @property
    def readers(self) -> tuple[type[EventReader], ...]:
        return tuple(route.reader for route in self.routes)

    async def __call__(self, session: AsyncSession, event: CloudEvent) -> None:
        for route in self.routes:
            payload = route.reader.read(event)
            if payload is not None:
                await route.handler(session, payload, event)


def consumes(reader: type[R], handler: ReadHandler[R]) -> Consumer:
    return Consumer(Route(reader, handler))


def merge_handler_tables(*tables: Mapping[str, Consumer]) -> dict[str, Consumer]:
    """A service's handler table from its contexts' tables: an event type that several contexts
    consume runs each one's routes, in the order of the tables, in the same transaction."""
    routes: dict[str, list[Route[Any]]] = {}
    for table in tables:
        for event_type, consumer in table.items():
            routes.setdefault(event_type, []).extend(consumer.routes)
    return {event_type: Consumer(*found) for event_type, found in routes.items()}


# -- the published contracts, packaged with this library (written by `make contracts`) ---------

CONTRACTS = importlib.resources.files("bp_common") / "contracts"
ASYNCAPI_FILE = "asyncapi.json"


@cache
def published_schema(event_type: str) -> dict[str, Any] | None:
    """The JSON Schema published for ``event_type``, None for an unknown type."""
    if not _TYPE_PATTERN.match(event_type):
        return None
    resource = CONTRACTS / "events" / f"{event_type}.json"
    if not resource.is_file():
        return None
    schema: dict[str, Any] = json.loads(resource.read_text("utf-8"))
    return schema


@cache
def published_asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CONTRACTS / ASYNCAPI_FILE).read_text("utf-8"))
    return document


@cache
def published_event_types() -> tuple[str, ...]:
    """Every event type with a published schema, sorted."""
    return tuple(
        sorted(
            resource.name.removesuffix(".json")
            for resource in (CONTRACTS / "events").iterdir()
            if resource.name.endswith(".json")
        )
    )
