"""Liveness and readiness, in the Go service's shapes (ORIGINAL.md sections 1.5.9 and 1.5.10)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import gevent
from flask import current_app, jsonify

from chatbox import context
from chatbox.models import Session
from chatbox.ops import bp


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Probes and the scrape are never rate-limited: kubelet probes every pod on a node from the node's one address.
@bp.get("/healthz")
def healthz():
    return jsonify(status="healthy", timestamp=_stamp())


def _redis_up(bus) -> bool:
    """Redis answers and this pod is using it (not its local fallback)."""
    return not getattr(bus, "degraded", False) and bus.ping()


def mongo_ready(timeout: float = 2.0) -> bool:
    try:
        with gevent.Timeout(timeout):
            Session._get_db().command("ping")
        return True
    except BaseException:  # gevent.Timeout is a BaseException
        return False


# Probes and scrapes are not rate-limited, and /readyz is reachable through the ingress: however often it is asked,
# a pod pings MongoDB and Redis at most once per this many seconds.
CHECK_INTERVAL = 1.0


def _dependencies(services) -> tuple[bool, bool | None]:
    """(MongoDB answered, Redis answered or None without Redis), at most CHECK_INTERVAL old."""
    cache = current_app.extensions.setdefault("chatbox.dependency_checks", {})
    now = time.monotonic()
    if now - cache.get("at", float("-inf")) >= CHECK_INTERVAL:
        redis = _redis_up(services.bus) if services.settings.redis_url else None
        cache.update(at=now, mongodb=mongo_ready(), redis=redis)
    return cache["mongodb"], cache["redis"]


# Without Redis each pod still serves its own sockets (local limits, local fan-out): one Redis blip must not take
# every pod out of its Service at once, so a pod without Redis stays ready and says it is degraded.
DEGRADED_REDIS = "Redis unreachable: this pod runs on local limits and local fan-out until it returns"


def is_ready(checks: dict[str, dict]) -> bool:
    """Whether a pod with these checks should receive traffic (degraded dependencies still do)."""
    return all(check["status"] in ("ready", "degraded") for check in checks.values())


def readiness(services) -> dict[str, dict]:
    """Check every dependency: {name: {"status": "ready" | "degraded" | "not ready", ...}} (also what the scrape
    reports)."""
    mongodb, redis = _dependencies(services)
    checks = {}
    if mongodb:
        checks["mongodb"] = {"status": "ready"}
    else:
        checks["mongodb"] = {"status": "not ready", "reason": "Database connectivity check failed"}
    checks["llm"] = {"status": "ready", "providers_count": len(services.providers.all())}
    if redis is not None:
        checks["redis"] = {"status": "ready"} if redis else {"status": "degraded", "reason": DEGRADED_REDIS}
    if services.lifecycle.draining:
        checks["shutdown"] = {"status": "not ready", "reason": "Shutting down"}
    return checks


@bp.get("/readyz")
def readyz():
    services = context.services()
    checks = readiness(services)
    if checks["mongodb"]["status"] != "ready":
        services.alert("database_unavailable", reason="readiness ping failed")
    ready = is_ready(checks)
    body = {"status": "ready" if ready else "not ready", "timestamp": _stamp(), "checks": checks}
    degraded = [name for name, check in checks.items() if check["status"] == "degraded"]
    if degraded:
        body["degraded"] = degraded
    if services.settings.warnings:  # still ready: these are choices the deployment guide allows
        body["warnings"] = services.settings.warnings
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    return response
