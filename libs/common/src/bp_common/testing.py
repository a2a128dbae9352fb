"""Helpers for the services' tests: a running app with a client, gateway-signed identities,
the If-Match of a correction, waiting for events to travel through the in-process bus, and
removing a Kafka namespace or a database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupIdNotFound, UnknownTopicOrPartitionError
from aiokafka.protocol.admin import DeleteGroupsRequest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import IDENTITY_HEADER, Identity, IdentityAlgorithm, Role, sign_identity
from bp_common.settings import DEV_IDENTITY_SECRET

logger = logging.getLogger(__name__)

# A test reaches a service directly, as the gateway would; the gateway itself only ever names
# the one service it forwards to (each service accepts a token whose audience names it).
EVERY_SERVICE = ("meetings-api", "plan-api", "indicators-api", "notifications-api")


class IdentityHeaders(Mapping[str, str]):
    """Request headers carrying a gateway-signed identity that is signed afresh each time the
    headers are read, that is when httpx builds each request. A module-level ``SECRETARIAT =
    identity_headers(...)`` therefore never holds a token that expires while the suite runs."""

    def __init__(
        self,
        identity: Identity,
        secret: str,
        extra: Mapping[str, str] | None = None,
        *,
        audience: str | Sequence[str] = EVERY_SERVICE,
    ) -> None:
        self._identity = identity
        self._secret = secret
        self._extra = dict(extra or {})
        self._audience = audience

    def __getitem__(self, name: str) -> str:
        if name == IDENTITY_HEADER:
            return sign_identity(self._identity, self._secret, audience=self._audience)
        return self._extra[name]

    def __iter__(self) -> Iterator[str]:
        yield IDENTITY_HEADER
        yield from (name for name in self._extra if name != IDENTITY_HEADER)

    def __len__(self) -> int:
        return 1 + sum(1 for name in self._extra if name != IDENTITY_HEADER)

    def __or__(self, other: Mapping[str, str]) -> IdentityHeaders:
        return IdentityHeaders(
            self._identity, self._secret, {**self._extra, **other}, audience=self._audience
        )


def identity_headers(
    role: Role = Role.SECRETARIAT,
    *,
    organisation: str | None = None,
    country: str | None = None,
    secret: str = DEV_IDENTITY_SECRET,
    audience: str | Sequence[str] = EVERY_SERVICE,
) -> IdentityHeaders:
    """Headers as the gateway forwards them for a caller of ``role``, signed at each request."""
    identity = Identity(
        principal=f"test-{role.value}", role=role, organisation=organisation, country=country
    )
    return IdentityHeaders(identity, secret, audience=audience)


def identity_key_pair(
    algorithm: IdentityAlgorithm = IdentityAlgorithm.EDDSA,
) -> tuple[str, str]:
    """A fresh (private, public) PEM key pair for identities signed with ``algorithm``."""
    private = (
        Ed25519PrivateKey.generate()
        if algorithm is IdentityAlgorithm.EDDSA
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    return (
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )


@contextlib.asynccontextmanager
async def running(app: FastAPI, base_url: str = "http://test") -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan entered, and a client talking to it in-process."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client,
    ):
        yield client


async def current_if_match(
    client: httpx.AsyncClient, path: str, headers: Mapping[str, str]
) -> dict[str, str]:
    """The ``If-Match`` of a correction made against the record at ``path`` as it now is: its
    ``ETag``, read with ``headers``. A query on ``path`` (a withdrawal's ``?reason=``) is no part
    of the record's address, so it is left out of the read."""
    response = await client.get(path.split("?")[0], headers=headers)
    assert response.status_code == 200, f"GET {path}: {response.text}"
    return {"If-Match": response.headers["ETag"]}


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within_s: float = 30.0, every_s: float = 0.02
) -> None:
    """Wait until ``check()`` holds: effects that travel through the bus arrive asynchronously."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within_s}s")
        await asyncio.sleep(every_s)


async def deliver(bus: InMemoryBus, *events: CloudEvent) -> None:
    """Publish ``events`` as another service would, and wait until every consumer handled them."""
    await bus.publish(events)
    await bus.wait_idle()


async def settle(app: FastAPI, bus: InMemoryBus) -> None:
    """Wait until what ``app`` committed to its outbox is published and every consumer handled it
    (the relay publishes after the commit, so a response comes before its events)."""
    relay = app.state.runtime.relay

    async def outbox_empty() -> bool:
        return bool(await relay.pending_count() == 0)

    await eventually(outbox_empty)
    await bus.wait_idle()


async def drop_database(admin: asyncpg.Connection, name: str, *, within_s: float = 30.0) -> None:
    """``DROP DATABASE ... WITH (FORCE)``: the connections still open on it are ended. PostgreSQL
    15 refuses to end an autovacuum worker it finds there ("must be a member of the role whose
    process is being terminated"); the worker is done in moments, so the drop is tried again."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def delete_namespace(
    bootstrap_servers: str, namespace: str, *, timeout_s: float = 30.0
) -> None:
    """Delete what a test or benchmark namespace left on the broker: every topic (``<topic>``
    and ``<topic>.dlq``) and consumer group whose name starts with ``namespace``. Left there,
    they pile up by the hundred and slow every restart and rebalance of the broker.

    Never raises for the broker: one that is down or does not answer within ``timeout_s`` is a
    warning in the log, since a test that killed it must still tear down. An empty namespace is
    refused (ValueError): its prefix is every topic on the broker."""
    if not namespace.strip():
        raise ValueError("refusing to delete an empty Kafka namespace: that is every topic")
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        async with asyncio.timeout(timeout_s):
            await admin.start()
            await _delete_topics(admin, namespace)
            await _delete_groups(admin, namespace)
    except Exception as exc:
        logger.warning(
            "could not delete Kafka namespace %r at %s: %r", namespace, bootstrap_servers, exc
        )
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), 5)


def _in_namespace(name: str, namespace: str) -> bool:
    # Internal topics (__consumer_offsets, ...) are never a namespace's, whatever its prefix.
    return name.startswith(namespace) and not name.startswith("__")


async def _delete_topics(admin: AIOKafkaAdminClient, namespace: str) -> None:
    topics = sorted(t for t in await admin.list_topics() if _in_namespace(t, namespace))
    if not topics:
        return
    response = await admin.delete_topics(topics)
    _warn_refused("topics", response.topic_error_codes, UnknownTopicOrPartitionError.errno)


async def _delete_groups(admin: AIOKafkaAdminClient, namespace: str) -> None:
    listed = await admin.list_consumer_groups()
    groups = sorted({group[0] for group in listed if _in_namespace(group[0], namespace)})
    by_coordinator: dict[int, list[str]] = {}
    for group in groups:
        by_coordinator.setdefault(await admin.find_coordinator(group), []).append(group)
    for node_id, names in by_coordinator.items():
        # aiokafka 0.14's admin client has no delete_consumer_groups: the request goes to the
        # groups' coordinator, as its other group requests do.
        response = await admin._send_request(DeleteGroupsRequest(names), node_id)
        _warn_refused("consumer groups", response.results, GroupIdNotFound.errno)


def _warn_refused(what: str, results: Iterable[tuple[str, int]], already_gone: int) -> None:
    refused = {name: code for name, code in results if code not in (0, already_gone)}
    if refused:
        logger.warning("Kafka refused to delete %s (name: error code): %s", what, refused)
