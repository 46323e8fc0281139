"""What an alert says: the Go service's help-request e-mail and SMS, and the same shape for operational alerts.

Every message names the user, the session, the time, the error where there is one, the number of affected users
and a link to the dashboard. Everything interpolated into HTML is escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

TITLES = {
    "help_request": "User Help Request",
    "help_escalation": "Help Request Not Answered",
    "llm_failure": "AI provider failures",
    "database_unavailable": "Database unavailable",
    "connection_cap": "Connection cap reached",
    "rate_limited": "Burst of rate-limit refusals",
    "crash": "Unhandled exception",
}


@dataclass
class Alert:
    """One thing worth telling the admins about, before it is rendered for a channel."""

    event: str
    key: str
    time: datetime
    user_id: str = ""
    session_id: str = ""
    error: str = ""
    affected: int | Callable[[], int] = 0  # a callable is counted when the alert goes out
    count: int = 1
    details: dict[str, str] = field(default_factory=dict)
    link: str = ""
    suppressed: int = 0
    summary: str = ""  # the copilot's handoff summary of the conversation, when it was ready in time


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def session_link(settings, session_id: str) -> str:
    """The dashboard page of a session (ADMIN_PANEL_URL/<sid> as in Go, else our own dashboard)."""
    sid = quote(session_id, safe="")
    if settings.admin_panel_url:
        return f"{settings.admin_panel_url.rstrip('/')}/{sid}" if sid else settings.admin_panel_url
    base = f"{settings.base_url}{settings.prefix}/dashboard"
    return f"{base}/sessions/{sid}" if sid else base


def _suppressed_note(alert: Alert) -> str:
    if not alert.suppressed:
        return ""
    return f"+{alert.suppressed} similar alert{'s' if alert.suppressed != 1 else ''} suppressed"


def _one_line(text: str, limit: int = 200) -> str:
    """``text`` safe for a mail header or an SMS: control characters (CR/LF header injection) become spaces."""
    flat = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def subject(alert: Alert) -> str:
    if alert.event == "help_request":
        return f"Help Request - User {_one_line(alert.user_id)}"
    if alert.event == "help_escalation":
        return f"Help Request NOT ANSWERED - User {_one_line(alert.user_id)}"
    return f"CRITICAL: {TITLES.get(alert.event, alert.event)}"


def _fields(alert: Alert) -> list[tuple[str, str]]:
    rows = [("User ID", alert.user_id), ("Session ID", alert.session_id), ("Time", rfc3339(alert.time))]
    if alert.event != "help_request":
        rows += [
            ("Event", alert.event),
            ("Error", alert.error),
            ("Affected users", str(alert.affected)),
            ("Occurrences", str(alert.count) if alert.count > 1 else ""),
        ]
        rows += list(alert.details.items())
    return [(label, value) for label, value in rows if value or label in ("User ID", "Session ID")]


def _intro(alert: Alert) -> str:
    if alert.event == "help_request":
        return "A user has requested assistance."
    if alert.event == "help_escalation":
        return "A user asked for help and nobody has taken the session over yet."
    return f"{alert.affected} user(s) affected."


def html_body(alert: Alert) -> str:
    """The e-mail's HTML part; every value escaped."""
    items = "".join(f"<li><strong>{escape(label)}:</strong> {escape(value)}</li>" for label, value in _fields(alert))
    link_text = "View Session" if alert.session_id else "Open Dashboard"
    parts = [
        f"<h2>{escape(TITLES.get(alert.event, alert.event))}</h2>",
        f"<p>{escape(_intro(alert))}</p>",
        f"<ul>{items}</ul>",
        _html_summary(alert),
        f'<p><a href="{escape(alert.link, quote=True)}">{link_text}</a></p>',
    ]
    if alert.suppressed:
        parts.append(f"<p>{escape(_suppressed_note(alert))} since the last message.</p>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def _html_summary(alert: Alert) -> str:
    if not alert.summary:
        return ""
    lines = "<br>".join(escape(line) for line in alert.summary.splitlines())
    return f"<h3>Summary of the conversation so far</h3><p>{lines}</p>"


def text_body(alert: Alert) -> str:
    """The e-mail's plain-text part (Go's one line for a help request, then the details)."""
    if alert.event == "help_request":
        first = f"Help Request - User: {alert.user_id}, Session: {alert.session_id}, Time: {rfc3339(alert.time)}"
    else:
        first = f"{subject(alert)} - {_intro(alert)}"
    lines = [first, ""] + [f"{label}: {value}" for label, value in _fields(alert)]
    if alert.summary:
        lines += ["", "Summary of the conversation so far:", alert.summary]
    lines += ["", f"{'View Session' if alert.session_id else 'Dashboard'}: {alert.link}"]
    if alert.suppressed:
        lines.append(f"({_suppressed_note(alert)} since the last message)")
    return "\n".join(lines)


def sms_body(alert: Alert) -> str:
    """The SMS text: Go's wording for a help request, its CRITICAL line for the rest; with the link."""
    user = _one_line(alert.user_id)
    if alert.event == "help_request":
        text = f"Help Request - User {user} needs assistance. Session: {alert.session_id}"
    elif alert.event == "help_escalation":
        text = f"Help Request NOT ANSWERED - User {user} still needs assistance. Session: {alert.session_id}"
    else:
        text = f"CRITICAL: {TITLES.get(alert.event, alert.event)} - {alert.affected} users affected."
        if alert.error:
            text += f" {_one_line(alert.error, 120)}."
        text += " Check email for details."
    if alert.summary:
        text += f" Summary: {_one_line(alert.summary, 160)}"
    text += f" {alert.link}"
    if alert.suppressed:
        text += f" ({_suppressed_note(alert)})"
    return text
