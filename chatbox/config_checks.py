"""Checks on configured values that settings and the features reading URLs share: placeholders and endpoints."""

from __future__ import annotations

import ipaddress
import re

from chatbox.errors import SettingsError

PLACEHOLDER_MARKERS = ("REPLACE_WITH", "PLACEHOLDER", "CHANGE-ME", "CHANGE_ME", "YOUR-")
_INTERNAL_SUFFIXES = (".local", ".internal", ".svc", ".cluster.local")


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is an example left in place (``REPLACE_WITH_…``, ``CHANGE-ME``, …)."""
    upper = value.upper()
    return any(marker in upper for marker in PLACEHOLDER_MARKERS)


def check_endpoint(label: str, endpoint: str) -> None:
    """Allow https anywhere, http only for internal hosts (loopback, private IPs, dotless or cluster names)."""
    match = re.fullmatch(r"(https?)://(\[[^\]]+\]|[^/:]+)(:\d+)?(/.*)?", endpoint)
    if not match:
        raise SettingsError(f"{label}: endpoint {endpoint!r} is not an http(s) URL with a host")
    scheme, host = match.group(1), match.group(2).strip("[]")
    if scheme == "https":
        return
    try:
        internal = ipaddress.ip_address(host).is_private or ipaddress.ip_address(host).is_loopback
    except ValueError:
        internal = "." not in host or host.endswith(_INTERNAL_SUFFIXES) or host == "localhost"
    if not internal:
        raise SettingsError(f"{label}: endpoint must use https (http is allowed only for internal hosts): {endpoint}")
