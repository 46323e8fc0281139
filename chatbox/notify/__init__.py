"""Help requests and admin alerts by e-mail and SMS: rules, rate limits, retries, escalation, the notification log.

``init_app`` picks the transports (SMTP when SMTP_HOST is set, Twilio when SMS_ACCOUNT_SID and SMS_AUTH_TOKEN are,
the outbox otherwise), then plugs the notifier into the chat service and the alert listeners, schedules the help
escalation sweep among the process's background duties and lets shutdown wait briefly for sends in progress.
"""

from __future__ import annotations

import logging

from chatbox.integrations.mail import OutboxMail
from chatbox.integrations.sms import OutboxSms
from chatbox.notify.escalation import Escalator, sweep_interval
from chatbox.notify.events import AlertRouter
from chatbox.notify.notifier import Notifier
from chatbox.notify.rules import format_rules, parse_rules
from chatbox.settings import SettingsError

log = logging.getLogger("chatbox.notify")
SHUTDOWN_WAIT = (2.0, 10.0)  # seconds shutdown waits for sends in progress: at least, at most


def init_app(app, settings) -> Notifier:
    """Build the notifier and attach it (``services.extras["notifier"]``). Raises SettingsError on bad settings."""
    _check(settings)
    rules = parse_rules(settings.notify_rules)
    services = app.extensions["chatbox"]
    notifier = Notifier(
        settings,
        services.store,
        _mailer(app, settings),
        _sms(settings),
        rules,
        registry=services.metrics.registry,
        bus=services.bus,
        summaries=getattr(services.extras.get("copilot"), "summaries", None),
    )
    router = AlertRouter(
        settings, notifier, affected_now=lambda: len({conn.identity.user_id for conn in list(services.hub.connections)})
    )
    services.chat.notifier = notifier
    services.alert_listeners.append(router)
    services.extras["notifier"] = notifier
    services.extras["alert_router"] = router
    if settings.help_escalate_after > 0:
        escalator = Escalator(settings, notifier)
        services.lifecycle.every(escalator.sweep, sweep_interval(settings))
        services.extras["escalator"] = escalator
    services.lifecycle.shutdown_hooks.append(
        lambda remaining: notifier.drain(min(max(remaining, SHUTDOWN_WAIT[0]), SHUTDOWN_WAIT[1]))
    )
    log.info(
        "notifications: email via %s, sms via %s, rules %s",
        notifier.mailer.transport,
        notifier.sms.transport,
        format_rules(rules),
    )
    return notifier


def _mailer(app, settings):
    if not settings.smtp_host:
        return OutboxMail()
    from chatbox.integrations.smtp_mail import SmtpMail

    return SmtpMail(app, settings)


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
