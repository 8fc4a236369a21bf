"""The SSRF guard, with real resolution (literal IPs and ``localhost``) and no server."""

from __future__ import annotations

import ipaddress
import re

import pytest

from cognition.errors import BlockedAddress, BlockedUrl
from ingest.web.guard import AddressGuard, GuardedResolver, refusal
from ingest.web.urls import in_scope, normalize


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("172.16.3.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.10.10", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.64.0.1", "a shared (CGNAT) address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("0.0.0.0", "an unspecified address"),
        ("::ffff:10.0.0.5", "a private address (IPv6 form of 10.0.0.5)"),
        ("::ffff:127.0.0.1", "a loopback address (IPv6 form of 127.0.0.1)"),
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address (IPv6 form of 169.254.169.254)"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_addresses_that_are_not_public_are_refused_with_their_kind(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


async def test_literal_ips_and_localhost_are_blocked_by_default() -> None:
    guard = AddressGuard()

    with pytest.raises(
        BlockedAddress,
        match=re.escape(
            "blocked: 10.0.0.5 is a private address (allow it with COGNITION_CRAWL__ALLOW_NETWORKS)"
        ),
    ):
        guard.check_url("http://10.0.0.5/admin")
    with pytest.raises(BlockedAddress, match=re.escape("169.254.169.254 is a cloud metadata address")):
        await guard.resolve("169.254.169.254", 80)
    with pytest.raises(BlockedAddress, match="is a loopback address"):
        await guard.resolve("localhost", 80)
    with pytest.raises(BlockedAddress, match="is a loopback address"):
        await guard.resolve("127.1", 80)  # a legacy spelling of 127.0.0.1, resolved by the system


async def test_an_allowlisted_network_is_reached_and_nothing_else() -> None:
    guard = AddressGuard(["127.0.0.0/8", "::1/128"])

    assert ipaddress.ip_address("127.0.0.1") in await guard.resolve("localhost", 80)
    assert await guard.resolve("127.0.0.1", 80) == [ipaddress.ip_address("127.0.0.1")]
    guard.check_url("http://[::ffff:127.0.0.1]:8000/")  # the IPv6 form of an allowed address
    with pytest.raises(BlockedAddress, match=re.escape("10.0.0.5 is a private address")):
        guard.check_url("http://10.0.0.5/")


async def test_a_name_is_refused_if_any_of_its_addresses_is_refused() -> None:
    only_v4 = AddressGuard(["127.0.0.1/32"])
    resolved = await AddressGuard(["127.0.0.0/8", "::1/128"]).resolve("localhost", 80)

    if any(a.version == 6 for a in resolved):  # localhost is also ::1 on this machine
        with pytest.raises(BlockedAddress, match="::1 is a loopback address"):
            await only_v4.resolve("localhost", 80)
    else:
        assert await only_v4.resolve("localhost", 80) == resolved


async def test_the_resolver_hands_the_connector_only_checked_numeric_addresses() -> None:
    resolver = GuardedResolver(AddressGuard(["127.0.0.0/8"]))

    found = await resolver.resolve("127.0.0.1", 8080)
    with pytest.raises(BlockedAddress):
        await GuardedResolver(AddressGuard()).resolve("localhost", 8080)

    assert [(r["host"], r["port"]) for r in found] == [("127.0.0.1", 8080)]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/", "http:///nohost"])
def test_only_http_and_https_urls_with_a_host_are_crawled(url: str) -> None:
    with pytest.raises(BlockedUrl, match=r"^blocked: "):
        AddressGuard(["0.0.0.0/0"]).check_url(url)


def test_urls_are_normalised_and_scoped() -> None:
    sites = ["http://docs.example.com"]

    assert normalize("HTTP://Docs.Example.com:80/a/b?x=1#part") == "http://docs.example.com/a/b?x=1"
    assert normalize("https://user:pw@example.com:443") == "https://example.com/"
    assert in_scope("http://docs.example.com/api/", sites, [], [], same_site=True)
    assert not in_scope("http://docs.example.com:8080/", sites, [], [], same_site=True)
    assert not in_scope("https://docs.example.com/", sites, [], [], same_site=True)
    assert in_scope("https://other.org/", sites, [], [], same_site=False)
    assert not in_scope("http://docs.example.com/old/x", sites, [], ["*/old/*"], same_site=True)
    assert not in_scope("http://docs.example.com/blog/", sites, ["*/api/*"], [], same_site=True)
