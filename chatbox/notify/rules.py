"""Which channels each alert event goes to (NOTIFY_RULES), parsed strictly.

Format: ``event=channel+channel`` pairs separated by commas, e.g. ``help_request=email+sms,crash=none``. Events
not named keep their default below; ``none`` silences an event.
"""

from __future__ import annotations

from chatbox.settings import SettingsError

CHANNELS = ("email", "sms")

DEFAULT_RULES: dict[str, tuple[str, ...]] = {
    "help_request": ("email", "sms"),
    "help_escalation": ("sms",),
    "llm_failure": ("email",),
    "database_unavailable": ("email", "sms"),
    "connection_cap": ("email",),
    "rate_limited": ("email",),
    "crash": ("email", "sms"),
}
EVENTS = tuple(DEFAULT_RULES)


def parse_rules(text: str) -> dict[str, tuple[str, ...]]:
    """Return the channels per event: the defaults overridden by ``text``.

    Raises SettingsError naming NOTIFY_RULES and the offending part.
    """
    rules = dict(DEFAULT_RULES)
    for part in (p.strip() for p in str(text or "").split(",")):
        if not part:
            continue
        event, sep, channels = (s.strip() for s in part.partition("="))
        if not sep or not event or not channels:
            raise SettingsError(
                f"NOTIFY_RULES: {part!r} is not event=channels (e.g. help_request=email+sms, crash=none)"
            )
        if event not in DEFAULT_RULES:
            raise SettingsError(f"NOTIFY_RULES: unknown event {event!r} (known: {', '.join(EVENTS)})")
        rules[event] = _channels(event, channels)
    return rules


def _channels(event: str, text: str) -> tuple[str, ...]:
    if text.lower() == "none":
        return ()
    names = [name.strip().lower() for name in text.split("+")]
    for name in names:
        if name not in CHANNELS:
            raise SettingsError(f"NOTIFY_RULES: {event}: unknown channel {name!r} (use email, sms, email+sms or none)")
    return tuple(dict.fromkeys(names))


def format_rules(rules: dict[str, tuple[str, ...]]) -> str:
    """The rules in NOTIFY_RULES syntax (for the startup log line)."""
    return ",".join(f"{event}={'+'.join(channels) or 'none'}" for event, channels in rules.items())
