"""The status page (indexes, dependencies, version, masked configuration) and the notification outbox page."""

from __future__ import annotations

import time

from flask import redirect, render_template, url_for
from pymongo.errors import PyMongoError

from chatbox import models
from chatbox.admin.guard import require_dashboard_admin
from chatbox.admin.views import bp, services
from chatbox.models import Notification
from chatbox.ops.health import DEGRADED_REDIS, mongo_ready
from chatbox.version import __version__


def index_report() -> list[dict]:
    """Every expected session index and whether MongoDB has it; extra indexes found are listed too."""
    try:
        present = set(models.present_indexes())
    except PyMongoError as exc:  # the page must render even when MongoDB is down
        return [{"name": "(unavailable)", "keys": str(exc)[:200], "present": False, "expected": True}]
    rows = [
        {
            "name": name,
            "keys": ", ".join(f"{k} {v}" for k, v in keys),
            "options": options,
            "present": name in present,
            "expected": True,
        }
        for name, (keys, options) in models.SESSION_INDEXES.items()
    ]
    rows += [
        {"name": name, "keys": "", "options": {}, "present": True, "expected": False}
        for name in sorted(present - set(models.SESSION_INDEXES))
    ]
    return rows


def _timed(check) -> tuple[bool, int]:
    started = time.monotonic()
    ok = check()
    return ok, int((time.monotonic() - started) * 1000)


def dependencies() -> list[dict]:
    """One row per dependency: name, state (ok | down | degraded | outbox | local | not configured), detail."""
    svc = services()
    settings = svc.settings
    ok, ms = _timed(mongo_ready)
    rows = [
        {
            "name": "MongoDB",
            "state": "ok" if ok else "down",
            "detail": f"ping {ms} ms"
            + ("" if settings.mongo_uri else " (in-process mongomock: data is lost on restart)"),
        }
    ]
    if settings.redis_url:
        degraded = getattr(svc.bus, "degraded", False)  # then a ping could only wait for its timeout
        ok, ms = (False, 0) if degraded else _timed(svc.bus.ping)
        if degraded or not ok:
            rows.append({"name": "Redis", "state": "degraded", "detail": DEGRADED_REDIS})
        else:
            rows.append({"name": "Redis", "state": "ok", "detail": f"ping {ms} ms"})
    else:
        rows.append({"name": "Redis", "state": "not configured", "detail": "in-process bus (one pod)"})
    return rows + _delivery_rows(settings)


def _delivery_rows(settings) -> list[dict]:
    """Where files, mail and SMS go: the configured service, or the local default that stands in for it."""
    return [
        {
            "name": "S3",
            "state": "configured" if settings.s3_bucket else "local",
            "detail": f"bucket {settings.s3_bucket}" if settings.s3_bucket else f"local disk {settings.upload_folder}",
        },
        {
            "name": "SMTP",
            "state": "configured" if settings.smtp_host else "outbox",
            "detail": f"{settings.smtp_host}:{settings.smtp_port}"
            if settings.smtp_host
            else "mail is logged and kept in the outbox",
        },
        {
            "name": "SMS",
            "state": "configured" if settings.sms_account_sid else "outbox",
            "detail": "Twilio" if settings.sms_account_sid else "SMS is logged and kept in the outbox",
        },
    ]


def providers() -> list[dict]:
    health = services().provider_health
    rows = []
    for provider in services().providers.all():
        record = health.record(provider.id)
        state = "unused"
        if record.last_failure and (not record.last_success or record.last_failure > record.last_success):
            state = "failing"
        elif record.last_success:
            state = "ok"
        rows.append(
            {"id": provider.id, "name": provider.name, "type": provider.config.type, "state": state, "record": record}
        )
    return rows


# A dependency's own state -> the summary's word. Local stand-ins (outbox, local disk, in-process bus) are working.
LEVELS = {"ok": "ok", "configured": "ok", "local": "ok", "outbox": "ok", "not configured": "ok", "down": "down"}


def summary(indexes: list[dict], deps: list[dict], models: list[dict]) -> list[dict]:
    """One line per dependency, the indexes and the AI providers: name, level (ok | degraded | down), detail."""
    lines = [{"name": d["name"], "level": LEVELS.get(d["state"], "degraded"), "detail": d["detail"]} for d in deps]
    expected = [row for row in indexes if row["expected"]]
    missing = [row["name"] for row in expected if not row["present"]]
    if any(row["name"] == "(unavailable)" for row in indexes):
        lines.insert(1, {"name": "Indexes", "level": "down", "detail": "cannot be read"})
    else:
        detail = f"{len(expected) - len(missing)} of {len(expected)} present"
        lines.insert(
            1,
            {
                "name": "Indexes",
                "level": "degraded" if missing else "ok",
                "detail": detail + (": missing " + ", ".join(missing) if missing else ""),
            },
        )
    failing = [p["id"] for p in models if p["state"] == "failing"]
    level = "down" if models and len(failing) == len(models) else "degraded" if failing else "ok"
    detail = f"{len(models)} configured" + (f"; failing: {', '.join(failing)}" if failing else "")
    lines.append({"name": "AI providers", "level": level, "detail": detail})
    return lines


@bp.get("/dashboard/status")
@require_dashboard_admin
def status_page():
    indexes, deps, models = index_report(), dependencies(), providers()
    return render_template(
        "admin/status.html",
        summary=summary(indexes, deps, models),
        indexes=indexes,
        dependencies=deps,
        providers=models,
        version=__version__,
        config=services().settings.masked(),
        warnings=services().settings.warnings,
    )


@bp.post("/dashboard/status/indexes")
@require_dashboard_admin
def create_indexes():
    models.ensure_indexes()
    return redirect(url_for("dashboard.status_page"), code=303)


@bp.get("/dashboard/outbox")
@require_dashboard_admin
def outbox_page():
    rows = list(Notification.objects.order_by("-ts").limit(200))
    return render_template("admin/outbox.html", rows=rows)
