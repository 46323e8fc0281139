"""SMS through Twilio's REST API with the official client (SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM_NUMBER)."""

from __future__ import annotations

import logging

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from chatbox.integrations.sms import SmsMessage, SmsSender

# The client logs every request URL at INFO, and that URL carries the account SID, which we treat as a secret.
logging.getLogger("twilio").setLevel(logging.WARNING)


class TwilioSms(SmsSender):
    """Sends one SMS per call; raises TwilioException (or a network error) when Twilio does not accept it."""

    transport = "twilio"

    def __init__(self, settings, http_client=None, timeout: float = 30.0):
        self.from_number = settings.sms_from_number
        self._secrets = [s for s in (settings.sms_account_sid, settings.sms_auth_token) if s]
        self.client = Client(
            settings.sms_account_sid,
            settings.sms_auth_token,
            http_client=http_client or TwilioHttpClient(timeout=timeout),
        )

    def send(self, message: SmsMessage) -> None:
        self.client.messages.create(to=message.to, from_=self.from_number, body=message.body)

    def scrub(self, text: str) -> str:
        """Return ``text`` without the account SID or token (Twilio errors quote the request URL)."""
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return text
