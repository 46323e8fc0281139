"""Fixtures: a real gevent server per app on a free port, signed tokens, WebSocket clients.

The test process is gevent-patched (as gunicorn's worker is), so the app, its background greenlets and the
websocket-client sockets all run cooperatively in one process, sharing one mongomock database.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402

import gevent  # noqa: E402
import pytest  # noqa: E402
import websocket  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from chatbox import create_app, storage  # noqa: E402
from chatbox.auth import sign_token  # noqa: E402
from chatbox.models import AuditEntry, Session  # noqa: E402
from chatbox.settings import Settings  # noqa: E402

SECRET = "Q7vN2xLp9RzT4mWc8YhB3kDf6GsJ1aEu5PoXiVnC0bMqHr7Wt2Ky9Zs4Lf6Gd8Jx"  # strong enough for production mode


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def token(user_id="alice", roles=(), name="", secret=SECRET, expires=timedelta(hours=1)) -> str:
    return sign_token(secret, user_id, roles, name, expires)


def admin_token(user_id="root", name="Ada Admin") -> str:
    return token(user_id, roles=("admin",), name=name)


class Server:
    """A running app: ``url``, ``ws_url``, ``app``, ``services``."""

    def __init__(self, app):
        self.app = app
        self.services = app.extensions["chatbox"]
        self.port = free_port()
        self.prefix = self.services.settings.prefix
        self.url = f"http://127.0.0.1:{self.port}{self.prefix}"
        self.ws_url = f"ws://127.0.0.1:{self.port}{self.prefix}/ws"
        self._server = WSGIServer(("127.0.0.1", self.port), app, log=None, error_log=None)
        self._server.start()

    def stop(self):
        for conn in list(self.services.hub.connections):
            conn.close(1001, "test server stopping")
        self._server.stop(timeout=2)
        self.services.close()


class Client:
    """A WebSocket client that reads frames as dicts."""

    def __init__(self, url, origin=None, **headers):
        options = {"origin": origin} if origin else {}
        self.ws = websocket.create_connection(
            url, timeout=10, header=[f"{k}: {v}" for k, v in headers.items()], **options
        )

    def send(self, **frame):
        self.ws.send(json.dumps(frame))

    def recv(self, timeout=10) -> dict:
        self.ws.settimeout(timeout)
        return json.loads(self.ws.recv())

    def recv_until(self, predicate, timeout=10) -> list[dict]:
        """Frames up to and including the first that matches."""
        frames, deadline = [], time.monotonic() + timeout
        while True:
            frame = self.recv(max(deadline - time.monotonic(), 0.01))
            frames.append(frame)
            if predicate(frame):
                return frames

    def reply(self, timeout=10) -> list[dict]:
        """Frames up to the end of the next AI reply (the done frame)."""
        return self.recv_until(
            lambda f: (
                f["type"] == "ai_response" and f.get("metadata", {}).get("done") == "true" and f.get("sender") == "ai"
            ),
            timeout,
        )

    def quiet(self, seconds=0.3) -> list[dict]:
        """Whatever arrives within ``seconds`` (expect nothing)."""
        frames = []
        try:
            while True:
                frames.append(self.recv(seconds))
        except websocket.WebSocketTimeoutException:
            return frames

    def close(self):
        self.ws.close()


def text_of(frames) -> str:
    return "".join(f.get("content", "") for f in frames if f["type"] == "ai_response")


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server (Debian's) on a free port for the whole run."""
    import shutil
    import subprocess

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run `make test` (scripts/install-system.sh installs it)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright's sync API, one for the whole run (Playwright allows one per process)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


# Storage tests run on mongomock, and unchanged against a real MongoDB when CHATBOX_TEST_MONGO_URI is set.
TEST_MONGO_URI = os.environ.get("CHATBOX_TEST_MONGO_URI", "")


@pytest.fixture(scope="session", autouse=True)
def database():
    storage.connect(Settings.for_tests(mongo_uri=TEST_MONGO_URI, mongo_database="chatbox_test"))


@pytest.fixture(autouse=True)
def clean_database(database):
    yield
    Session.objects.delete()
    AuditEntry.objects.delete()


@pytest.fixture
def make_server():
    """Factory: ``make_server(**setting_overrides)`` starts an app on a free port."""
    servers = []

    def factory(bus=None, **overrides):
        overrides.setdefault("jwt_secret", SECRET)
        overrides.setdefault("mongo_uri", TEST_MONGO_URI)
        overrides.setdefault("mongo_database", "chatbox_test")
        server = Server(create_app(Settings.for_tests(**overrides), bus=bus))
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def connect(server):
    """``connect(user_id, **query)`` opens a socket to the default server and reads the greeting."""
    clients = []

    def factory(user_id="alice", roles=(), name="", target=None, greet=True, **query):
        target = target or server
        query.setdefault("token", token(user_id, roles, name))
        url = target.ws_url + "?" + "&".join(f"{k}={v}" for k, v in query.items())
        client = Client(url)
        clients.append(client)
        if greet:
            client.greeting = client.recv()
        return client

    yield factory
    for client in clients:
        try:
            client.close()
        except Exception:
            pass
    gevent.sleep(0)
