"""Rate limits on HTTP routes (cluster-wide through the bus) and the client IP behind trusted proxies."""

from __future__ import annotations

import functools
import ipaddress
import math
import time

from flask import g, jsonify, request

from chatbox import context

RATE_LIMITED = {"error": "rate_limit_exceeded", "message": "Too many requests. Please try again later."}


def client_ip() -> str:
    """The peer address, or the first untrusted X-Forwarded-For hop when the peer is a trusted proxy."""
    peer = request.remote_addr or ""
    settings = context.services().settings
    if not _in(peer, settings.trusted_proxies):
        return peer
    forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if not _in(hop, settings.trusted_proxies):
            return hop
    return request.headers.get("X-Real-IP", "").strip() or peer


def _in(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


def in_networks(address: str, networks: list[str]) -> bool:
    return _in(address, networks)


def _limited(retry: float, with_ms: bool):
    body = dict(RATE_LIMITED)
    if with_ms:
        body["retry_after_ms"] = int(retry * 1000)
    response = jsonify(body)
    response.status_code = 429
    response.headers["Retry-After"] = str(max(math.ceil(retry), 1))
    return response


def public_limit(view):
    """One per-IP budget shared by the public routes (the shared view); never on probes or the scrape."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        services = context.services()
        retry = services.bus.hit("ip:" + client_ip(), services.settings.public_rate_limit, 60.0)
        if retry:
            services.metrics.rate_limited("message")
            return _limited(retry, with_ms=False)
        return view(*args, **kwargs)

    return wrapper


def admin_limit(view):
    """Per-admin limit, checked after authentication (so anonymous requests are never counted)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        services = context.services()
        settings = services.settings
        retry = services.bus.hit("admin:" + g.identity.user_id, settings.admin_rate_limit, settings.admin_rate_window)
        if retry:
            services.metrics.rate_limited("message")
            return _limited(retry, with_ms=True)
        return view(*args, **kwargs)

    return wrapper


class FrameCeiling:
    """The per-socket inbound frame rate, counted per second of ``clock`` (local: a socket lives on one pod).

    ``check`` says what to do with each frame: ``"pass"``; ``"warn"`` (the first frame over ``rate`` in a second:
    answer it with an error frame, do not handle it); ``"drop"`` (later ones that second); ``"close"`` (twice
    ``rate`` in one second, or over it three seconds running: the client is not slowing down).
    """

    STRIKES = 3

    def __init__(self, rate: int, clock=time.monotonic):
        self.rate, self._clock = rate, clock
        self._second, self._count, self._strikes = -1, 0, 0

    def check(self) -> str:
        second = int(self._clock())
        if second != self._second:
            # Strikes count seconds over the rate in a row; a second within it (or skipped) forgives them.
            if not (self._count > self.rate and second == self._second + 1):
                self._strikes = 0
            self._second, self._count = second, 0
        self._count += 1
        if self._count <= self.rate:
            return "pass"
        if self._count == self.rate + 1:
            self._strikes += 1
            return "close" if self._strikes >= self.STRIKES else "warn"
        return "close" if self._count > 2 * self.rate else "drop"

    def retry_after(self) -> float:
        """Seconds until the current second ends (when frames pass again)."""
        return max(self._second + 1 - self._clock(), 0.001)
