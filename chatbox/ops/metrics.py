"""Prometheus metrics with the Go service's names (ORIGINAL.md section 1.5.11) and the scrape endpoint.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py keeps it only with several workers) values are kept in files and
summed on scrape; a single process exports its own registry plus the process_* and python_* runtime metrics.
"""

from __future__ import annotations

import os
import time

from flask import Response, g, jsonify, request
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from chatbox import context
from chatbox.ops import bp
from chatbox.ops.limits import client_ip, in_networks
from chatbox.ops.logging import log_request, log_upgrade
from chatbox.store_calls import StoreCallsCollector


class Metrics:
    """Every metric the service updates; one instance per app (its own registry).

    Two of the Go service's names are not exported, because nothing here would ever move them: a scrape must not
    show a flat zero that looks like health. ``chatbox_admin_messages_dropped``: no frame for an admin is dropped
    (a socket or dashboard stream too slow to keep up is closed and resumes from its last seq).
    ``chatbox_mongodb_operation_seconds``: store calls are not timed; readiness and the status page report MongoDB.
    """

    def __init__(self):
        self.registry = CollectorRegistry()
        self.registry.register(StoreCallsCollector())
        # Values computed when scraped (readiness, dependency checks): the same in every worker, never summed.
        self.live = CollectorRegistry(auto_describe=False)
        multi = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        gauge_mode = {"multiprocess_mode": "livesum"} if multi else {}
        r = self.registry
        self.connections = Gauge(
            "chatbox_websocket_connections_total", "Open WebSocket connections", registry=r, **gauge_mode
        )
        self.received = Counter("chatbox_messages_received", "Valid inbound WebSocket messages", registry=r)
        self.sent = Counter("chatbox_messages_sent", "Outbound WebSocket frames", registry=r)
        self.llm_requests = Counter("chatbox_llm_requests", "LLM requests", ["provider"], registry=r)
        self.llm_latency = Histogram("chatbox_llm_latency_seconds", "Time to first token", ["provider"], registry=r)
        self.llm_errors = Counter("chatbox_llm_errors", "LLM failures", ["provider"], registry=r)
        self.active_sessions = Gauge(
            "chatbox_active_sessions_total", "Active sessions started here", registry=r, **gauge_mode
        )
        self.sessions_created = Counter("chatbox_sessions_created", "Sessions created", registry=r)
        self.sessions_ended = Counter("chatbox_sessions_ended", "Sessions ended", registry=r)
        self.takeovers = Counter("chatbox_admin_takeovers", "Admin takeovers", registry=r)
        self.message_errors = Counter("chatbox_message_errors", "Refused or failed messages", registry=r)
        self.tokens = Counter("chatbox_tokens_used", "Tokens used", ["provider"], registry=r)
        # The admin copilot's requests are not replies to users: their own series, by feature.
        self.copilot_tokens = Counter(
            "chatbox_copilot_tokens_used", "Tokens used by the admin copilot", ["feature", "provider"], registry=r
        )
        self.copilot_requests = Counter(
            "chatbox_copilot_requests", "Admin copilot model requests", ["feature", "provider"], registry=r
        )
        self.copilot_failures = Counter(
            "chatbox_copilot_failures", "Admin copilot model requests that failed", ["feature", "provider"], registry=r
        )
        self.blocked = Counter("chatbox_ratelimit_blocked", "Rate-limit refusals", ["limiter"], registry=r)
        self._add_histograms(r)

    def _add_histograms(self, r: CollectorRegistry) -> None:
        self.socket_duration = Histogram(
            "chatbox_websocket_connection_duration_seconds",
            "Socket lifetimes",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
            registry=r,
        )
        self.http_duration = Histogram(
            "chatbox_http_request_duration_seconds", "HTTP requests", ["endpoint", "method"], registry=r
        )
        self.reply_seconds = Histogram(
            "chatbox_reply_duration_seconds",
            "Whole AI reply time",
            ["provider"],
            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120),
            registry=r,
        )

    def socket_opened(self) -> None:
        self.connections.inc()

    def socket_closed(self, lifetime: float | None = None) -> None:
        self.connections.dec()
        if lifetime is not None:
            self.socket_duration.observe(lifetime)

    def message_received(self) -> None:
        self.received.inc()

    def message_error(self) -> None:
        self.message_errors.inc()

    def rate_limited(self, limiter: str) -> None:
        self.blocked.labels(limiter).inc()

    def session_created(self) -> None:
        self.sessions_created.inc()
        self.active_sessions.inc()

    def session_ended(self) -> None:
        self.sessions_ended.inc()
        self.active_sessions.dec()

    def takeover(self) -> None:
        self.takeovers.inc()

    def reply_event(self, what: str, provider: str, value: float) -> None:
        if what == "first_token":
            self.llm_latency.labels(provider).observe(value)
        elif what == "tokens":
            self.tokens.labels(provider).inc(value)
        elif what == "error":
            self.llm_errors.labels(provider).inc()
        elif what == "request":
            self.llm_requests.labels(provider).inc()
        elif what == "total":
            self.reply_seconds.labels(provider).observe(value)

    def copilot_event(self, feature: str, what: str, provider: str, value: float = 1) -> None:
        """Count one admin copilot request, its tokens or its failure under ``feature``."""
        counter = {"request": self.copilot_requests, "tokens": self.copilot_tokens, "failure": self.copilot_failures}
        counter[what].labels(feature, provider).inc(value)

    def exposition(self) -> bytes:
        """Return the Prometheus text: this app's metrics plus process/runtime ones, or with
        PROMETHEUS_MULTIPROC_DIR the sum over every worker (counters and histograms summed, the open-socket and
        active-session gauges summed over live workers)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry) + generate_latest(self.live)
        return generate_latest(self.registry) + generate_latest(self.live) + generate_latest(_RUNTIME)


# Process and interpreter metrics (CPU, memory, file descriptors, GC), as the Go service exported its runtime's.
_RUNTIME = CollectorRegistry(auto_describe=True)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    _RUNTIME.register(_collector)


class HealthCollector:
    """``chatbox_ready`` (1 when /readyz would answer 200) and ``chatbox_dependency_up{dependency}`` (MongoDB, and
    Redis when configured), checked at each scrape, so dashboards and alerts see what the probes see."""

    def __init__(self, services):
        self.services = services

    def collect(self):
        from chatbox.ops.health import is_ready, readiness  # health imports this module's blueprint

        checks = readiness(self.services)
        up = GaugeMetricFamily(
            "chatbox_dependency_up", "1 when the dependency answered its check", labels=["dependency"]
        )
        for name in ("mongodb", "redis"):
            if name in checks:
                up.add_metric([name], 1.0 if checks[name]["status"] == "ready" else 0.0)
        yield up
        ready = is_ready(checks)
        yield GaugeMetricFamily(
            "chatbox_ready", "1 when this pod's readiness check passes", value=1.0 if ready else 0.0
        )


def init_app(app) -> None:
    services = context.services(app)
    metrics = services.metrics
    metrics.live.register(HealthCollector(services))

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()
        log_upgrade()

    @app.after_request
    def observe(response):
        if "started" not in g:
            return response
        elapsed = time.perf_counter() - g.started
        if request.url_rule is not None:  # the route pattern, so unknown paths cannot blow up the label set
            metrics.http_duration.labels(request.url_rule.rule, request.method).observe(elapsed)
        log_request(response.status_code, elapsed)
        return response


@bp.get("/metrics/prometheus")
def prometheus():
    services = context.services()
    allowed = services.settings.metrics_allowed_networks
    if allowed and not in_networks(client_ip(), allowed):
        response = jsonify(error="Insufficient permissions", code="FORBIDDEN")
        response.status_code = 403
        return response
    # Never rate-limited (one Prometheus scrapes every pod); METRICS_ALLOWED_NETWORKS guards it instead.
    # The classic text format that every Prometheus understands (the Go service's content type).
    return Response(services.metrics.exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
