"""Admin fixtures: an HTTP helper that speaks Bearer or the dashboard cookie (+ CSRF), and sessions with known data."""

import re
from datetime import datetime, timedelta

import pytest
import requests
from conftest import admin_token, token

from chatbox.auth import DASHBOARD_COOKIE
from chatbox.models import Message, Notification, Session

USER = token("alice")
ADMIN = admin_token("root", "Ada Admin")
OTHER_ADMIN = admin_token("second", "Bob Admin")


class Http:
    """Calls one server: ``get``/``post`` with ``bearer=``, or ``cookie=`` (a signed-in dashboard) and ``csrf=``."""

    def __init__(self, server):
        self.server = server

    def call(self, method, path, bearer=None, cookie=None, csrf=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        if cookie:
            # requests keeps Secure cookies off plain http, so the cookie travels by hand as a browser would.
            headers["Cookie"] = f"{DASHBOARD_COOKIE}={cookie}"
        if csrf:
            headers["X-CSRF-Token"] = csrf
        return requests.request(
            method, self.server.url + path, headers=headers, timeout=10, allow_redirects=False, **kwargs
        )

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)

    def csrf(self, cookie):
        page = self.get("/dashboard/", cookie=cookie)
        return re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', page.text).group(1)


@pytest.fixture
def http(server):
    return Http(server)


T0 = datetime(2026, 11, 20, 12, 0, 0)


def make_session(sid, user="alice", start=T0, end=None, messages=0, **fields):
    """A session document written directly, with ``messages`` user messages one minute apart."""
    msgs = [
        Message(content=f"m{i}", ts=start + timedelta(minutes=i), sender="user", seq=i + 1) for i in range(messages)
    ]
    session = Session(
        id=sid,
        user_id=user,
        start=start,
        end=end,
        messages=msgs,
        last_seq=messages,
        last_activity=msgs[-1].ts if msgs else start,
        duration=int((end - start).total_seconds()) if end else 0,
        **fields,
    )
    session.save(force_insert=True)
    return session


@pytest.fixture(autouse=True)
def clean_notifications():
    yield
    Notification.objects.delete()
