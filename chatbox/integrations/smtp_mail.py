"""E-mail through an SMTP server with flask-mail (SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD, TLS/SSL)."""

from __future__ import annotations

import gevent
from flask import Flask
from flask_mail import Mail, Message

from chatbox.integrations.mail import EmailMessage, Mailer


class SmtpMail(Mailer):
    """Delivers each message over a fresh SMTP connection; raises on any failure (refused, auth, timeout)."""

    transport = "smtp"

    def __init__(self, app: Flask, settings, timeout: float = 30.0):
        app.config.update(
            MAIL_SERVER=settings.smtp_host,
            MAIL_PORT=settings.smtp_port,
            MAIL_USERNAME=settings.smtp_user or None,
            MAIL_PASSWORD=settings.smtp_password or None,
            MAIL_USE_TLS=settings.smtp_tls and not settings.smtp_ssl,
            MAIL_USE_SSL=settings.smtp_ssl,
            MAIL_DEFAULT_SENDER=settings.email_from,
            # flask-mail suppresses sending when app.testing; alerts must go out whatever the app mode.
            MAIL_SUPPRESS_SEND=False,
        )
        self.app, self.timeout = app, timeout
        self.mail = Mail(app)

    def send(self, message: EmailMessage) -> None:
        mail = Message(
            subject=message.subject,
            recipients=[message.to],
            body=message.text,
            html=message.html or None,
            sender=self.app.config["MAIL_DEFAULT_SENDER"],
        )
        # smtplib has no timeout of its own here; a blackholed server must not hold a sender greenlet forever.
        with (
            self.app.app_context(),
            gevent.Timeout(self.timeout, TimeoutError(f"SMTP timed out after {self.timeout:g}s")),
        ):
            self.mail.send(mail)
