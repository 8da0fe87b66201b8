"""The SSRF guard over every spelling of a forbidden address, on the real fetch path.

Each host below is the machine the tests run on, or a private network, written another
way: a shorthand or a different base for an IPv4 address, an IPv6 form that carries one, a
name that resolves to loopback. With the guard on (`allow_private_networks=False`), a feed
URL or a redirect naming one must end in a `FetchError` that says why, and the server
listening there must see no request. With the guard off, the loopback spellings reach
that server: the proof that it would have seen a request the guard let by.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator

import pytest

from aggregator.errors import BlockedAddress, FetchError
from aggregator.ingest.fetch import ClientOptions, FetchLimits, FetchResult, build_client
from aggregator.ingest.fetch import fetch_feed as fetch_with
from aggregator.ingest.guard import AddressGuard, GuardedResolver, is_public_address
from tests.fixtures.feeds import BIOMETRIC_ITEMS, rss
from tests.fixtures.required import REQUIRE_IPV6, unavailable
from tests.fixtures.servers import LoopbackServer, redirect, serve

LITERAL = "{} is a private or reserved address; set BIOWIRE_ALLOW_PRIVATE_NETWORKS=1"
RESOLVED = "{} resolves to a private or reserved address (127.0.0.1)"
# aiohttp requests no host that looks like an IPv4 address but is not written as four
# decimal numbers (getaddrinfo would read 127.1 as 127.0.0.1); with or without the guard.
SHORTHAND = "not a valid URL: {} - is not a canonical IPv4 address"

# (host as written in the URL, the refusal's message, which loopback server the URL reaches
# with the guard off: "ipv4" for 127.0.0.1, "ipv6" for ::1, None where it reaches nothing
# here: a network this machine is not on, or a form it does not route.)
FORMS = [
    pytest.param("0.0.0.0", LITERAL.format("0.0.0.0"), "ipv4", id="unspecified"),
    pytest.param("[::]", LITERAL.format("::"), "ipv6", id="ipv6-unspecified"),
    pytest.param("[::1]", LITERAL.format("::1"), "ipv6", id="ipv6-loopback"),
    pytest.param("[0:0:0:0:0:0:0:1]", LITERAL.format("0:0:0:0:0:0:0:1"), "ipv6",
                 id="ipv6-loopback-in-full"),
    pytest.param("[::ffff:127.0.0.1]", LITERAL.format("::ffff:127.0.0.1"), "ipv4",
                 id="ipv4-mapped"),
    pytest.param("[::ffff:7f00:1]", LITERAL.format("::ffff:7f00:1"), "ipv4",
                 id="ipv4-mapped-in-hex"),
    pytest.param("[::127.0.0.1]", LITERAL.format("::127.0.0.1"), None, id="ipv4-compatible"),
    pytest.param("[::ffff:0:127.0.0.1]", LITERAL.format("::ffff:0:127.0.0.1"), None,
                 id="ipv4-translated"),
    pytest.param("[64:ff9b::127.0.0.1]", LITERAL.format("64:ff9b::127.0.0.1"), None,
                 id="nat64"),
    pytest.param("[64:ff9b::a9fe:a9fe]", LITERAL.format("64:ff9b::a9fe:a9fe"), None,
                 id="nat64-metadata"),
    pytest.param("[2002:7f00:1::]", LITERAL.format("2002:7f00:1::"), None, id="6to4"),
    pytest.param("127.1", SHORTHAND.format("127.1"), None, id="two-part"),
    pytest.param("127.0.1", SHORTHAND.format("127.0.1"), None, id="three-part"),
    pytest.param("2130706433", SHORTHAND.format("2130706433"), None, id="decimal"),
    pytest.param("017700000001", SHORTHAND.format("017700000001"), None, id="octal"),
    pytest.param("0177.1", SHORTHAND.format("0177.1"), None, id="octal-two-part"),
    pytest.param("0177.0.0.1", "not a valid URL: Invalid IPv4 address: '0177.0.0.1'", None,
                 id="octal-dotted"),
    pytest.param("0x7f000001", RESOLVED.format("0x7f000001"), "ipv4", id="hex"),
    pytest.param("0x7f.1", RESOLVED.format("0x7f.1"), "ipv4", id="hex-two-part"),
    pytest.param("localhost", RESOLVED.format("localhost"), "ipv4", id="localhost"),
    pytest.param("LocalHost", RESOLVED.format("localhost"), "ipv4", id="localhost-capitals"),
    pytest.param("169.254.169.254", LITERAL.format("169.254.169.254"), None,
                 id="cloud-metadata"),
    pytest.param("10.0.0.1", LITERAL.format("10.0.0.1"), None, id="private-10"),
    pytest.param("172.16.0.1", LITERAL.format("172.16.0.1"), None, id="private-172-16"),
    pytest.param("192.168.1.1", LITERAL.format("192.168.1.1"), None, id="private-192-168"),
    pytest.param("100.64.0.1", LITERAL.format("100.64.0.1"), None, id="carrier-grade-nat"),
    pytest.param("[fe80::1]", LITERAL.format("fe80::1"), None, id="ipv6-link-local"),
    pytest.param("[fe80::1%25lo]", LITERAL.format("fe80::1%25lo"), None,
                 id="ipv6-link-local-with-zone"),
    pytest.param("[fc00::1]", LITERAL.format("fc00::1"), None, id="ipv6-unique-local"),
]  # fmt: skip

# The redirecting server's address, which the operator has allowed (as an intranet feed
# server may be): the guard is on, and only the redirect's target is forbidden.
ALLOWED_HOST = "127.0.0.2"


@pytest.fixture
def ipv4_server() -> Iterator[LoopbackServer]:
    with LoopbackServer("127.0.0.1", fallback=serve(rss(BIOMETRIC_ITEMS))) as server:
        yield server


@pytest.fixture
def ipv6_server() -> Iterator[LoopbackServer]:
    try:
        server = LoopbackServer("::1", fallback=serve(rss(BIOMETRIC_ITEMS)))
    except OSError as error:
        unavailable(f"no IPv6 loopback to listen on: {error}", REQUIRE_IPV6)
    with server:
        yield server


@pytest.fixture
def redirecting_server() -> Iterator[LoopbackServer]:
    with LoopbackServer(ALLOWED_HOST) as server:
        yield server


def fetch(url: str, guard: bool = True) -> FetchResult:
    async def go() -> FetchResult:
        client = build_client(
            ClientOptions(allow_private_networks=not guard, allowed_networks=(ALLOWED_HOST,))
        )
        try:
            return await fetch_with(client, url, FetchLimits(total_timeout=5, connect_timeout=2))
        finally:
            await client.aclose()

    return asyncio.run(go())


def target_server(request: pytest.FixtureRequest, reaches: str | None) -> LoopbackServer:
    """The server a form reaches unguarded; for forms that reach none, a server the test
    still watches (its port is as good as any other)."""
    return request.getfixturevalue("ipv6_server" if reaches == "ipv6" else "ipv4_server")


@pytest.mark.parametrize("by_redirect", [False, True], ids=["feed-url", "redirect"])
@pytest.mark.parametrize(("host", "refusal", "reaches"), FORMS)
def test_every_spelling_of_a_forbidden_address_is_refused(
    request: pytest.FixtureRequest,
    redirecting_server: LoopbackServer,
    host: str,
    refusal: str,
    reaches: str | None,
    by_redirect: bool,
) -> None:
    target = target_server(request, reaches)
    forbidden_url = f"http://{host}:{target.port}/internal"
    redirecting_server.routes["/jump"] = redirect(302, forbidden_url)

    with pytest.raises(FetchError) as refused:
        fetch(redirecting_server.url("/jump") if by_redirect else forbidden_url)

    assert refusal in str(refused.value)
    assert target.requests == []
    # The redirect was followed as far as the forbidden hop, and no further.
    assert redirecting_server.hits("/jump") == (1 if by_redirect else 0)


@pytest.mark.parametrize(
    ("host", "refusal", "reaches"), [form for form in FORMS if form.values[2] is not None]
)
def test_with_the_guard_off_the_same_spellings_reach_the_server(
    request: pytest.FixtureRequest, host: str, refusal: str, reaches: str
) -> None:
    target = target_server(request, reaches)

    result = fetch(f"http://{host}:{target.port}/internal", guard=False)

    assert result.status == 200
    assert [r.path for r in target.requests] == ["/internal"]


def test_a_name_with_a_trailing_dot_is_refused_or_never_resolved(
    ipv4_server: LoopbackServer, redirecting_server: LoopbackServer
) -> None:
    """`localhost.` is localhost's fully qualified spelling: a guard that compared names
    would let it by. This one judges what a name resolves to, so where the system resolver
    knows the dotted name, its loopback answer is refused; where it does not (glibc looks
    names up in /etc/hosts without the dot, and there may be no DNS), the fetch fails
    before any connection is made. Either way the server sees nothing."""
    try:
        socket.getaddrinfo("localhost.", ipv4_server.port, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        refusal = r"could not connect: .*localhost\.:\d+"
    else:
        refusal = r"localhost\. resolves to a private or reserved address"
    forbidden_url = ipv4_server.url("/internal", host="localhost.")
    redirecting_server.routes["/jump"] = redirect(302, forbidden_url)

    for url in (forbidden_url, redirecting_server.url("/jump")):
        with pytest.raises(FetchError, match=refusal):
            fetch(url)

    assert ipv4_server.requests == []
    assert redirecting_server.hits("/jump") == 1


def resolve(host: str, allowed_networks: tuple[str, ...] = ()) -> list[str]:
    async def go() -> list[str]:
        resolver = GuardedResolver(AddressGuard(allowed_networks))
        try:
            return [answer["host"] for answer in await resolver.resolve(host, 80)]
        finally:
            await resolver.close()

    return asyncio.run(go())


def test_the_resolver_refuses_a_name_whose_every_address_is_private() -> None:
    with pytest.raises(BlockedAddress, match=re.escape(RESOLVED.format("localhost"))):
        resolve("localhost")
    # The same name, once its network is allowed: the refusal was the guard's.
    assert resolve("localhost", allowed_networks=("127.0.0.0/8",)) == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        # Judged by the IPv4 address they carry: NAT64 is how an IPv6-only host reaches
        # an IPv4-only feed, so public addresses must pass in every form.
        ("::ffff:93.184.215.14", True),
        ("64:ff9b::93.184.215.14", True),
        ("2002:5db8:d70e::1", True),  # 6to4
        ("127.0.0.1", False),
        ("127.255.255.254", False),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("172.31.255.255", False),
        ("192.168.0.1", False),
        ("198.18.0.1", False),  # benchmarking
        ("224.0.0.251", False),  # multicast
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("::", False),
        ("::1", False),
        ("::ffff:10.0.0.1", False),
        ("::10.0.0.1", False),
        ("::ffff:0:10.0.0.1", False),
        ("64:ff9b::10.0.0.1", False),
        ("64:ff9b:1::a00:1", False),  # NAT64's local-use prefix
        ("2002:a00:1::", False),
        ("::1:0:0:1", False),  # the rest of IPv6's reserved ::/8
        ("fc00::1", False),
        ("fe80::1%eth0", False),
        ("ff02::1", False),  # multicast
        ("2001:db8::1", False),  # documentation
    ],
    ids=lambda value: str(value),
)
def test_public_addresses_are_told_from_the_rest(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    ("allowed", "address", "permitted"),
    [
        ("10.0.0.0/8", "10.1.2.3", True),
        ("10.0.0.0/8", "::ffff:10.1.2.3", True),  # the same host, however it is written
        ("10.0.0.0/8", "11.0.0.1", True),  # public anyway
        ("10.0.0.0/8", "192.168.0.1", False),
        ("10.0.0.0/8", "127.0.0.1", False),
        ("::1/128", "::1", True),  # ::1 is IPv6's own loopback, not an IPv4 address
        ("fd00::/8", "fd12::1", True),
        ("fd00::/8", "fe80::1", False),
    ],
    ids=lambda value: str(value),
)
def test_allowed_networks_open_only_themselves(allowed: str, address: str, permitted: bool) -> None:
    assert AddressGuard([allowed]).permits(address) is permitted
