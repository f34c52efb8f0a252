"""Where a webhook may be sent: an http(s) URL whose host resolves only to public addresses,
unless LOYALTY_WEBHOOK_ALLOW_NETWORKS lists the network (tests allow loopback). Checked when an
endpoint is saved and again before every pass sends to it (DNS can change)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

__all__ = ["Address", "Network", "TargetRefused", "check_target", "check_url_shape"]

Network = IPv4Network | IPv6Network


class TargetRefused(Exception):
    """The URL may not be sent to; the message says why."""


def check_url_shape(url: str) -> tuple[str, int]:
    """(host, port) of an http or https URL with a host; TargetRefused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("the scheme must be http or https")
    if not parts.hostname:
        raise TargetRefused("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("credentials in the URL are not allowed (sign with the secret)")
    if parts.fragment:
        raise TargetRefused("a URL fragment is not sent; remove it")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _refusal(address: IPv4Address | IPv6Address) -> str | None:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for test, name in (
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_private, "private"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_reserved, "reserved"),
    ):
        if test:
            return name
    return None


Address = IPv4Address | IPv6Address


async def check_target(url: str, allowed: Sequence[Network]) -> list[Address]:
    """The addresses a URL's host resolves to, every one of them checked: TargetRefused for a
    URL that is malformed, does not resolve, or resolves to a loopback, link-local, private or
    otherwise non-public address outside `allowed`. A sender connects to these, not to a
    second resolution (which DNS could answer differently)."""
    host, port = check_url_shape(url)
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addresses: list[Address] = [literal]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=5
            )
        except (OSError, ValueError, TimeoutError) as exc:  # UnicodeError is a ValueError
            raise TargetRefused(f"the host {host!r} does not resolve ({exc})") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        kind = _refusal(address)
        if kind and not any(address in network for network in allowed):
            raise TargetRefused(
                f"the host {host!r} resolves to {address}, a {kind} address "
                "(allowed only when LOYALTY_WEBHOOK_ALLOW_NETWORKS lists its network)"
            )
    return list(dict.fromkeys(addresses))  # getaddrinfo repeats an address per protocol
