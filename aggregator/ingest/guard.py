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
    """False for loopback, private, link-local, multicast, reserved and unspecified."""
    ip = _ip(address)
    return ip.is_global and not ip.is_multicast


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
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
