"""A help request from a real WebSocket reaches a real SMTP server as the Go service's e-mail, once."""

import pytest

from .conftest import ask_for_help, eventually, rows, settle

ADMINS = ["ops@example.com", "oncall@example.com"]


def mail_server(make_server, smtp_server, **extra):
    return make_server(
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_tls=False,
        admin_emails=ADMINS,
        email_from="alerts@chatbox.test",
        **extra,
    )


def test_help_email_has_go_subject_fields_and_dashboard_link(make_server, connect, smtp_server):
    server = mail_server(make_server, smtp_server)
    _, sid, ack = ask_for_help(server, connect)

    assert ack["content"] == "Help request sent. An administrator will join your session shortly."
    assert ack["metadata"]["help_requested"] == "true"
    eventually(lambda: len(smtp_server.envelopes) == len(ADMINS))
    mails = smtp_server.mails
    assert sorted(r for m in mails for r in m.rcpt_tos) == sorted(ADMINS)
    mail = mails[0]
    assert mail.mail_from == "alerts@chatbox.test"
    assert mail.subject == "Help Request - User alice"
    link = f"http://localhost:8080/chat/dashboard/sessions/{sid}"
    assert "<h2>User Help Request</h2>" in mail.html
    assert "A user has requested assistance." in mail.html
    assert "<strong>User ID:</strong> alice" in mail.html
    assert f"<strong>Session ID:</strong> {sid}" in mail.html
    assert f'<a href="{link}">View Session</a>' in mail.html
    first_line = mail.text.splitlines()[0]
    assert first_line.startswith(f"Help Request - User: alice, Session: {sid}, Time: 20")
    assert first_line.endswith("Z")
    assert link in mail.text
    settle(server)
    logged = rows(event="help_request", channel="email")
    assert [(r.recipient, r.status, r.transport, r.attempts) for r in logged] == [
        (ADMINS[0], "sent", "smtp", 1),
        (ADMINS[1], "sent", "smtp", 1),
    ]
    assert logged[0].session_id == sid and logged[0].user_id == "alice"


def test_link_uses_admin_panel_url_when_set(make_server, connect, smtp_server):
    server = mail_server(make_server, smtp_server, admin_panel_url="https://admin.example.com/sessions/")
    _, sid, _ = ask_for_help(server, connect)
    eventually(lambda: smtp_server.envelopes)
    assert f'<a href="https://admin.example.com/sessions/{sid}">View Session</a>' in smtp_server.mails[0].html


@pytest.mark.parametrize("hostile", ['<script>alert("x")</script>', 'a"><img src=x onerror=alert(1)>'])
def test_hostile_user_id_arrives_escaped(make_server, connect, smtp_server, hostile):
    server = mail_server(make_server, smtp_server)
    ask_for_help(server, connect, user_id=hostile)
    eventually(lambda: smtp_server.envelopes)
    html = smtp_server.mails[0].html
    assert "<script>" not in html and "<img" not in html
    escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert f"<strong>User ID:</strong> {escaped}</li>" in html


def test_pressing_help_twice_sends_once(make_server, connect, smtp_server):
    server = mail_server(make_server, smtp_server)
    client, sid, _ = ask_for_help(server, connect)
    eventually(lambda: len(smtp_server.envelopes) == len(ADMINS))
    client.send(type="help_request", session_id=sid)
    again = client.recv_until(lambda f: f["type"] == "connection_status" and "Help request" in f.get("content", ""))
    assert again[-1]["metadata"]["help_requested"] == "true"
    # The chat still works, and whatever the second press could have queued has finished by now.
    client.send(type="user_message", content="Still there?")
    client.reply()
    settle(server)
    assert len(smtp_server.envelopes) == len(ADMINS)
    assert len(rows(event="help_request", channel="email")) == len(ADMINS)


def test_a_user_id_cannot_inject_mail_headers(make_server, connect, smtp_server):
    server = mail_server(make_server, smtp_server)
    ask_for_help(server, connect, user_id="eve\r\nBcc: victim@example.net")
    eventually(lambda: len(smtp_server.envelopes) == len(ADMINS))
    settle(server)
    mail = smtp_server.mails[0]
    assert mail.subject == "Help Request - User eve  Bcc: victim@example.net"
    assert mail.message["Bcc"] is None
    assert sorted(r for m in smtp_server.mails for r in m.rcpt_tos) == sorted(ADMINS)
