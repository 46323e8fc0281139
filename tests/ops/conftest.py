"""Fixtures for the operations tests: a real redis-server and real gunicorn processes started like the image.

``GUNICORN_COMMAND`` is the Dockerfile's CMD (a test checks they are the same); the gunicorn fixture runs it from the
repository root with the environment a test gives, waits for /chat/healthz and always stops the process tree.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import SECRET, free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_COMMAND = ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]


def http_get(url: str, timeout: float = 5.0, headers: dict | None = None) -> tuple[int, bytes, dict]:
    """GET with urllib: (status, body, headers), also for 4xx/5xx answers."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A private redis-server on a free port for this module."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: run scripts/install-system.sh (make test does)"
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    wait_for(lambda: _pings(client), 20, "redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


class Gunicorn:
    """A running ``gunicorn -c gunicorn.conf.py wsgi:app`` whose stderr goes to a file."""

    def __init__(self, env: dict, log_path: Path):
        self.port = int(env["SERVER_PORT"])
        self.url = f"http://127.0.0.1:{self.port}/chat"
        self.ws_url = f"ws://127.0.0.1:{self.port}/chat/ws"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (held open for the subprocess's lifetime)
        executable = str(Path(sys.executable).with_name(GUNICORN_COMMAND[0]))
        self.proc = subprocess.Popen(
            [executable, *GUNICORN_COMMAND[1:]],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.proc.returncode}:\n{self.output()}")
            try:
                return http_get(self.url + "/healthz", timeout=2)[0] == 200
            except OSError:
                return False

        wait_for(healthy, timeout, "gunicorn /chat/healthz")

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[str]:
        return [line for line in self.output().splitlines() if line.strip()]

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_lines()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)  # SIGINT: quick exit (SIGTERM drains)
                self.proc.wait(15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()


def gunicorn_env(**overrides) -> dict:
    """The environment of a development-mode service on a free port, without MongoDB (in-memory per worker)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CHATBOX_", "LLM_PROVIDER_", "MONGO", "REDIS", "PROMETHEUS", "WEB_CONCURRENCY"))
    }
    env.update(
        CHATBOX_ENV="development",
        JWT_SECRET=SECRET,
        SERVER_PORT=str(free_port()),
        LOG_LEVEL="info",
        PYTHONUNBUFFERED="1",
        WEB_CONCURRENCY="1",
        DEMO_CHUNK_DELAY="0",
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


@pytest.fixture
def start_gunicorn(tmp_path):
    """Factory: ``start_gunicorn(**env)`` runs the image's command and waits until it is healthy."""
    started = []

    def factory(**overrides) -> Gunicorn:
        server = Gunicorn(gunicorn_env(**overrides), tmp_path / f"gunicorn-{len(started)}.log")
        started.append(server)
        server.wait_healthy()
        return server

    yield factory
    for server in started:
        server.stop()
