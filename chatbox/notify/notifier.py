"""The notifier: turns events into messages per the rules, rate-limits them per key (cluster-wide, through the bus),
sends them in the background with retries, and writes the notification log. Escalation is escalation.py's sweep.

Nothing here runs on the caller's greenlet except counting: ``help_requested`` and ``alert`` return at once.
Sends still retrying live in this process: at shutdown ``drain`` waits for them briefly, then leaves their rows
``queued`` with a note saying so (they are not retried elsewhere).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gevent.pool import Group
from prometheus_client import Counter
from pymongo.errors import PyMongoError

from chatbox.integrations.bus import Bus, MemoryBus
from chatbox.integrations.mail import EmailMessage, Mailer
from chatbox.integrations.sms import SmsMessage, SmsSender
from chatbox.models import Notification
from chatbox.notify import messages
from chatbox.notify.limits import KeyLimiter, MonotonicClock
from chatbox.notify.messages import Alert

log = logging.getLogger("chatbox.notify")


class Notifier:
    attempts = 3  # tries per message
    backoff = 2.0  # seconds before the second try; doubles each time

    def __init__(
        self,
        settings,
        store,
        mailer: Mailer,
        sms: SmsSender,
        rules: dict[str, tuple[str, ...]],
        registry=None,
        clock=None,
        bus: Bus | None = None,
        summaries=None,
    ):
        self.settings, self.store, self.mailer, self.sms, self.rules = settings, store, mailer, sms, rules
        self.summaries = summaries  # the copilot's handoff summaries, or None when switched off
        self.bus = bus or MemoryBus()
        self.clock = clock or MonotonicClock()  # replaceable at any time: the limits below read it through us
        self.limiter = KeyLimiter(self.bus, settings.notify_rate_limit, settings.notify_rate_window, self)
        self.background = Group()  # sends
        self.sending: dict[int, Notification] = {}  # rows whose send is in progress, by id() of the row
        self.scrub: Callable[[str], str] = getattr(sms, "scrub", lambda text: text)
        self.sent = Counter(
            "chatbox_notifications",
            "Alert messages by outcome (sent, outbox, failed, suppressed, skipped)",
            ["event", "channel", "status"],
            registry=registry,
        )
        self.retries = Counter(
            "chatbox_notification_retries", "Alert sends tried again", ["channel"], registry=registry
        )

    # --- entry points (never block) ----------------------------------------------------------------------------

    def help_requested(self, session) -> None:
        """Page the admins about a session that asked for help (escalation.py's sweep re-sends it if unanswered)."""
        alert = Alert(
            "help_request",
            f"help_request:{session.id}",
            session.help_time or self.clock.now(),
            user_id=session.user_id,
            session_id=session.id,
            affected=1,
        )
        if self.summaries is None:
            self.submit(alert)
            return
        self.background.spawn(self._guarded, self._with_summary, alert, self.summaries.start(session))

    def _with_summary(self, alert: Alert, pending) -> None:
        """Wait a bounded time for the handoff summary, then send the alert with it or without it (a slow or
        failing model never holds the page back longer than ADMIN_HANDOFF_SUMMARY_WAIT)."""
        pending.join(timeout=self.summaries.wait)
        if pending.ready() and pending.successful():
            alert.summary = pending.value or ""
        else:
            log.info(
                "help alert sent without the handoff summary (not ready after %gs)",
                self.summaries.wait,
                extra={"session_id": alert.session_id},
            )
        self.dispatch(alert)

    def submit(self, alert: Alert) -> None:
        """Send ``alert`` on the channels its rule names, in the background."""
        self.background.spawn(self._guarded, self.dispatch, alert)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every send has finished (escalation waits excepted); True if they did within ``timeout``."""
        return self.background.join(timeout=timeout)

    def drain(self, timeout: float) -> bool:
        """At shutdown: wait up to ``timeout`` seconds for sends in progress; rows of sends still unfinished stay
        ``queued`` with an error saying they were cut short. True if everything finished."""
        if self.background.join(timeout=timeout):
            return True
        for row in list(self.sending.values()):
            row.error = (
                f"not sent: the service stopped while this was being sent (after {row.attempts} failed "
                "attempt(s)); it is not retried"
            )
            self._save(row)
            log.warning("%s alert %s to %s left queued at shutdown", row.channel, row.key, _mask(row.recipient or ""))
        self.background.kill(block=True, timeout=1.0)
        return False

    def stop(self) -> None:
        self.background.kill(block=False)

    # The clock, as the limits and escalation see it.
    def monotonic(self) -> float:
        return self.clock.monotonic()

    def now(self):
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)

    # --- dispatch ------------------------------------------------------------------------------------------------

    def dispatch(self, alert: Alert) -> None:
        """Rate-limit, render and hand each message to a sender greenlet (one per recipient)."""
        channels = self.rules.get(alert.event, ())
        if not channels:
            return
        alert.link = alert.link or messages.session_link(self.settings, alert.session_id)
        allowed, suppressed = self.limiter.admit(alert.key)
        if not allowed:
            self._suppressed(alert, channels, suppressed)
            return
        alert.suppressed = suppressed
        self._summarized(alert.key)
        if callable(alert.affected):  # counted only for alerts that go out (counting may walk every socket)
            alert.affected = alert.affected()
        for channel in channels:
            transport = self.mailer if channel == "email" else self.sms
            for recipient in self._recipients(channel, transport):
                message = self._render(channel, alert, recipient)
                row = self._record(alert, channel, transport.transport, recipient, message)
                if not recipient:
                    self._finish(
                        row,
                        alert,
                        channel,
                        "skipped",
                        error=f"no recipients: set {'ADMIN_EMAILS' if channel == 'email' else 'ADMIN_PHONES'}",
                    )
                    continue
                self.background.spawn(self._guarded, self._deliver, row, alert, channel, transport, message)

    def _recipients(self, channel: str, transport) -> list[str]:
        configured = self.settings.admin_emails if channel == "email" else self.settings.admin_phones
        if configured:
            return list(configured)
        # The outbox still shows what would have gone out; a real transport with nobody to send to is "skipped".
        if transport.transport == "outbox":
            return ["(no ADMIN_EMAILS set)" if channel == "email" else "(no ADMIN_PHONES set)"]
        return [""]

    @staticmethod
    def _render(channel: str, alert: Alert, recipient: str):
        if channel == "email":
            return EmailMessage(
                recipient, messages.subject(alert), messages.text_body(alert), messages.html_body(alert)
            )
        return SmsMessage(recipient, messages.sms_body(alert))

    def _deliver(self, row, alert: Alert, channel: str, transport, message) -> None:
        self.sending[id(row)] = row
        try:
            self._attempt(row, alert, channel, transport, message)
        finally:
            self.sending.pop(id(row), None)

    def _attempt(self, row, alert: Alert, channel: str, transport, message) -> None:
        error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                transport.send(message)
            except Exception as exc:  # noqa: BLE001 - any failure of a transport means "try again"
                row.attempts = attempt
                error = self.scrub(f"{type(exc).__name__}: {exc}")[:500]
                log.warning(
                    "%s alert to %s failed (attempt %d of %d): %s",
                    channel,
                    _mask(message.to),
                    attempt,
                    self.attempts,
                    error,
                    extra={"session_id": alert.session_id},
                )
                if attempt < self.attempts:
                    self.retries.labels(channel).inc()
                    self.clock.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            status = "outbox" if transport.transport == "outbox" else "sent"
            self._finish(row, alert, channel, status, attempts=attempt)
            return
        log.error(
            "%s alert %s to %s failed after %d attempts: %s",
            channel,
            alert.key,
            _mask(message.to),
            self.attempts,
            error,
            extra={"session_id": alert.session_id},
        )
        self._finish(row, alert, channel, "failed", attempts=self.attempts, error=error)

    # --- the notification log ----------------------------------------------------------------------------------

    def _record(self, alert: Alert, channel: str, transport: str, recipient: str, message) -> Notification:
        row = Notification(
            ts=self.clock.now(),
            event=alert.event,
            key=alert.key,
            channel=channel,
            transport=transport,
            recipient=recipient,
            status="queued",
            subject=getattr(message, "subject", None),
            body=getattr(message, "text", None) or getattr(message, "body", ""),
            session_id=alert.session_id or None,
            user_id=alert.user_id or None,
        )
        self._save(row)
        return row

    def _finish(
        self, row: Notification, alert: Alert, channel: str, status: str, attempts: int = 0, error: str = ""
    ) -> None:
        row.status, row.attempts, row.error = status, attempts, error or None
        self._save(row)
        self.sent.labels(alert.event, channel, status).inc()

    def _suppressed(self, alert: Alert, channels: tuple[str, ...], count: int) -> None:
        """Count a suppressed alert in its key's open ``suppressed`` row (one row per key until the next message
        goes out, moved to the top of the log each time), not one row each."""
        log.info(
            "alert %s suppressed by the rate limit (%d so far)",
            alert.key,
            count,
            extra={"session_id": alert.session_id},
        )
        now = self.clock.now()
        first = f"first suppressed at {messages.rfc3339(now)}" + (f": {alert.error}" if alert.error else "")
        try:
            Notification.objects(key=alert.key, status="suppressed", summarized__ne=True).update_one(
                upsert=True,
                inc__count=1,
                set__ts=now,
                set__session_id=alert.session_id or None,
                set__user_id=alert.user_id or None,
                set_on_insert__event=alert.event,
                set_on_insert__channel="+".join(channels),
                set_on_insert__subject=messages.subject(alert),
                set_on_insert__body=first,
            )
        except PyMongoError as exc:
            log.warning("notification log not written: %s", exc)
        for channel in channels:
            self.sent.labels(alert.event, channel, "suppressed").inc()

    @staticmethod
    def _summarized(key: str) -> None:
        """A message for ``key`` is going out and sums up what was suppressed: close the key's open row."""
        try:
            Notification.objects(key=key, status="suppressed", summarized__ne=True).update(set__summarized=True)
        except PyMongoError as exc:
            log.warning("notification log not written: %s", exc)

    @staticmethod
    def _save(row: Notification) -> None:
        # The log must never stop an alert: "database unavailable" is itself something we page about.
        try:
            row.save()
        except PyMongoError as exc:
            log.warning("notification log not written: %s", exc)

    @staticmethod
    def _guarded(work, *args) -> None:
        try:
            work(*args)
        except Exception:
            log.exception("notification work failed")


def _mask(recipient: str) -> str:
    """Enough of an address or number to tell recipients apart in logs."""
    if "@" in recipient:
        name, _, domain = recipient.partition("@")
        return f"{name[:2]}***@{domain}"
    return recipient[:4] + "***" if len(recipient) > 6 else recipient
