"""Escalation: a help request nobody took over within HELP_ESCALATE_AFTER is re-sent by SMS, once, by one pod.

Durable and exactly-once instead of a timer per request: every pod sweeps the sessions collection periodically (a
tenth of HELP_ESCALATE_AFTER, between 0.05 s and 30 s) for help requests that are old enough, still wanted
(``helpRequested``, no ``takeoverBy``, session not ended) and not escalated, and claims each with one atomic update
that copies the request's ``helpTs`` into ``escalatedHelpTs``. Only the pod whose update matched sends; a restart
loses nothing because the state is in the database. A session that asks again later (a takeover clears
``helpRequested``, so the new request gets a new ``helpTs``) is escalated again, once, for the new request. Comparing
the two stored values, not clocks, keeps this right whatever the pods' clocks say.

A claim whose SMS is then cut short by the pod dying is not retried: at most once, the notification log shows it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from pymongo.errors import PyMongoError

from chatbox.models import Session
from chatbox.notify import messages
from chatbox.notify.messages import Alert

log = logging.getLogger("chatbox.notify")


def sweep_interval(settings) -> float:
    """Seconds between sweeps: well below HELP_ESCALATE_AFTER, bounded for tiny and huge values."""
    return min(max(settings.help_escalate_after / 10, 0.05), 30.0)


class Escalator:
    """Finds unanswered help requests and sends each ``help_escalation`` alert once across all pods."""

    def __init__(self, settings, notifier):
        self.settings, self.notifier = settings, notifier
        self.swept = 0  # completed sweeps (tests wait on it)

    def sweep(self) -> int:
        """Claim and escalate every due help request; return how many this pod escalated."""
        now = self.notifier.now()
        cutoff = now - timedelta(seconds=self.settings.help_escalate_after)
        escalated = 0
        try:
            for session in self._due(cutoff):
                if self._claim(session, cutoff):
                    escalated += 1
                    self._escalate(session, now)
        except PyMongoError as exc:
            log.warning("help escalation sweep failed (next sweep tries again): %s", exc)
        self.swept += 1
        return escalated

    @staticmethod
    def _due(cutoff) -> list[Session]:
        # Comparing two fields of one document needs $expr, so that last test is done here (and again in the claim).
        candidates = Session.objects(help_requested=True, help_time__lte=cutoff, takeover_by=None, end=None).only(
            "id", "user_id", "help_time", "escalated_help_ts", "handoff_summary"
        )
        return [s for s in candidates if s.escalated_help_ts != s.help_time]

    @staticmethod
    def _claim(session: Session, cutoff) -> bool:
        """One atomic update: only the first pod to claim this request (its helpTs) for escalation matches."""
        query = Session.objects(
            id=session.id,
            help_requested=True,
            help_time=session.help_time,
            help_time__lte=cutoff,
            escalated_help_ts__ne=session.help_time,
            takeover_by=None,
            end=None,
        )
        return bool(query.update_one(set__escalated_help_ts=session.help_time))

    def _escalate(self, session: Session, now) -> None:
        log.info(
            "help request unanswered for %ss: escalating",
            f"{self.settings.help_escalate_after:g}",
            extra={"session_id": session.id, "user_id": session.user_id},
        )
        self.notifier.submit(
            Alert(
                "help_escalation",
                f"help_escalation:{session.id}",
                now,
                user_id=session.user_id,
                session_id=session.id,
                affected=1,
                details={"Waiting since": messages.rfc3339(session.help_time)},
                summary=self._summary(session),
            )
        )

    def _summary(self, session: Session) -> str:
        """The copilot's handoff summary, when it wrote one (an escalation repeats it; it never waits for one)."""
        if not session.handoff_summary:
            return ""
        return self.notifier.store.handoff_summary(session)
