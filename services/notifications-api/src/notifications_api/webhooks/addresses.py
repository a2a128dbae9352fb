"""Where webhooks may be sent: https URLs whose host resolves to public addresses only.

The form (and a literal address) is checked when an endpoint is registered; a host name is
resolved at each delivery and the call goes to the address checked, so a name re-pointed at an
internal address (DNS rebinding) is refused then."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Cloud metadata services, beside the link-local 169.254.169.254 already refused.
_METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


class UnsafeAddress(ValueError):
    """The URL or its host's address is not one webhooks may be sent to."""


@dataclass(frozen=True)
class UrlPolicy:
    allow_http: bool = False
    allow_private: bool = False


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to."""

    url: str
    host: str
    address: str


def check_form(url: str, policy: UrlPolicy) -> str:
    """``url`` if it may be registered: an absolute https (or, in development, http) URL with a
    host, no credentials, and, when the host is an address, an allowed one."""
    if len(url) > 2000:
        raise UnsafeAddress("the URL is longer than 2000 characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError as exc:
        raise UnsafeAddress(f"not a URL: {exc}") from exc
    schemes = {"https", "http"} if policy.allow_http else {"https"}
    if parts.scheme not in schemes:
        raise UnsafeAddress(
            "the URL must be https" if not policy.allow_http else "not an http(s) URL"
        )
    if not parts.hostname:
        raise UnsafeAddress("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeAddress("the URL must not carry credentials")
    if parts.fragment:
        raise UnsafeAddress("the URL must not have a fragment")
    literal = _literal_address(parts.hostname)
    if literal is not None:
        _check_address(literal, policy)
    return url


async def resolve(url: str, policy: UrlPolicy) -> Target:
    """Where to send to ``url`` now; raises UnsafeAddress if any address of its host is refused."""
    check_form(url, policy)
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = _literal_address(host)
    if literal is not None:
        return Target(url, host, str(literal))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeAddress(f"the host {host} does not resolve: {exc}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise UnsafeAddress(f"the host {host} does not resolve")
    for address in addresses:
        _check_address(address, policy)
    return Target(url, host, str(addresses[0]))


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _check_address(address: IPAddress, policy: UrlPolicy) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA or address.is_unspecified or address.is_multicast:
        raise UnsafeAddress(f"{address} is not an address webhooks may be sent to")
    internal = (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or not address.is_global
    )
    if internal and not policy.allow_private:
        raise UnsafeAddress(f"{address} is a loopback, private or link-local address")
