"""The admin copilot: a handoff summary when a user asks for help, and reply drafts while an admin holds a session.

Both ask a configured model (the session's own unless a model is named for the feature) and send nothing to the
user: the summary goes to the session document (encrypted), the help alert and the dashboard; the drafts only to the
dashboard of the admin who holds the session. ``build`` makes them (``services.build`` gives the
summaries to the notifier); a feature that is switched off is None and requests nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chatbox.copilot.ask import Asker
from chatbox.copilot.suggestions import ReplySuggestions
from chatbox.copilot.summary import HandoffSummaries
from chatbox.settings import SettingsError

log = logging.getLogger("chatbox.copilot")


@dataclass
class Copilot:
    summaries: HandoffSummaries | None
    suggestions: ReplySuggestions | None


def build(settings, store, hub, providers, metrics) -> Copilot:
    """Build the copilot's features that are switched on. Raises SettingsError on a model id nobody configured."""
    _check(settings, providers)
    asker = Asker(providers, metrics)
    copilot = Copilot(
        HandoffSummaries(settings, store, hub, asker) if settings.admin_handoff_summary else None,
        ReplySuggestions(settings, store, asker) if settings.admin_reply_suggestions else None,
    )
    log.info(
        "admin copilot: handoff summary %s, reply suggestions %s",
        _state(settings.admin_handoff_summary, settings.admin_handoff_summary_model),
        _state(settings.admin_reply_suggestions, settings.admin_reply_suggestions_model),
    )
    return copilot


def _state(on: bool, model: str) -> str:
    return f"on ({model or 'the session model'})" if on else "off"


def _check(settings, providers) -> None:
    for env, model in (
        ("ADMIN_HANDOFF_SUMMARY_MODEL", settings.admin_handoff_summary_model),
        ("ADMIN_REPLY_SUGGESTIONS_MODEL", settings.admin_reply_suggestions_model),
    ):
        if model and model not in providers:
            known = ", ".join(m["id"] for m in providers.models())
            raise SettingsError(f"{env} {model!r} is not a configured provider id (configured: {known})")
    if settings.admin_handoff_summary_wait < 0:
        raise SettingsError(
            f"ADMIN_HANDOFF_SUMMARY_WAIT must not be negative (got {settings.admin_handoff_summary_wait:g}s)"
        )
