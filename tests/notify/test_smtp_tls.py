"""SMTP TLS negotiation against real aiosmtpd servers: with and without STARTTLS, with and without AUTH.

An in-cluster relay on port 25 often offers no STARTTLS: alerts must still go out there, while a password must
never cross in clear.
"""

from __future__ import annotations

import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from conftest import free_port

from chatbox.settings import Settings, SettingsError

from .conftest import Mail, eventually, notifier_of, rows, settle

ADMINS = ["ops@example.com"]


class Relay:
    """An aiosmtpd server; records each mail with whether it came over TLS, and each AUTH with its TLS state."""

    def __init__(self):
        self.mails, self.logins = [], []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((Mail(envelope), session.ssl is not None))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), session.ssl is not None))
        return AuthResult(success=auth_data.password == b"s3cret-pass")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (the client trusts it through SSL_CERT_FILE)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def relay(certificate, monkeypatch):
    """``relay(starttls=, auth_in_clear=)`` starts a server on a free port."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    controllers = []

    def factory(starttls: bool, auth_in_clear: bool = False) -> Relay:
        sink = Relay()
        sink.port = free_port()
        options = {"authenticator": sink.authenticate, "auth_require_tls": not auth_in_clear}
        if starttls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            options["tls_context"] = context
        controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **options)
        controller.start()
        controllers.append(controller)
        return sink

    yield factory
    for controller in controllers:
        controller.stop()


def alert(make_server, relay_port: int, **smtp):
    server = make_server(smtp_host="127.0.0.1", smtp_port=relay_port, admin_emails=ADMINS, **smtp)
    notifier_of(server).backoff = 0.05
    server.services.alert("database_unavailable", reason="readiness ping failed")
    eventually(lambda: rows(event="database_unavailable", channel="email", status__in=["sent", "failed"]))
    settle(server)
    (row,) = rows(event="database_unavailable", channel="email")
    return row


def test_a_relay_without_starttls_gets_the_alert_by_default(make_server, relay):
    plain = relay(starttls=False)
    row = alert(make_server, plain.port)
    assert row.status == "sent"
    [(mail, over_tls)] = plain.mails
    assert mail.subject == "CRITICAL: Database unavailable" and over_tls is False


def test_starttls_is_used_when_the_server_offers_it(make_server, relay):
    secure = relay(starttls=True)
    assert alert(make_server, secure.port).status == "sent"
    [(_, over_tls)] = secure.mails
    assert over_tls is True


def test_a_password_goes_only_over_tls(make_server, relay):
    secure = relay(starttls=True)
    row = alert(make_server, secure.port, smtp_user="mailer", smtp_password="s3cret-pass")
    assert row.status == "sent"
    assert secure.logins == [("mailer", True)] and secure.mails[0][1] is True


def test_a_password_is_never_sent_to_a_server_without_starttls(make_server, relay):
    clear = relay(starttls=False, auth_in_clear=True)  # it would accept the password in clear
    row = alert(make_server, clear.port, smtp_user="mailer", smtp_password="s3cret-pass")
    assert (row.status, row.attempts) == ("failed", 3)
    assert "offers no STARTTLS and SMTP_USER is set" in row.error
    assert clear.logins == [] and clear.mails == []


def test_smtp_tls_true_requires_starttls(make_server, relay):
    plain = relay(starttls=False)
    row = alert(make_server, plain.port, smtp_tls=True)
    assert row.status == "failed" and "offers no STARTTLS and SMTP_TLS=true" in row.error
    assert plain.mails == []


def test_smtp_tls_false_never_upgrades(make_server, relay):
    secure = relay(starttls=True)
    assert alert(make_server, secure.port, smtp_tls=False).status == "sent"
    assert secure.mails[0][1] is False


SETTINGS = [  # (environment, error or None)
    ({"SMTP_TLS": "false", "SMTP_USER": "u", "SMTP_HOST": "smtp.example.com"}, "would send SMTP_PASSWORD in clear"),
    ({"SMTP_TLS": "false", "SMTP_USER": "u", "SMTP_HOST": "smtp.example.com", "SMTP_SSL": "true"}, None),
    ({"SMTP_TLS": "false", "SMTP_USER": "u", "SMTP_HOST": "localhost"}, None),
    ({"SMTP_TLS": "false", "SMTP_HOST": "relay.mail.svc"}, None),
    ({"SMTP_USER": "u", "SMTP_HOST": "smtp.example.com"}, None),
    ({"SMTP_TLS": "perhaps"}, "SMTP_TLS = 'perhaps' is not valid"),
]


@pytest.mark.parametrize("environ,error", SETTINGS)
def test_settings_refuse_a_clear_password(environ, error):
    base = {"CHATBOX_ENV": "development", "JWT_SECRET": "x" * 40}
    if error is None:
        Settings.load({**base, **environ})
    else:
        with pytest.raises(SettingsError, match=error):
            Settings.load({**base, **environ})


@pytest.mark.parametrize("value,expected", [("", "auto"), ("auto", "auto"), ("true", True), ("0", False)])
def test_smtp_tls_reads_auto_true_or_false(value, expected):
    settings = Settings.load({"CHATBOX_ENV": "development", "JWT_SECRET": "x" * 40, "SMTP_TLS": value})
    assert settings.smtp_tls == expected
