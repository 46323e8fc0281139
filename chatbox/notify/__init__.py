"""Help requests and admin alerts by e-mail and SMS: rules, rate limits, retries, escalation, the notification log.

``build`` picks the transports (SMTP when SMTP_HOST is set, Twilio when SMS_ACCOUNT_SID and SMS_AUTH_TOKEN are, the
outbox otherwise); ``services.build`` hands the notifier to the chat service, the router to the alerts, the
escalation sweep to the background duties and ``drain`` to shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from chatbox.integrations.mail import OutboxMail
from chatbox.integrations.sms import OutboxSms
from chatbox.notify.escalation import Escalator, sweep_interval
from chatbox.notify.events import AlertRouter
from chatbox.notify.notifier import Notifier
from chatbox.notify.rules import format_rules, parse_rules
from chatbox.settings import SettingsError

log = logging.getLogger("chatbox.notify")
SHUTDOWN_WAIT = (2.0, 10.0)  # seconds shutdown waits for sends in progress: at least, at most


@dataclass
class Notifications:
    """The notifier, the router that turns operational events into alerts, and the help escalator (when on)."""

    notifier: Notifier
    router: AlertRouter
    escalator: Escalator | None
    sweep_every: float  # seconds between escalation sweeps

    def duties(self) -> list[tuple[Callable[[], None], float]]:
        """Periodic work for the process's background loop: the help escalation sweep."""
        return [(self.escalator.sweep, self.sweep_every)] if self.escalator else []

    def drain(self, remaining: float) -> None:
        """A shutdown hook: wait briefly for sends in progress (within the grace left)."""
        self.notifier.drain(min(max(remaining, SHUTDOWN_WAIT[0]), SHUTDOWN_WAIT[1]))


def build(settings, store, bus, registry, affected_now: Callable[[], int], summaries=None) -> Notifications:
    """Build the notifier with its transports, the alert router and the escalator. Raises SettingsError on bad
    settings. ``affected_now`` counts the users connected to this process (told in alerts); ``summaries`` (the
    copilot's handoff summaries, when on) put a summary in help alerts."""
    _check(settings)
    rules = parse_rules(settings.notify_rules)
    notifier = Notifier(
        settings, store, _mailer(settings), _sms(settings), rules, registry=registry, bus=bus, summaries=summaries
    )
    router = AlertRouter(settings, notifier, affected_now=affected_now)
    escalator = Escalator(settings, notifier) if settings.help_escalate_after > 0 else None
    log.info(
        "notifications: email via %s, sms via %s, rules %s",
        notifier.mailer.transport,
        notifier.sms.transport,
        format_rules(rules),
    )
    return Notifications(notifier, router, escalator, sweep_interval(settings))


def _mailer(settings):
    if not settings.smtp_host:
        return OutboxMail()
    from chatbox.integrations.smtp_mail import SmtpMail

    return SmtpMail(settings)


def _sms(settings):
    if not (settings.sms_account_sid and settings.sms_auth_token):
        return OutboxSms()
    if not settings.sms_from_number:
        raise SettingsError(
            "SMS_FROM_NUMBER is required when SMS_ACCOUNT_SID and SMS_AUTH_TOKEN are set "
            "(the Twilio number alerts are sent from, e.g. +15551234567)"
        )
    from chatbox.integrations.twilio_sms import TwilioSms

    return TwilioSms(settings)


def _check(settings) -> None:
    for env, value in (
        ("NOTIFY_RATE_LIMIT", settings.notify_rate_limit),
        ("NOTIFY_LLM_FAILURES", settings.notify_llm_failures),
        ("NOTIFY_REFUSAL_BURST", settings.notify_refusal_burst),
    ):
        if value < 1:
            raise SettingsError(f"{env} must be at least 1 (got {value})")
    for env, value in (
        ("NOTIFY_RATE_WINDOW", settings.notify_rate_window),
        ("NOTIFY_LLM_FAILURE_WINDOW", settings.notify_llm_failure_window),
        ("NOTIFY_REFUSAL_WINDOW", settings.notify_refusal_window),
    ):
        if value <= 0:
            raise SettingsError(f"{env} must be a positive duration such as 5m (got {value:g}s)")
