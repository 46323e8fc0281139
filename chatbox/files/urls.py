"""The Go service's rule for file URLs someone else hosts: https, a host, and no private address (SSRF guard)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlparse

from chatbox.chat.protocol import ProtocolError

# NAT64 prefixes (RFC 6052, RFC 8215): the last 32 bits are an IPv4 address the gateway will reach.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def unwrap(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo client), else the address itself."""
    if address.version == 4:
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return address


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Reachable on the public internet by ipaddress' own categories (so 100.64/10, ::, fe80::/10, multicast and
    reserved ranges are out), judged on the unwrapped address."""
    inner = unwrap(address)
    return inner.is_global and not inner.is_multicast and address.is_global


def check_external_url(url: str) -> None:
    """Raise ProtocolError(INVALID_FORMAT, "Invalid file URL") unless ``url`` is https to a public host.

    Hostnames are resolved and refused if any address is private; a failed lookup is tolerated, as in the Go
    service (the URL is never fetched by us).
    """
    bad = ProtocolError("INVALID_FORMAT", "Invalid file URL")
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.hostname:
        raise bad
    try:
        addresses = [ipaddress.ip_address(parsed.hostname)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(parsed.hostname, None)]
        except OSError:
            addresses = []
    if not all(is_public(address) for address in addresses):
        raise bad
