"""The Go service's rule for file URLs someone else hosts: https, a host, and no private address (SSRF guard)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlparse

from chatbox.chat.protocol import ProtocolError

_PRIVATE = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "0.0.0.0/8",
    )
]


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
    if any(address in net for address in addresses for net in _PRIVATE if address.version == net.version):
        raise bad
