"""E-mail through an SMTP server with smtplib, negotiating TLS as the Go service's net/smtp did.

SMTP_TLS unset (auto): STARTTLS when the server offers it, plain otherwise, except that with SMTP_USER set STARTTLS
is required, so the password never crosses in clear. SMTP_TLS=true requires STARTTLS; SMTP_TLS=false never uses it
(settings refuse that with SMTP_USER unless the relay is on this host); SMTP_SSL=true is implicit TLS (port 465).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid

import gevent

from chatbox.integrations.mail import EmailMessage, Mailer


class SmtpTlsRefused(smtplib.SMTPException):
    """The server offers no STARTTLS where TLS is required; nothing (no password, no mail) was sent."""


class SmtpMail(Mailer):
    """Delivers each message over a fresh SMTP connection; raises on any failure (refused, TLS, auth, timeout)."""

    transport = "smtp"

    def __init__(self, settings, timeout: float = 30.0):
        self.settings, self.timeout = settings, timeout

    def send(self, message: EmailMessage) -> None:
        mime = self._mime(message)
        # A blackholed server must not hold a sender greenlet forever, whatever stage it stalls in.
        with (
            gevent.Timeout(self.timeout, TimeoutError(f"SMTP timed out after {self.timeout:g}s")),
            self._connect() as smtp,
        ):
            self._secure(smtp)
            if self.settings.smtp_user:
                smtp.login(self.settings.smtp_user, self.settings.smtp_password)
            smtp.send_message(mime)

    def _connect(self) -> smtplib.SMTP:
        host, port = self.settings.smtp_host, self.settings.smtp_port
        if self.settings.smtp_ssl:
            return smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=ssl.create_default_context())
        return smtplib.SMTP(host, port, timeout=self.timeout)

    def _secure(self, smtp: smtplib.SMTP) -> None:
        """Upgrade with STARTTLS when the mode and the server's offer say so; refuse when TLS is required."""
        if self.settings.smtp_ssl:
            return
        mode = self.settings.smtp_tls
        if mode is False:
            return
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        elif mode is True or self.settings.smtp_user:
            why = "SMTP_TLS=true" if mode is True else "SMTP_USER is set (the password must not cross in clear)"
            raise SmtpTlsRefused(f"SMTP server {self.settings.smtp_host} offers no STARTTLS and {why}")

    def _mime(self, message: EmailMessage) -> MimeMessage:
        mime = MimeMessage()
        mime["Subject"] = message.subject
        mime["From"] = self.settings.email_from
        mime["To"] = message.to
        mime["Date"] = formatdate(localtime=False)
        mime["Message-ID"] = make_msgid(domain=self.settings.email_from.rpartition("@")[2] or None)
        mime.set_content(message.text)
        if message.html:
            mime.add_alternative(message.html, subtype="html")
        return mime
