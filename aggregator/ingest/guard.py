"""The SSRF guard: fetches reach public addresses only, unless the operator allows more.

A feed URL is untrusted input, and so is every redirect a server answers with: either could
point the poller at the machine it runs on (127.0.0.1, [::1]) or at its network (10.0.0.0/8,
a cloud's metadata service at 169.254.169.254). Names are checked when they are resolved,
at connect time (`GuardedResolver`), so a name that changes its answer between a check and
the connection gains nothing; literal addresses never reach a resolver and are checked
before the request is sent (`refuse_private_literal`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from aggregator.errors import BlockedAddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified; an
    IPv6 address that carries an IPv4 one is judged by the IPv4 address it carries."""
    ip = _ip(address)
    # `is_global` alone lets by IPv6's reserved ::/8, where the deprecated and translated
    # forms of IPv4 addresses live.
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


# IPv6 forms that end at the IPv4 address in their last 32 bits: a host or a gateway on the
# way delivers them there, so [64:ff9b::127.0.0.1] is as much 127.0.0.1 as [::ffff:127.0.0.1].
_IPV4_IN_LAST_32_BITS = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in (
        "::ffff:0:0/96",  # IPv4-mapped (RFC 4291 §2.5.5.2)
        "::/96",  # IPv4-compatible, deprecated (RFC 4291 §2.5.5.1)
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765 §2.1)
        "64:ff9b::/96",  # NAT64's well-known prefix (RFC 6052 §2.1)
    )
)
# In ::/96 but IPv6's own: the unspecified address and loopback.
_IPV6_ITSELF = (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1"))


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not isinstance(ip, ipaddress.IPv6Address) or ip in _IPV6_ITSELF:
        return ip
    if ip.sixtofour is not None:  # 6to4 (RFC 3056): the IPv4 address follows 2002::/16
        return ip.sixtofour
    if any(ip in network for network in _IPV4_IN_LAST_32_BITS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return ip


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


class AddressGuard:
    """The SSRF rule: public addresses, plus any network the operator allowed explicitly."""

    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        self.allowed = parse_networks(allowed_networks)

    def permits(self, address: str) -> bool:
        if is_public_address(address):
            return True
        ip = _ip(address)
        return any(ip in network for network in self.allowed)


class GuardedResolver(AbstractResolver):
    """Resolves names, then refuses any address the guard forbids (the SSRF check happens
    here, at connect time, so a name that changes its answer between checks gains nothing)."""

    def __init__(self, guard: AddressGuard) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        allowed = [a for a in answers if self._guard.permits(a["host"])]
        if not allowed:
            raise BlockedAddress(
                f"{host} resolves to a private or reserved address "
                f"({answers[0]['host'] if answers else 'none'}); "
                "set BIOWIRE_ALLOW_PRIVATE_NETWORKS=1 to allow it"
            )
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def refuse_private_literal(guard: AddressGuard, host: str) -> None:
    """Literal IP hosts never reach the resolver, so they are checked before sending."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    if not guard.permits(host):
        raise BlockedAddress(
            f"{host} is a private or reserved address; "
            "set BIOWIRE_ALLOW_PRIVATE_NETWORKS=1 to allow it"
        )
