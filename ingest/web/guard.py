"""The SSRF guard: the crawler reaches public addresses only, unless told otherwise.

A URL passes if its scheme is http or https and **every** address its host resolves to is
public, or lies in an allowed network (``COGNITION_CRAWL__ALLOW_NETWORKS``). Refused:
loopback, private (RFC 1918, ULA), link-local, CGNAT (100.64.0.0/10), multicast, reserved,
unspecified, cloud metadata (169.254.169.254, fd00:ec2::254), any other non-global address,
and IPv4-mapped / 6to4 / Teredo / NAT64 IPv6 forms of those.

The check cannot be a pre-flight lookup (a name can resolve to a public address for the
check and a private one for the connection: DNS rebinding). So the resolution that is
checked is the one that is used: ``GuardedResolver`` is the HTTP client's resolver, and it
hands the connector only vetted addresses. A literal IP never reaches a resolver, so the
fetcher checks every URL (each redirect hop too) with ``check_url`` before it connects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from cognition.errors import BlockedAddress, BlockedUrl, FetchFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254"))
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
HINT = "allow it with COGNITION_CRAWL__ALLOW_NETWORKS"


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not public (``"a private address"``), or None if it is."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = refusal(embedded)
        return f"{inner} (IPv6 form of {embedded})" if inner else None
    checks = (
        (address in METADATA, "a cloud metadata address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in CGNAT, "a shared (CGNAT) address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class AddressGuard:
    """Decides which addresses the crawler may connect to."""

    def __init__(self, allow_networks: Sequence[str] = ()) -> None:
        self.allowed: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in allow_networks
        )

    def check_address(self, address: IPAddress) -> None:
        """Raise ``BlockedAddress`` unless ``address`` is public or allowed."""
        plain = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
        if any(a in net for a in (address, plain) if a is not None for net in self.allowed):
            return
        reason = refusal(address)
        if reason is not None:
            raise BlockedAddress(f"blocked: {address} is {reason} ({HINT})")

    def check_url(self, url: str) -> None:
        """Refuse a URL that is not http(s), has no host, or names a refused IP literally."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise BlockedUrl(f"blocked: only http and https URLs are crawled, not {parts.scheme or '?'}:")
        host = parts.hostname
        if not host:
            raise BlockedUrl(f"blocked: {url} has no host")
        literal = _literal(host)
        if literal is not None:
            self.check_address(literal)

    async def resolve(self, host: str, port: int, family: int = socket.AF_UNSPEC) -> list[IPAddress]:
        """Every address ``host`` resolves to, after checking all of them."""
        literal = _literal(host)
        if literal is not None:
            self.check_address(literal)
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchFailed(f"cannot resolve {host}: {exc.strerror}") from exc
        found: dict[IPAddress, None] = {}
        for info in infos:
            found.setdefault(ipaddress.ip_address(str(info[4][0]).split("%")[0]), None)
        for address in found:
            self.check_address(address)
        return list(found)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver: the connector connects only to addresses the guard has checked."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._guard.resolve(host, port, family)
        return [
            ResolveResult(
                hostname=host,
                host=str(a),
                port=port,
                family=socket.AF_INET6 if a.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for a in addresses
        ]

    async def close(self) -> None:
        return None
