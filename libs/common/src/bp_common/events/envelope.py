"""CloudEvents 1.0 envelope, and its Kafka binary-mode form (``ce_*`` headers, data as value)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

SPEC_VERSION = "1.0"
JSON = "application/json"
KafkaHeaders = list[tuple[str, bytes]]


class MalformedEvent(ValueError):
    """A message that cannot be read as a CloudEvent: it goes to the dead-letter topic."""


@dataclass(frozen=True, slots=True)
class CloudEvent:
    type: str
    source: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    specversion: str = SPEC_VERSION
    datacontenttype: str = JSON
    # Extension attribute: the request that caused the event, for tracing across services.
    requestid: str | None = None
    # Extension attribute: the principal (API key) whose request caused the event; absent when
    # another event caused it.
    actor: str | None = None
    # The URL of the JSON Schema of ``data`` (contracts/events/<type>.json).
    dataschema: str | None = None
    # Partitioning extension: the aggregate id, the Kafka key. The subject names the record the
    # event is about, which may be a part of the aggregate (an intervention of a meeting).
    partitionkey: str | None = None
    # Distributed-tracing extension: the W3C trace context of the work that wrote the event
    # (stored in the outbox), then of the relay's producer span (sent as Kafka headers).
    traceparent: str | None = None
    tracestate: str | None = None

    @property
    def topic(self) -> str:
        """``plan.activity.hosted.v1`` is published on ``plan.events``."""
        return topic_for_type(self.type)

    @property
    def key(self) -> bytes:
        """The aggregate id: one aggregate's events stay in order in one partition."""
        return (self.subject if self.partitionkey is None else self.partitionkey).encode()

    def to_kafka(self) -> tuple[bytes, bytes, KafkaHeaders]:
        headers: KafkaHeaders = [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("content-type", self.datacontenttype.encode()),
        ]
        if self.dataschema:
            headers.append(("ce_dataschema", self.dataschema.encode()))
        if self.requestid:
            headers.append(("ce_requestid", self.requestid.encode()))
        if self.actor:
            headers.append(("ce_actor", self.actor.encode()))
        # W3C names, as every Kafka tracing client reads them (not ce_-prefixed).
        if self.traceparent:
            headers.append(("traceparent", self.traceparent.encode()))
        if self.tracestate:
            headers.append(("tracestate", self.tracestate.encode()))
        return self.key, orjson.dumps(self.data), headers

    @classmethod
    def from_kafka(
        cls, value: bytes | None, headers: KafkaHeaders, key: bytes | None = None
    ) -> CloudEvent:
        attrs = {name: raw.decode("utf-8", "replace") for name, raw in headers}
        try:
            data = orjson.loads(value) if value else {}
            if not isinstance(data, dict):
                raise MalformedEvent("event data is not a JSON object")
            return cls(
                type=attrs["ce_type"],
                source=attrs["ce_source"],
                subject=attrs.get("ce_subject", ""),
                data=data,
                id=attrs["ce_id"],
                time=datetime.fromisoformat(attrs["ce_time"]),
                specversion=attrs["ce_specversion"],
                datacontenttype=attrs.get("content-type", JSON),
                requestid=attrs.get("ce_requestid"),
                actor=attrs.get("ce_actor"),
                dataschema=attrs.get("ce_dataschema"),
                partitionkey=key.decode("utf-8", "replace") if key is not None else None,
                traceparent=attrs.get("traceparent"),
                tracestate=attrs.get("tracestate"),
            )
        except MalformedEvent:
            raise
        except (KeyError, ValueError, orjson.JSONDecodeError) as exc:
            raise MalformedEvent(f"not a CloudEvent in binary mode: {exc!r}") from exc

    def to_json(self) -> dict[str, Any]:
        """Structured form (outbox storage, logs, exports)."""
        return {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": self.datacontenttype,
            "requestid": self.requestid,
            "actor": self.actor,
            "dataschema": self.dataschema,
            "partitionkey": self.partitionkey,
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
            "data": self.data,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CloudEvent:
        return cls(
            type=body["type"],
            source=body["source"],
            subject=body["subject"],
            data=body["data"],
            id=body["id"],
            time=datetime.fromisoformat(body["time"]),
            specversion=body.get("specversion", SPEC_VERSION),
            datacontenttype=body.get("datacontenttype", JSON),
            requestid=body.get("requestid"),
            actor=body.get("actor"),
            dataschema=body.get("dataschema"),
            # Rows written before the key was its own attribute were keyed by their subject.
            partitionkey=body.get("partitionkey"),
            traceparent=body.get("traceparent"),
            tracestate=body.get("tracestate"),
        )


def topic_for_type(event_type: str) -> str:
    return event_type.split(".", 1)[0] + ".events"


def dead_letter_topic(topic: str) -> str:
    return topic + ".dlq"
