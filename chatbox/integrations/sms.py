"""Sending SMS: one small interface, and the outbox that stands in when Twilio is not configured.

``twilio_sms.py`` is the real adapter. The outbox writes each message as one JSON log line and keeps the last few.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass

log = logging.getLogger("chatbox.outbox")


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str


class SmsSender:
    """Interface: ``send`` delivers one SMS or raises (any exception means "not delivered")."""

    transport = "sms"

    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError


class OutboxSms(SmsSender):
    """Keeps messages instead of sending them: logged as JSON and held in ``sent`` (newest last)."""

    transport = "outbox"

    def __init__(self, keep: int = 100):
        self.sent: deque[SmsMessage] = deque(maxlen=keep)

    def send(self, message: SmsMessage) -> None:
        self.sent.append(message)
        log.info(
            "outbox sms %s", json.dumps({"channel": "sms", "to": message.to, "body": message.body}, ensure_ascii=False)
        )
