"""Sending e-mail: one small interface, and the outbox that stands in when no SMTP server is configured.

``smtp_mail.py`` is the real adapter (smtplib, STARTTLS negotiated). The outbox writes each message as one JSON log
line and keeps the last few in memory, so ``make run`` on a bare machine shows what would have been sent.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass

log = logging.getLogger("chatbox.outbox")


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str = ""


class Mailer:
    """Interface: ``send`` delivers one message or raises (any exception means "not delivered")."""

    transport = "mailer"

    def send(self, message: EmailMessage) -> None:
        raise NotImplementedError


class OutboxMail(Mailer):
    """Keeps messages instead of sending them: logged as JSON and held in ``sent`` (newest last)."""

    transport = "outbox"

    def __init__(self, keep: int = 100):
        self.sent: deque[EmailMessage] = deque(maxlen=keep)

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)
        log.info(
            "outbox email %s",
            json.dumps(
                {"channel": "email", "to": message.to, "subject": message.subject, "text": message.text},
                ensure_ascii=False,
            ),
        )
