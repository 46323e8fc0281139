"""The README's first command: `make run` runs `python -m chatbox`, which prints links that must work as printed.

The process is started exactly as `make run` starts it (the venv's python, from the repository root, no settings),
on a free port; the test reads the printed user, admin and WebSocket links and follows each.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import websocket
from conftest import free_port

from ops.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_calls_python_m_chatbox():
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.stdout.splitlines()[-1] == ".venv/bin/python -m chatbox"


@pytest.fixture
def make_run(tmp_path):
    """``python -m chatbox`` with a bare environment (only SERVER_PORT set); yields (base URL, printed links)."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CHATBOX_", "LLM_", "MONGO", "REDIS", "JWT", "ENCRYPTION", "S3_", "SMTP", "PROMETHEUS"))
    }
    env.update(SERVER_PORT=str(port), PYTHONUNBUFFERED="1", UPLOAD_DIR=str(tmp_path / "uploads"))
    log = open(tmp_path / "run.log", "w+")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatbox"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip

    def links():
        if proc.poll() is not None:
            raise AssertionError(f"python -m chatbox exited with {proc.returncode}:\n{output()}")
        found = re.findall(r"^  ((?:http|ws)://\S+)$", output(), re.MULTILINE)
        return found if len(found) == 3 else None

    def output():
        log.flush()
        return (tmp_path / "run.log").read_text()

    try:
        printed = wait_for(links, 30, "the printed links")
        base = f"http://localhost:{port}/chat"
        wait_for(lambda: _answers(base + "/healthz"), 60, "the server to answer")
        yield base, printed, output
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:  # refused, or accepted by the master while the worker still boots
        return False


def test_the_printed_links_work(make_run):
    base, (user_link, admin_link, ws_link), output = make_run
    assert user_link.startswith(base + "/?token=") and admin_link.startswith(base + "/dashboard/?token=")
    assert ws_link.startswith(base.replace("http", "ws", 1) + "/ws?token=")
    assert "in-memory" in output() and "demo model" in output()  # it says which embedded defaults it uses

    page = requests.get(user_link, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    # The admin link signs in (a Secure cookie, which browsers keep for http://localhost) and redirects; requests
    # keeps Secure cookies off plain http, so the cookie is carried by hand as the browser would.
    signed_in = requests.get(admin_link, timeout=10, allow_redirects=False)
    assert signed_in.status_code in (302, 303) and signed_in.cookies
    target = requests.compat.urljoin(admin_link, signed_in.headers["Location"])
    cookie = "; ".join(f"{c.name}={c.value}" for c in signed_in.cookies)
    dashboard = requests.get(target, headers={"Cookie": cookie}, timeout=10)
    assert dashboard.status_code == 200 and "text/html" in dashboard.headers["Content-Type"]
    assert target.startswith(base + "/dashboard/") and "Dev Admin" in dashboard.text

    ws = websocket.create_connection(ws_link, timeout=10)
    try:
        greeting = json.loads(ws.recv())
        assert greeting["type"] == "connection_status"
        ws.send(json.dumps({"type": "user_message", "content": "Hello."}))
        reply, deadline = "", time.monotonic() + 30
        while time.monotonic() < deadline:
            frame = json.loads(ws.recv())
            if frame["type"] == "ai_response" and frame.get("sender") == "ai":
                reply += frame.get("content", "") if frame["metadata"].get("done") != "true" else ""
                if frame["metadata"].get("done") == "true":
                    break
        assert frame["metadata"].get("done") == "true" and "demo" in reply.lower()
    finally:
        ws.close()
